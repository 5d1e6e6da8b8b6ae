"""retention: per-organisation months, warning date, activity index

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 23:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("organisation", sa.Column("retention_months", sa.SmallInteger(), nullable=True))
    op.create_check_constraint(
        op.f("ck_organisation_retention_months_range"),
        "organisation",
        "retention_months IS NULL OR retention_months BETWEEN 1 AND 36",
    )
    op.add_column(
        "candidate",
        sa.Column("retention_warned_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        op.f("ix_candidate_last_activity_at"), "candidate", ["last_activity_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_candidate_last_activity_at"), table_name="candidate")
    op.drop_column("candidate", "retention_warned_at")
    op.drop_constraint(
        op.f("ck_organisation_retention_months_range"), "organisation", type_="check"
    )
    op.drop_column("organisation", "retention_months")
