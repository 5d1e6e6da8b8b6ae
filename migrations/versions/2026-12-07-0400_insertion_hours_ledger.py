"""the insertion-hours ledger: obligations, declarations, attributions, placements, statements

Revision ID: 0034
Revises: 0026
Create Date: 2026-12-07 04:00:00+00:00

Product.md §8.1–8.4 (decision 0075): an obligation per lot (or per contract without lots) with
its method's parameters and the hours owed derived from them; what is declared per period on the
operation; companies on lots (attributions); participants' placements with what they count for
frozen at their start; one statement line per placement and month. Organisations get the kind and
size of a company. No function nor trigger: the rules are computed in Python and SQL queries.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attribution",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.Uuid(), nullable=True),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("allocated_share_percent", sa.Numeric(precision=7, scale=4), nullable=True),
        sa.Column("parent_attribution_id", sa.Uuid(), nullable=True),
        sa.Column("referent_user_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "allocated_share_percent IS NULL OR "
            "(allocated_share_percent >= 0 AND allocated_share_percent <= 100)",
            name=op.f("ck_attribution_share_range"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contract.id"],
            name=op.f("fk_attribution_contract_id_contract"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["contract_lot.id"],
            name=op.f("fk_attribution_lot_id_contract_lot"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_attribution_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["parent_attribution_id"],
            ["attribution.id"],
            name=op.f("fk_attribution_parent_attribution_id_attribution"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["referent_user_id"],
            ["user_account.id"],
            name=op.f("fk_attribution_referent_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attribution")),
    )
    op.create_index(
        op.f("ix_attribution_contract_id"), "attribution", ["contract_id"], unique=False
    )
    op.create_index(op.f("ix_attribution_lot_id"), "attribution", ["lot_id"], unique=False)
    op.create_index(
        op.f("ix_attribution_organisation_id"), "attribution", ["organisation_id"], unique=False
    )
    op.create_index(
        op.f("ix_attribution_parent_attribution_id"),
        "attribution",
        ["parent_attribution_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_attribution_referent_user_id"), "attribution", ["referent_user_id"], unique=False
    )
    op.create_index(
        "uq_attribution_contract_organisation_without_lot",
        "attribution",
        ["contract_id", "organisation_id"],
        unique=True,
        postgresql_where=sa.text("lot_id IS NULL"),
    )
    op.create_index(
        "uq_attribution_lot_organisation",
        "attribution",
        ["lot_id", "organisation_id"],
        unique=True,
        postgresql_where=sa.text("lot_id IS NOT NULL"),
    )
    op.create_table(
        "obligation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.Uuid(), nullable=True),
        sa.Column("method", sa.String(length=30), nullable=False),
        sa.Column("fixed_hours", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("labour_share_percent", sa.Numeric(precision=7, scale=4), nullable=True),
        sa.Column("insertion_rate_percent", sa.Numeric(precision=7, scale=4), nullable=True),
        sa.Column("hourly_cost", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("tranche_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("tranche_threshold", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("hours_share_percent", sa.Numeric(precision=7, scale=4), nullable=True),
        sa.Column("hours_per_year", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("hours_owed", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("eligible_publics", postgresql.ARRAY(sa.String(length=30)), nullable=False),
        sa.Column("allowed_modalities", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("training_counts", sa.Boolean(), nullable=False),
        sa.Column("cdi_cap_years", sa.SmallInteger(), nullable=True),
        sa.Column("penalty_per_missing_hour", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("anru_family", sa.String(length=20), nullable=False),
        sa.Column("budget_plan_line", sa.String(length=100), nullable=True),
        sa.Column("statement_schedule", sa.String(length=20), nullable=False),
        sa.Column("statement_due_day", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint(
            "cdi_cap_years IS NULL OR cdi_cap_years BETWEEN 1 AND 50",
            name=op.f("ck_obligation_cdi_cap_range"),
        ),
        sa.CheckConstraint("hours_owed >= 0", name=op.f("ck_obligation_hours_owed_not_negative")),
        sa.CheckConstraint(
            "statement_due_day BETWEEN 1 AND 28", name=op.f("ck_obligation_due_day_range")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contract.id"],
            name=op.f("fk_obligation_contract_id_contract"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["contract_lot.id"],
            name=op.f("fk_obligation_lot_id_contract_lot"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligation")),
    )
    op.create_index(op.f("ix_obligation_contract_id"), "obligation", ["contract_id"], unique=False)
    op.create_index(
        "uq_obligation_contract_without_lot",
        "obligation",
        ["contract_id"],
        unique=True,
        postgresql_where=sa.text("lot_id IS NULL"),
    )
    op.create_index(
        "uq_obligation_lot_id",
        "obligation",
        ["lot_id"],
        unique=True,
        postgresql_where=sa.text("lot_id IS NOT NULL"),
    )
    op.create_table(
        "obligation_declaration",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("obligation_id", sa.Uuid(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("hours_worked", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("amount_invoiced", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("declared_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "amount_invoiced IS NULL OR amount_invoiced >= 0",
            name=op.f("ck_obligation_declaration_amount_not_negative"),
        ),
        sa.CheckConstraint(
            "hours_worked IS NULL OR hours_worked >= 0",
            name=op.f("ck_obligation_declaration_hours_not_negative"),
        ),
        sa.CheckConstraint(
            "period_end >= period_start", name=op.f("ck_obligation_declaration_dates_in_order")
        ),
        sa.ForeignKeyConstraint(
            ["declared_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_obligation_declaration_declared_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["obligation_id"],
            ["obligation.id"],
            name=op.f("fk_obligation_declaration_obligation_id_obligation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligation_declaration")),
    )
    op.create_index(
        "uq_obligation_declaration_period",
        "obligation_declaration",
        ["obligation_id", "period_start"],
        unique=True,
    )
    op.create_table(
        "placement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("attribution_id", sa.Uuid(), nullable=False),
        sa.Column("employer_id", sa.Uuid(), nullable=False),
        sa.Column("match_id", sa.Uuid(), nullable=True),
        sa.Column("modality", sa.String(length=20), nullable=False),
        sa.Column("contract_type", sa.String(length=30), nullable=True),
        sa.Column("rome_code", sa.String(length=5), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("weekly_hours", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("eligibility_criteria", postgresql.ARRAY(sa.String(length=30)), nullable=False),
        sa.Column("qpv_resident", sa.Boolean(), nullable=True),
        sa.Column("age_bracket", sa.String(length=10), nullable=True),
        sa.Column("sex", sa.String(length=10), nullable=True),
        sa.Column("qualification_level", sa.String(length=20), nullable=True),
        sa.Column("eligibility_flagged", sa.Boolean(), nullable=False),
        sa.Column("exception_reason", sa.String(length=1000), nullable=True),
        sa.Column("exception_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("exception_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status = 'draft' OR frozen_at IS NOT NULL", name=op.f("ck_placement_active_is_frozen")
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date", name=op.f("ck_placement_dates_in_order")
        ),
        sa.CheckConstraint(
            "weekly_hours IS NULL OR (weekly_hours > 0 AND weekly_hours <= 48)",
            name=op.f("ck_placement_weekly_hours_range"),
        ),
        sa.ForeignKeyConstraint(
            ["attribution_id"],
            ["attribution.id"],
            name=op.f("fk_placement_attribution_id_attribution"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidate.id"],
            name=op.f("fk_placement_candidate_id_candidate"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["organisation.id"],
            name=op.f("fk_placement_employer_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["exception_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_placement_exception_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["match_id"],
            ["match.id"],
            name=op.f("fk_placement_match_id_match"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement")),
        sa.UniqueConstraint("match_id", name=op.f("uq_placement_match_id")),
    )
    op.create_index(
        op.f("ix_placement_attribution_id"), "placement", ["attribution_id"], unique=False
    )
    op.create_index(op.f("ix_placement_candidate_id"), "placement", ["candidate_id"], unique=False)
    op.create_index(op.f("ix_placement_employer_id"), "placement", ["employer_id"], unique=False)
    op.create_table(
        "statement_line",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("placement_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("hours_worked", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("training_hours", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rejection_reason", sa.String(length=1000), nullable=True),
        sa.Column("declared_by_type", sa.String(length=20), nullable=False),
        sa.Column("declared_by_id", sa.Uuid(), nullable=True),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status <> 'rejected' OR rejection_reason IS NOT NULL",
            name=op.f("ck_statement_line_rejection_has_reason"),
        ),
        sa.CheckConstraint(
            "extract(day FROM month) = 1", name=op.f("ck_statement_line_month_first_day")
        ),
        sa.CheckConstraint(
            "hours_worked >= 0 AND hours_worked <= 220", name=op.f("ck_statement_line_hours_range")
        ),
        sa.CheckConstraint(
            "training_hours >= 0 AND training_hours <= hours_worked",
            name=op.f("ck_statement_line_training_range"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_statement_line_decided_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["placement.id"],
            name=op.f("fk_statement_line_placement_id_placement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_line")),
        sa.UniqueConstraint(
            "placement_id", "month", name=op.f("uq_statement_line_placement_id_month")
        ),
    )
    op.create_index(
        "ix_statement_line_month_status", "statement_line", ["month", "status"], unique=False
    )
    op.add_column("organisation", sa.Column("company_kind", sa.String(length=20), nullable=True))
    op.add_column("organisation", sa.Column("size_bracket", sa.String(length=10), nullable=True))


def downgrade() -> None:
    op.drop_column("organisation", "size_bracket")
    op.drop_column("organisation", "company_kind")
    op.drop_index("ix_statement_line_month_status", table_name="statement_line")
    op.drop_table("statement_line")
    op.drop_index(op.f("ix_placement_employer_id"), table_name="placement")
    op.drop_index(op.f("ix_placement_candidate_id"), table_name="placement")
    op.drop_index(op.f("ix_placement_attribution_id"), table_name="placement")
    op.drop_table("placement")
    op.drop_index("uq_obligation_declaration_period", table_name="obligation_declaration")
    op.drop_table("obligation_declaration")
    op.drop_index(
        "uq_obligation_lot_id",
        table_name="obligation",
        postgresql_where=sa.text("lot_id IS NOT NULL"),
    )
    op.drop_index(
        "uq_obligation_contract_without_lot",
        table_name="obligation",
        postgresql_where=sa.text("lot_id IS NULL"),
    )
    op.drop_index(op.f("ix_obligation_contract_id"), table_name="obligation")
    op.drop_table("obligation")
    op.drop_index(
        "uq_attribution_lot_organisation",
        table_name="attribution",
        postgresql_where=sa.text("lot_id IS NOT NULL"),
    )
    op.drop_index(
        "uq_attribution_contract_organisation_without_lot",
        table_name="attribution",
        postgresql_where=sa.text("lot_id IS NULL"),
    )
    op.drop_index(op.f("ix_attribution_referent_user_id"), table_name="attribution")
    op.drop_index(op.f("ix_attribution_parent_attribution_id"), table_name="attribution")
    op.drop_index(op.f("ix_attribution_organisation_id"), table_name="attribution")
    op.drop_index(op.f("ix_attribution_lot_id"), table_name="attribution")
    op.drop_index(op.f("ix_attribution_contract_id"), table_name="attribution")
    op.drop_table("attribution")
