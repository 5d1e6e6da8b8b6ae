"""Clause contracts (marchés clausés), their lots and their holders (attributaires).

No ``from __future__ import annotations`` here: SQLModel reads relationship annotations at
class creation.
"""

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, Numeric, String, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from services.core.models.base import EnumText, TableBase


class ClauseKind(StrEnum):
    EXECUTION = "execution"
    RESERVED_SIAE = "reserved_siae"
    RESERVED_DISABILITY = "reserved_disability"
    AWARD_CRITERION = "award_criterion"
    INSERTION_MARKET = "insertion_market"


CLAUSE_KIND_LABELS: dict[ClauseKind, str] = {
    ClauseKind.EXECUTION: "Clause d'exécution (art. L2112-2 CCP)",
    ClauseKind.RESERVED_SIAE: "Marché réservé aux SIAE (art. L2113-13 CCP)",
    ClauseKind.RESERVED_DISABILITY: "Marché réservé aux structures du handicap (art. L2113-12 CCP)",
    ClauseKind.AWARD_CRITERION: "Critère d'attribution (art. R2152-7 CCP)",
    ClauseKind.INSERTION_MARKET: "Marché d'insertion (art. R2123-1 CCP)",
}


class QpvPriority(StrEnum):
    NONE = "none"
    PREFERRED = "preferred"
    REQUIRED = "required"


class ContractStatus(StrEnum):
    # Found in the public buyers' open data (DECP, decision 0064), not yet followed by Maillon:
    # a facilitator confirms it (→ draft) or leaves it aside.
    DISCOVERED = "discovered"
    DRAFT = "draft"
    ACTIVE = "active"
    CLOSED = "closed"


CONTRACT_STATUS_LABELS: dict[ContractStatus, str] = {
    ContractStatus.DISCOVERED: "Découvert dans les données ouvertes, à confirmer",
    ContractStatus.DRAFT: "Brouillon",
    ContractStatus.ACTIVE: "En cours",
    ContractStatus.CLOSED: "Clos",
}

HOURS = Numeric(10, 2)
MONEY = Numeric(14, 2)


class Contract(TableBase, table=True):
    """A contract with a social clause. Its lots and holders belong to it (the aggregate) and are
    always loaded with it."""

    __tablename__ = "contract"
    __table_args__ = (
        UniqueConstraint("buyer_id", "reference"),
        CheckConstraint("end_date >= start_date", name="dates_in_order"),
        CheckConstraint("required_insertion_hours >= 0", name="hours_not_negative"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount_not_negative"),
    )

    buyer_id: uuid.UUID = Field(
        foreign_key="organisation.id", index=True, nullable=False, ondelete="RESTRICT"
    )
    reference: str = Field(sa_type=String(100), nullable=False)
    title: str = Field(sa_type=String(300), nullable=False)
    clause_kind: ClauseKind = Field(sa_type=EnumText(ClauseKind, 30), nullable=False)
    start_date: date = Field(sa_type=Date, nullable=False)
    end_date: date = Field(sa_type=Date, nullable=False)
    amount: Decimal | None = Field(default=None, sa_type=MONEY)
    is_npnru: bool = Field(default=False, nullable=False)
    qpv_priority: QpvPriority = Field(
        default=QpvPriority.NONE, sa_type=EnumText(QpvPriority, 20), nullable=False
    )
    required_insertion_hours: Decimal = Field(sa_type=HOURS, nullable=False)
    # The DECP ``uid`` (buyer SIRET + the buyer's own id) of a contract found in open data: what a
    # new run of the import finds it again by.
    decp_uid: str | None = Field(default=None, sa_type=String(100), unique=True)
    status: ContractStatus = Field(
        default=ContractStatus.DRAFT,
        sa_type=EnumText(ContractStatus, 20),
        nullable=False,
        index=True,
    )

    # Eager on purpose: a contract is never read or checked without its lots and holders.
    lots: list["ContractLot"] = Relationship(
        cascade_delete=True,
        sa_relationship_kwargs={"lazy": "selectin", "order_by": "ContractLot.number"},
    )
    holders: list["ContractHolder"] = Relationship(
        cascade_delete=True,
        sa_relationship_kwargs={
            "lazy": "selectin",
            "order_by": "ContractHolder.organisation_id",
        },
    )


class ContractLot(TableBase, table=True):
    """A lot of a contract; its clause kind and hours, when given, override the contract's."""

    __tablename__ = "contract_lot"
    __table_args__ = (
        UniqueConstraint("contract_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint(
            "required_insertion_hours IS NULL OR required_insertion_hours >= 0",
            name="hours_not_negative",
        ),
    )

    contract_id: uuid.UUID = Field(foreign_key="contract.id", nullable=False, ondelete="CASCADE")
    number: int = Field(nullable=False)
    title: str = Field(sa_type=String(300), nullable=False)
    clause_kind: ClauseKind | None = Field(default=None, sa_type=EnumText(ClauseKind, 30))
    required_insertion_hours: Decimal | None = Field(default=None, sa_type=HOURS)


class ContractHolder(SQLModel, table=True):
    """An organisation executing the contract (attributaire / titulaire)."""

    __tablename__ = "contract_holder"

    contract_id: uuid.UUID = Field(foreign_key="contract.id", primary_key=True, ondelete="CASCADE")
    # Indexed: "the contracts my territory holds" is part of every contract query.
    organisation_id: uuid.UUID = Field(
        foreign_key="organisation.id", primary_key=True, index=True, ondelete="RESTRICT"
    )
