"""placement outcomes at exit, +6 and +12 months; the record of contracts announced behind schedule

Revision ID: 0036
Revises: 0034
Create Date: 2026-12-07 04:10:00+00:00

Product.md §8.5 and §8.6 (decisions 0080, 0081): one outcome per placement and checkpoint
(``exit``, ``6m``, ``12m``) in the IAE categories; one row per contract and quarter announced
behind schedule, so that its event and alert go out once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "placement_outcome",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("placement_id", sa.Uuid(), nullable=False),
        sa.Column("checkpoint", sa.String(length=10), nullable=False),
        sa.Column("situation", sa.String(length=30), nullable=False),
        sa.Column("recorded_by_type", sa.String(length=20), nullable=False),
        sa.Column("recorded_by_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["placement.id"],
            name=op.f("fk_placement_outcome_placement_id_placement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement_outcome")),
        sa.UniqueConstraint(
            "placement_id", "checkpoint", name=op.f("uq_placement_outcome_placement_id_checkpoint")
        ),
    )
    op.create_table(
        "behind_schedule_notice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("counted_hours", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("expected_hours", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contract.id"],
            name=op.f("fk_behind_schedule_notice_contract_id_contract"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_behind_schedule_notice")),
        sa.UniqueConstraint(
            "contract_id",
            "period_start",
            name=op.f("uq_behind_schedule_notice_contract_id_period_start"),
        ),
    )


def downgrade() -> None:
    op.drop_table("behind_schedule_notice")
    op.drop_table("placement_outcome")
