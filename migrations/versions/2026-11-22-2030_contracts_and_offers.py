"""contracts and offers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 20:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contract",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("clause_kind", sa.String(length=30), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("is_npnru", sa.Boolean(), nullable=False),
        sa.Column("qpv_priority", sa.String(length=20), nullable=False),
        sa.Column("required_insertion_hours", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.CheckConstraint(
            "amount IS NULL OR amount >= 0", name=op.f("ck_contract_amount_not_negative")
        ),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_contract_dates_in_order")),
        sa.CheckConstraint(
            "required_insertion_hours >= 0", name=op.f("ck_contract_hours_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["organisation.id"],
            name=op.f("fk_contract_buyer_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract")),
        sa.UniqueConstraint("buyer_id", "reference", name=op.f("uq_contract_buyer_id_reference")),
    )
    op.create_index(op.f("ix_contract_buyer_id"), "contract", ["buyer_id"], unique=False)
    op.create_index(op.f("ix_contract_status"), "contract", ["status"], unique=False)
    op.create_table(
        "contract_holder",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contract.id"],
            name=op.f("fk_contract_holder_contract_id_contract"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_contract_holder_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("contract_id", "organisation_id", name=op.f("pk_contract_holder")),
    )
    op.create_index(
        op.f("ix_contract_holder_organisation_id"),
        "contract_holder",
        ["organisation_id"],
        unique=False,
    )
    op.create_table(
        "contract_lot",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("clause_kind", sa.String(length=30), nullable=True),
        sa.Column("required_insertion_hours", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.CheckConstraint("number >= 1", name=op.f("ck_contract_lot_number_positive")),
        sa.CheckConstraint(
            "required_insertion_hours IS NULL OR required_insertion_hours >= 0",
            name=op.f("ck_contract_lot_hours_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contract.id"],
            name=op.f("fk_contract_lot_contract_id_contract"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_lot")),
        sa.UniqueConstraint(
            "contract_id", "number", name=op.f("uq_contract_lot_contract_id_number")
        ),
    )
    op.create_table(
        "offer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=True),
        sa.Column("lot_id", sa.Uuid(), nullable=True),
        sa.Column("employer_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("rome_code", sa.String(length=5), nullable=False),
        sa.Column("appellation_code", sa.String(length=10), nullable=True),
        sa.Column("sector", sa.String(length=30), nullable=True),
        sa.Column("contract_type", sa.String(length=30), nullable=True),
        sa.Column("hours_per_week", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("positions", sa.Integer(), nullable=False),
        sa.Column("open_positions", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("commune_insee", sa.String(length=5), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("coordinates_source", sa.String(length=20), nullable=True),
        sa.Column("requires_eligibility", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "(lon IS NULL) = (lat IS NULL)", name=op.f("ck_offer_coordinates_paired")
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name=op.f("ck_offer_dates_in_order"),
        ),
        sa.CheckConstraint(
            "hours_per_week IS NULL OR (hours_per_week > 0 AND hours_per_week <= 48)",
            name=op.f("ck_offer_hours_per_week_range"),
        ),
        sa.CheckConstraint(
            "lot_id IS NULL OR contract_id IS NOT NULL", name=op.f("ck_offer_lot_needs_contract")
        ),
        sa.CheckConstraint(
            "open_positions >= 0 AND open_positions <= positions",
            name=op.f("ck_offer_open_positions_range"),
        ),
        sa.CheckConstraint("positions >= 1", name=op.f("ck_offer_positions_positive")),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contract.id"],
            name=op.f("fk_offer_contract_id_contract"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["organisation.id"],
            name=op.f("fk_offer_employer_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["contract_lot.id"],
            name=op.f("fk_offer_lot_id_contract_lot"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer")),
    )
    op.create_index(op.f("ix_offer_commune_insee"), "offer", ["commune_insee"], unique=False)
    op.create_index(op.f("ix_offer_contract_id"), "offer", ["contract_id"], unique=False)
    op.create_index(op.f("ix_offer_employer_id"), "offer", ["employer_id"], unique=False)
    op.create_index(op.f("ix_offer_lot_id"), "offer", ["lot_id"], unique=False)
    op.create_index(op.f("ix_offer_rome_code"), "offer", ["rome_code"], unique=False)
    op.create_index(op.f("ix_offer_sector"), "offer", ["sector"], unique=False)
    op.create_index(op.f("ix_offer_status"), "offer", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_offer_status"), table_name="offer")
    op.drop_index(op.f("ix_offer_sector"), table_name="offer")
    op.drop_index(op.f("ix_offer_rome_code"), table_name="offer")
    op.drop_index(op.f("ix_offer_lot_id"), table_name="offer")
    op.drop_index(op.f("ix_offer_employer_id"), table_name="offer")
    op.drop_index(op.f("ix_offer_contract_id"), table_name="offer")
    op.drop_index(op.f("ix_offer_commune_insee"), table_name="offer")
    op.drop_table("offer")
    op.drop_table("contract_lot")
    op.drop_index(op.f("ix_contract_holder_organisation_id"), table_name="contract_holder")
    op.drop_table("contract_holder")
    op.drop_index(op.f("ix_contract_status"), table_name="contract")
    op.drop_index(op.f("ix_contract_buyer_id"), table_name="contract")
    op.drop_table("contract")
