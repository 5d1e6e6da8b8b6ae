"""candidate word search (full text) and geocoding queue

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 22:15:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_candidate_search_name_prefix", table_name="candidate")
    op.add_column(
        "candidate",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('simple'::regconfig, coalesce(search_name, ''))", persisted=True
            ),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_candidate_search_vector", "candidate", ["search_vector"], postgresql_using="gin"
    )
    op.add_column(
        "candidate", sa.Column("geocoding_due_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "candidate",
        sa.Column("geocoding_attempts", sa.SmallInteger(), server_default="0", nullable=False),
    )
    op.alter_column("candidate", "geocoding_attempts", server_default=None)
    op.create_index(
        "ix_candidate_geocoding_due_at",
        "candidate",
        ["geocoding_due_at"],
        postgresql_where=sa.text("geocoding_due_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_candidate_geocoding_due_at", table_name="candidate")
    op.drop_column("candidate", "geocoding_attempts")
    op.drop_column("candidate", "geocoding_due_at")
    op.drop_index("ix_candidate_search_vector", table_name="candidate")
    op.drop_column("candidate", "search_vector")
    op.create_index(
        "ix_candidate_search_name_prefix",
        "candidate",
        ["search_name"],
        postgresql_ops={"search_name": "text_pattern_ops"},
    )
