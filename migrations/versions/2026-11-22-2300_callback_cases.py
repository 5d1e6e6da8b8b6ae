"""callback cases, their attempts, and per-organisation alert settings

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 23:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callback_settings",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("reminder_day", sa.SmallInteger(), nullable=True),
        sa.Column("urgent_day", sa.SmallInteger(), nullable=True),
        sa.Column("follow_up_working_days", sa.SmallInteger(), nullable=True),
        sa.Column("office_start_hour", sa.SmallInteger(), nullable=True),
        sa.Column("office_end_hour", sa.SmallInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "office_start_hour IS NULL OR office_end_hour IS NULL "
            "OR office_start_hour < office_end_hour",
            name=op.f("ck_callback_settings_office_hours_order"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_callback_settings_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_callback_settings")),
    )
    op.create_table(
        "callback_case",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("intake_id", sa.Uuid(), nullable=False),
        sa.Column("received_by_organisation_id", sa.Uuid(), nullable=False),
        sa.Column("place_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("deposit_date", sa.Date(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("prescriber_id", sa.Uuid(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assignment_number", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempt_count", sa.SmallInteger(), nullable=False),
        sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_result", sa.String(length=20), nullable=True),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_count", sa.SmallInteger(), nullable=False),
        sa.Column("last_returned_on", sa.Date(), nullable=True),
        sa.Column("next_alert_kind", sa.String(length=20), nullable=True),
        sa.Column("next_alert_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alerts_raised", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.CheckConstraint(
            "(status = 'open') = (closed_at IS NULL)",
            name=op.f("ck_callback_case_closed_at_when_closed"),
        ),
        sa.CheckConstraint(
            "attempt_count >= 0 AND attempt_count <= 3",
            name=op.f("ck_callback_case_attempt_count_range"),
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidate.id"],
            name=op.f("fk_callback_case_candidate_id_candidate"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["intake_id"],
            ["intake.id"],
            name=op.f("fk_callback_case_intake_id_intake"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_callback_case_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["place_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_callback_case_place_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prescriber_id"],
            ["user_account.id"],
            name=op.f("fk_callback_case_prescriber_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["received_by_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_callback_case_received_by_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_case")),
        sa.UniqueConstraint("intake_id", name=op.f("uq_callback_case_intake_id")),
    )
    op.create_index(
        op.f("ix_callback_case_candidate_id"), "callback_case", ["candidate_id"], unique=False
    )
    op.create_index(
        op.f("ix_callback_case_deposit_date"), "callback_case", ["deposit_date"], unique=False
    )
    op.create_index(
        "ix_callback_case_inbox",
        "callback_case",
        ["organisation_id", "status", "due_at"],
        unique=False,
    )
    op.create_index(
        "ix_callback_case_next_alert_at",
        "callback_case",
        ["next_alert_at"],
        unique=False,
        postgresql_where=sa.text("next_alert_at IS NOT NULL"),
    )
    op.create_index(
        op.f("ix_callback_case_place_organisation_id"),
        "callback_case",
        ["place_organisation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_callback_case_prescriber_id"), "callback_case", ["prescriber_id"], unique=False
    )
    op.create_index(
        op.f("ix_callback_case_received_by_organisation_id"),
        "callback_case",
        ["received_by_organisation_id"],
        unique=False,
    )
    op.create_index(
        "uq_callback_case_open_candidate",
        "callback_case",
        ["candidate_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "callback_attempt",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.SmallInteger(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("comment", sa.String(length=1000), nullable=True),
        sa.CheckConstraint(
            "number >= 1 AND number <= 3", name=op.f("ck_callback_attempt_number_range")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["callback_case.id"],
            name=op.f("fk_callback_attempt_case_id_callback_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_attempt")),
        sa.UniqueConstraint("case_id", "number", name=op.f("uq_callback_attempt_case_id_number")),
    )


def downgrade() -> None:
    op.drop_table("callback_attempt")
    op.drop_index(
        "uq_callback_case_open_candidate",
        table_name="callback_case",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_index(op.f("ix_callback_case_received_by_organisation_id"), table_name="callback_case")
    op.drop_index(op.f("ix_callback_case_prescriber_id"), table_name="callback_case")
    op.drop_index(op.f("ix_callback_case_place_organisation_id"), table_name="callback_case")
    op.drop_index(
        "ix_callback_case_next_alert_at",
        table_name="callback_case",
        postgresql_where=sa.text("next_alert_at IS NOT NULL"),
    )
    op.drop_index("ix_callback_case_inbox", table_name="callback_case")
    op.drop_index(op.f("ix_callback_case_deposit_date"), table_name="callback_case")
    op.drop_index(op.f("ix_callback_case_candidate_id"), table_name="callback_case")
    op.drop_table("callback_case")
    op.drop_table("callback_settings")
