"""candidates and intakes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 21:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "candidate",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("search_name", sa.String(length=201), nullable=True),
        sa.Column("phone_e164", sa.String(length=16), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("commune_insee", sa.String(length=5), nullable=True),
        sa.Column("qpv_status", sa.String(length=20), nullable=False),
        sa.Column("qpv_code", sa.String(length=10), nullable=True),
        sa.Column("qpv_method", sa.String(length=20), nullable=True),
        sa.Column("geocoding_score", sa.Double(), nullable=True),
        sa.Column("qpv_polygon_version", sa.String(length=64), nullable=True),
        sa.Column("qpv_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qpv_near_boundary", sa.Boolean(), nullable=False),
        sa.Column("sectors_worked", postgresql.ARRAY(sa.String(length=30)), nullable=False),
        sa.Column("sectors_worked_other", sa.String(length=200), nullable=True),
        sa.Column("sectors_wanted", postgresql.ARRAY(sa.String(length=30)), nullable=False),
        sa.Column("sectors_wanted_other", sa.String(length=200), nullable=True),
        sa.Column("needs", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("rome_wishes", postgresql.ARRAY(sa.String(length=5)), nullable=False),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.Column("hours_per_week", sa.SmallInteger(), nullable=True),
        sa.Column("mobility_radius_km", sa.SmallInteger(), nullable=True),
        sa.Column("has_driving_licence", sa.Boolean(), nullable=True),
        sa.Column("has_vehicle", sa.Boolean(), nullable=True),
        sa.Column("sex", sa.String(length=10), nullable=True),
        sa.Column("birth_year", sa.SmallInteger(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("referent_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("referent_prescriber_id", sa.Uuid(), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "(lon IS NULL) = (lat IS NULL)", name=op.f("ck_candidate_coordinates_paired")
        ),
        sa.CheckConstraint(
            "birth_year IS NULL OR (birth_year >= 1900 AND birth_year <= 2100)",
            name=op.f("ck_candidate_birth_year_range"),
        ),
        sa.CheckConstraint(
            "geocoding_score IS NULL OR (geocoding_score >= 0 AND geocoding_score <= 1)",
            name=op.f("ck_candidate_geocoding_score_range"),
        ),
        sa.CheckConstraint(
            "hours_per_week IS NULL OR (hours_per_week > 0 AND hours_per_week <= 48)",
            name=op.f("ck_candidate_hours_per_week_range"),
        ),
        sa.CheckConstraint(
            "mobility_radius_km IS NULL OR (mobility_radius_km >= 0 AND mobility_radius_km <= 500)",
            name=op.f("ck_candidate_mobility_radius_range"),
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["candidate.id"],
            name=op.f("fk_candidate_merged_into_id_candidate"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["referent_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_candidate_referent_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["referent_prescriber_id"],
            ["user_account.id"],
            name=op.f("fk_candidate_referent_prescriber_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candidate")),
    )
    op.create_index(
        op.f("ix_candidate_commune_insee"), "candidate", ["commune_insee"], unique=False
    )
    op.create_index(op.f("ix_candidate_email"), "candidate", ["email"], unique=False)
    op.create_index(
        op.f("ix_candidate_merged_into_id"), "candidate", ["merged_into_id"], unique=False
    )
    op.create_index(op.f("ix_candidate_phone_e164"), "candidate", ["phone_e164"], unique=False)
    op.create_index(op.f("ix_candidate_qpv_status"), "candidate", ["qpv_status"], unique=False)
    op.create_index(
        op.f("ix_candidate_referent_organisation_id"),
        "candidate",
        ["referent_organisation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_candidate_referent_prescriber_id"),
        "candidate",
        ["referent_prescriber_id"],
        unique=False,
    )
    op.create_index(
        "ix_candidate_search_name_commune",
        "candidate",
        ["search_name", "commune_insee"],
        unique=False,
    )
    op.create_index(
        "ix_candidate_search_name_prefix",
        "candidate",
        ["search_name"],
        unique=False,
        postgresql_ops={"search_name": "text_pattern_ops"},
    )
    op.create_index(
        "ix_candidate_sectors_wanted",
        "candidate",
        ["sectors_wanted"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(op.f("ix_candidate_status"), "candidate", ["status"], unique=False)
    op.create_table(
        "candidate_share",
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidate.id"],
            name=op.f("fk_candidate_share_candidate_id_candidate"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_candidate_share_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("candidate_id", "organisation_id", name=op.f("pk_candidate_share")),
    )
    op.create_index(
        op.f("ix_candidate_share_organisation_id"),
        "candidate_share",
        ["organisation_id"],
        unique=False,
    )
    op.create_table(
        "eligibility_criterion",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("validated_on", sa.Date(), nullable=True),
        sa.Column("validated_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("comment", sa.String(length=1000), nullable=True),
        sa.CheckConstraint(
            "expires_on IS NULL OR validated_on IS NULL OR expires_on >= validated_on",
            name=op.f("ck_eligibility_criterion_dates_in_order"),
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidate.id"],
            name=op.f("fk_eligibility_criterion_candidate_id_candidate"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["validated_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_eligibility_criterion_validated_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_criterion")),
    )
    op.create_index(
        op.f("ix_eligibility_criterion_candidate_id"),
        "eligibility_criterion",
        ["candidate_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_eligibility_criterion_validated_by_user_id"),
        "eligibility_criterion",
        ["validated_by_user_id"],
        unique=False,
    )
    op.create_table(
        "intake",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("place_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("deposit_date", sa.Date(), nullable=False),
        sa.Column("collected_on", sa.Date(), nullable=True),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("consent_given", sa.Boolean(), nullable=False),
        sa.Column("consent_text_version", sa.String(length=40), nullable=True),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entered_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("entered_by_api_key_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "collected_on IS NULL OR deposit_date <= collected_on",
            name=op.f("ck_intake_deposit_before_collection"),
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidate.id"],
            name=op.f("fk_intake_candidate_id_candidate"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_api_key_id"],
            ["api_key.id"],
            name=op.f("fk_intake_entered_by_api_key_id_api_key"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_intake_entered_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_intake_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["place_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_intake_place_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake")),
    )
    op.create_index(op.f("ix_intake_batch_id"), "intake", ["batch_id"], unique=False)
    op.create_index(op.f("ix_intake_candidate_id"), "intake", ["candidate_id"], unique=False)
    op.create_index(op.f("ix_intake_deposit_date"), "intake", ["deposit_date"], unique=False)
    op.create_index(
        op.f("ix_intake_entered_by_api_key_id"), "intake", ["entered_by_api_key_id"], unique=False
    )
    op.create_index(
        op.f("ix_intake_entered_by_user_id"), "intake", ["entered_by_user_id"], unique=False
    )
    op.create_index(op.f("ix_intake_organisation_id"), "intake", ["organisation_id"], unique=False)
    op.create_index(
        op.f("ix_intake_place_organisation_id"), "intake", ["place_organisation_id"], unique=False
    )
    op.create_table(
        "intake_file",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("intake_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["intake_id"],
            ["intake.id"],
            name=op.f("fk_intake_file_intake_id_intake"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_file")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_intake_file_storage_key")),
    )
    op.create_index(op.f("ix_intake_file_intake_id"), "intake_file", ["intake_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_intake_file_intake_id"), table_name="intake_file")
    op.drop_table("intake_file")
    op.drop_index(op.f("ix_intake_place_organisation_id"), table_name="intake")
    op.drop_index(op.f("ix_intake_organisation_id"), table_name="intake")
    op.drop_index(op.f("ix_intake_entered_by_user_id"), table_name="intake")
    op.drop_index(op.f("ix_intake_entered_by_api_key_id"), table_name="intake")
    op.drop_index(op.f("ix_intake_deposit_date"), table_name="intake")
    op.drop_index(op.f("ix_intake_candidate_id"), table_name="intake")
    op.drop_index(op.f("ix_intake_batch_id"), table_name="intake")
    op.drop_table("intake")
    op.drop_index(
        op.f("ix_eligibility_criterion_validated_by_user_id"), table_name="eligibility_criterion"
    )
    op.drop_index(op.f("ix_eligibility_criterion_candidate_id"), table_name="eligibility_criterion")
    op.drop_table("eligibility_criterion")
    op.drop_index(op.f("ix_candidate_share_organisation_id"), table_name="candidate_share")
    op.drop_table("candidate_share")
    op.drop_index(op.f("ix_candidate_status"), table_name="candidate")
    op.drop_index("ix_candidate_sectors_wanted", table_name="candidate", postgresql_using="gin")
    op.drop_index(
        "ix_candidate_search_name_prefix",
        table_name="candidate",
        postgresql_ops={"search_name": "text_pattern_ops"},
    )
    op.drop_index("ix_candidate_search_name_commune", table_name="candidate")
    op.drop_index(op.f("ix_candidate_referent_prescriber_id"), table_name="candidate")
    op.drop_index(op.f("ix_candidate_referent_organisation_id"), table_name="candidate")
    op.drop_index(op.f("ix_candidate_qpv_status"), table_name="candidate")
    op.drop_index(op.f("ix_candidate_phone_e164"), table_name="candidate")
    op.drop_index(op.f("ix_candidate_merged_into_id"), table_name="candidate")
    op.drop_index(op.f("ix_candidate_email"), table_name="candidate")
    op.drop_index(op.f("ix_candidate_commune_insee"), table_name="candidate")
    op.drop_table("candidate")
