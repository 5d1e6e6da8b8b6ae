"""reference data: ROME, communes, postal codes, QPV, imported datasets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _base_columns() -> list[sa.Column[object]]:
    """The columns every table gets from ``TableBase``."""
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    # ROME v4 (France Travail)
    op.create_table(
        "rome_grand_domaine",
        *_base_columns(),
        sa.Column("code", sa.String(length=1), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rome_grand_domaine")),
        sa.UniqueConstraint("code", name=op.f("uq_rome_grand_domaine_code")),
    )
    op.create_table(
        "rome_domaine",
        *_base_columns(),
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("grand_domaine_code", sa.String(length=1), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rome_domaine")),
        sa.UniqueConstraint("code", name=op.f("uq_rome_domaine_code")),
    )
    op.create_index(
        op.f("ix_rome_domaine_grand_domaine_code"), "rome_domaine", ["grand_domaine_code"]
    )
    op.create_table(
        "rome_fiche",
        *_base_columns(),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("domaine_code", sa.String(length=3), nullable=False),
        sa.Column("parent_code", sa.String(length=5), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rome_fiche")),
        sa.UniqueConstraint("code", name=op.f("uq_rome_fiche_code")),
    )
    op.create_index(op.f("ix_rome_fiche_domaine_code"), "rome_fiche", ["domaine_code"])
    op.create_index(op.f("ix_rome_fiche_parent_code"), "rome_fiche", ["parent_code"])
    op.create_table(
        "rome_appellation",
        *_base_columns(),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("short_label", sa.String(length=255), nullable=False),
        sa.Column("rome_code", sa.String(length=5), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rome_appellation")),
        sa.UniqueConstraint("code", name=op.f("uq_rome_appellation_code")),
    )
    op.create_index(op.f("ix_rome_appellation_rome_code"), "rome_appellation", ["rome_code"])

    # Communes and postal codes (INSEE, La Poste)
    op.create_table(
        "commune",
        *_base_columns(),
        sa.Column("insee", sa.String(length=5), nullable=False),
        sa.Column("dept", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("search_name", sa.String(length=100), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commune")),
        sa.UniqueConstraint("insee", name=op.f("uq_commune_insee")),
    )
    op.create_index(op.f("ix_commune_dept"), "commune", ["dept"])
    op.create_index(
        "ix_commune_search_name",
        "commune",
        ["search_name"],
        postgresql_ops={"search_name": "text_pattern_ops"},
    )
    op.create_table(
        "postal_code",
        *_base_columns(),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("insee", sa.String(length=5), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postal_code")),
        sa.UniqueConstraint("code", "insee", name=op.f("uq_postal_code_code_insee")),
    )
    op.create_index(op.f("ix_postal_code_insee"), "postal_code", ["insee"])

    # QPV polygons (ANCT), WKB in WGS84
    op.create_table(
        "qpv",
        *_base_columns(),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("insee_codes", postgresql.ARRAY(sa.String(length=5)), nullable=False),
        sa.Column("geometry", sa.LargeBinary(), nullable=False),
        sa.Column("min_lon", sa.Double(), nullable=False),
        sa.Column("min_lat", sa.Double(), nullable=False),
        sa.Column("max_lon", sa.Double(), nullable=False),
        sa.Column("max_lat", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qpv")),
        sa.UniqueConstraint("code", name=op.f("uq_qpv_code")),
    )
    op.create_index("ix_qpv_insee_codes", "qpv", ["insee_codes"], postgresql_using="gin")

    # One row per imported version of each kind
    op.create_table(
        "reference_dataset",
        *_base_columns(),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_dataset")),
        sa.UniqueConstraint("kind", "version", name=op.f("uq_reference_dataset_kind_version")),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes.
    for table in (
        "reference_dataset",
        "qpv",
        "postal_code",
        "commune",
        "rome_appellation",
        "rome_fiche",
        "rome_domaine",
        "rome_grand_domaine",
    ):
        op.drop_table(table)
