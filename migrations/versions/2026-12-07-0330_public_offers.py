"""offers can be marked public: served to job boards and partners while open

Revision ID: 0028
Revises: 0024
Create Date: 2026-12-07 03:30:00+00:00

Who may edit an offer marks it public; open public offers are listed without authentication
(decision 0062). Existing offers stay private. The partial index serves the public feed, newest
first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "offer",
        sa.Column("is_public", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.create_index(
        "ix_offer_public_open",
        "offer",
        ["published_at", "id"],
        postgresql_where=sa.text("is_public AND status = 'open'"),
    )


def downgrade() -> None:
    op.drop_index("ix_offer_public_open", table_name="offer")
    op.drop_column("offer", "is_public")
