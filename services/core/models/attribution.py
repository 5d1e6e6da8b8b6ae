"""Attributions: a lot (or a contract without lots) given to a company, with its role, the share
of the hours allocated to it and the referent who receives statement reminders (§8.2)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, Numeric, text
from sqlmodel import Field

from services.core.models.base import EnumText, TableBase


class AttributionRole(StrEnum):
    HOLDER = "holder"
    CO_CONTRACTOR = "co_contractor"
    SUBCONTRACTOR = "subcontractor"


ATTRIBUTION_ROLE_LABELS: dict[AttributionRole, str] = {
    AttributionRole.HOLDER: "Titulaire",
    AttributionRole.CO_CONTRACTOR: "Cotraitant",
    AttributionRole.SUBCONTRACTOR: "Sous-traitant",
}


class Attribution(TableBase, table=True):
    """A company on a lot. ``lot_id`` is NULL for a contract without lots."""

    __tablename__ = "attribution"
    __table_args__ = (
        Index(
            "uq_attribution_lot_organisation",
            "lot_id",
            "organisation_id",
            unique=True,
            postgresql_where=text("lot_id IS NOT NULL"),
        ),
        Index(
            "uq_attribution_contract_organisation_without_lot",
            "contract_id",
            "organisation_id",
            unique=True,
            postgresql_where=text("lot_id IS NULL"),
        ),
        CheckConstraint(
            "allocated_share_percent IS NULL OR "
            "(allocated_share_percent >= 0 AND allocated_share_percent <= 100)",
            name="share_range",
        ),
    )

    contract_id: uuid.UUID = Field(
        foreign_key="contract.id", index=True, nullable=False, ondelete="RESTRICT"
    )
    lot_id: uuid.UUID | None = Field(
        default=None, foreign_key="contract_lot.id", index=True, ondelete="RESTRICT"
    )
    organisation_id: uuid.UUID = Field(
        foreign_key="organisation.id", index=True, nullable=False, ondelete="RESTRICT"
    )
    role: AttributionRole = Field(sa_type=EnumText(AttributionRole, 20), nullable=False)
    # The share of the lot's hours owed allocated to this company (groups split them); NULL: the
    # whole lot, or not split.
    allocated_share_percent: Decimal | None = Field(default=None, sa_type=Numeric(7, 4))
    # A subcontractor's hours also count in its holder's total (§8).
    parent_attribution_id: uuid.UUID | None = Field(
        default=None, foreign_key="attribution.id", index=True, ondelete="RESTRICT"
    )
    referent_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", index=True, ondelete="SET NULL"
    )
