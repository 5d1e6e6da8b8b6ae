"""routing rules of callback cases: which organisation calls back the people of a borne site

Revision ID: 0023
Revises: 0019
Create Date: 2026-12-07 03:15:00+00:00

See docs/decisions/0048-callback-routing.md.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callback_routing_rule",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("place_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("target_organisation_id", sa.Uuid(), nullable=False),
        sa.Column("round_robin", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("last_prescriber_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_callback_routing_rule_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["place_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_callback_routing_rule_place_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_callback_routing_rule_target_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["last_prescriber_id"],
            ["user_account.id"],
            name=op.f("fk_callback_routing_rule_last_prescriber_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_routing_rule")),
    )
    op.create_index(
        "uq_callback_routing_rule_site",
        "callback_routing_rule",
        ["organisation_id", "place_organisation_id"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_index(
        op.f("ix_callback_routing_rule_target_organisation_id"),
        "callback_routing_rule",
        ["target_organisation_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("callback_routing_rule")
