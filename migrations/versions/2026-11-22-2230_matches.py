"""matches

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 22:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "match",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offer_id", sa.Uuid(), nullable=False),
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("score", sa.REAL(), nullable=False),
        sa.Column("sector_points", sa.REAL(), nullable=False),
        sa.Column("qpv_points", sa.REAL(), nullable=False),
        sa.Column("availability_points", sa.REAL(), nullable=False),
        sa.Column("distance_points", sa.REAL(), nullable=False),
        sa.Column("eligibility_points", sa.REAL(), nullable=False),
        sa.Column("distance_km", sa.REAL(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("score >= 0", name=op.f("ck_match_score_not_negative")),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidate.id"],
            name=op.f("fk_match_candidate_id_candidate"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offer.id"], name=op.f("fk_match_offer_id_offer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match")),
        sa.UniqueConstraint(
            "offer_id", "candidate_id", name=op.f("uq_match_offer_id_candidate_id")
        ),
    )
    op.create_index(op.f("ix_match_candidate_id"), "match", ["candidate_id"], unique=False)
    op.create_index(
        "ix_match_offer_rank", "match", ["offer_id", "score", "candidate_id"], unique=False
    )
    op.create_table(
        "match_transition",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("match_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=30), nullable=False),
        sa.Column("to_status", sa.String(length=30), nullable=False),
        sa.Column("actor_type", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("comment", sa.String(length=1000), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["match_id"],
            ["match.id"],
            name=op.f("fk_match_transition_match_id_match"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_match_transition_organisation_id_organisation"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_transition")),
    )
    op.create_index(
        op.f("ix_match_transition_match_id"), "match_transition", ["match_id"], unique=False
    )
    op.create_index(
        op.f("ix_match_transition_organisation_id"),
        "match_transition",
        ["organisation_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_match_transition_organisation_id"), table_name="match_transition")
    op.drop_index(op.f("ix_match_transition_match_id"), table_name="match_transition")
    op.drop_table("match_transition")
    op.drop_index("ix_match_offer_rank", table_name="match")
    op.drop_index(op.f("ix_match_candidate_id"), table_name="match")
    op.drop_table("match")
