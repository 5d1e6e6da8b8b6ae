from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from services.api.patch import refuse_null
from services.api.validation import Day, InvalidValue, NotBoolean
from services.core.models.contract import (
    CLAUSE_KIND_LABELS,
    CONTRACT_STATUS_LABELS,
    ClauseKind,
    Contract,
    ContractLot,
    ContractStatus,
    QpvPriority,
)

MAX_LOTS = 200
MAX_HOLDERS = 50


def _cents(value: Decimal) -> Decimal:
    # Stored as NUMERIC(…, 2): the representation is the same before and after a round trip,
    # so the ETag of a write's response is the ETag of the next read.
    return value.quantize(Decimal("0.01"))


Reference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    Field(description="Référence du marché chez l'acheteur (unique pour cet acheteur)."),
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Hours = Annotated[
    Decimal,
    Field(ge=0, max_digits=10, decimal_places=2, description="Heures d'insertion."),
    AfterValidator(_cents),
]
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2, description="Montant en euros HT."),
    AfterValidator(_cents),
]
LotNumber = Annotated[int, Field(ge=1, le=9999), NotBoolean]


class LotIn(BaseModel):
    """A lot, identified within its contract by its number."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Un lot du marché, reconnu dans son marché par son numéro (`number`)."
        },
    )

    number: LotNumber = Field(description="Numéro du lot dans le marché (unique).")
    title: Title = Field(description="Intitulé du lot.")
    clause_kind: ClauseKind | None = Field(
        default=None, description="Modalité propre au lot ; par défaut, celle du marché."
    )
    required_insertion_hours: Hours | None = Field(
        default=None, description="Heures d'insertion exigées sur le lot."
    )


def _distinct_lots(lots: list[LotIn] | None) -> list[LotIn] | None:
    if lots is not None and len({lot.number for lot in lots}) != len(lots):
        raise InvalidValue("deux lots portent le même numéro")
    return lots


def _distinct_holders(holders: list[uuid.UUID] | None) -> list[uuid.UUID] | None:
    if holders is not None and len(set(holders)) != len(holders):
        raise InvalidValue("une organisation figure deux fois parmi les attributaires")
    return holders


class ContractCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "buyer_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0b01",
                    "reference": "2026-PCH-017",
                    "title": "Réhabilitation de 120 logements, cité Floréal",
                    "clause_kind": "execution",
                    "start_date": "2026-04-01",
                    "end_date": "2027-09-30",
                    "amount": "4200000.00",
                    "is_npnru": True,
                    "qpv_priority": "preferred",
                    "required_insertion_hours": "3500",
                    "lots": [
                        {"number": 1, "title": "Gros œuvre", "required_insertion_hours": "2000"},
                        {"number": 2, "title": "Peinture", "required_insertion_hours": "1500"},
                    ],
                    "holder_ids": ["0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0b04"],
                }
            ]
        },
    )

    buyer_id: uuid.UUID = Field(description="Organisation acheteuse (maître d'ouvrage).")
    reference: Reference
    title: Title = Field(description="Objet du marché.")
    clause_kind: ClauseKind = Field(
        description=(
            "Modalité de la clause sociale : `execution` (action d'insertion dans"
            " l'exécution), `reserved_siae`, `reserved_disability`, "
            "`award_criterion` ou `insertion_market`."
        )
    )
    start_date: Day = Field(description="Début d'exécution.")
    end_date: Day = Field(description="Fin d'exécution (après le début).")
    amount: Amount | None = Field(default=None, description="Montant, en euros hors taxes.")
    is_npnru: bool = Field(
        default=False, description="Marché du nouveau programme de renouvellement urbain (NPNRU)."
    )
    qpv_priority: QpvPriority = Field(
        default=QpvPriority.NONE,
        description=(
            "Priorité aux habitants des quartiers prioritaires : `none`, `preferred` ou `required`."
        ),
    )
    required_insertion_hours: Hours
    lots: list[LotIn] = Field(
        default_factory=list,
        max_length=MAX_LOTS,
        description="Les lots, chacun avec un numéro unique.",
    )
    holder_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=MAX_HOLDERS,
        description="Organisations attributaires (titulaires) du marché.",
    )

    _lots = field_validator("lots")(_distinct_lots)
    _holders = field_validator("holder_ids")(_distinct_holders)


class ContractUpdate(BaseModel):
    """Only the fields sent change. ``lots`` and ``holder_ids``, when sent, replace the whole
    list: lots are matched by number (same number, same lot: offers keep pointing at it)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Seuls les champs envoyés changent. `lots` et `holder_ids`, s'ils sont "
            "envoyés, remplacent toute la liste : les lots sont reconnus par leur numéro "
            "(même numéro, même lot : les offres qui le visent le gardent).",
            "examples": [{"end_date": "2027-12-31", "required_insertion_hours": "4000"}],
        },
    )

    buyer_id: uuid.UUID | None = Field(default=None, description="Organisation acheteuse.")
    reference: Reference | None = Field(
        default=None, description="Référence du marché chez l'acheteur."
    )
    title: Title | None = Field(default=None, description="Objet du marché.")
    clause_kind: ClauseKind | None = Field(
        default=None,
        description=(
            "Modalité de la clause sociale : `execution` (action d'insertion dans"
            " l'exécution), `reserved_siae`, `reserved_disability`, "
            "`award_criterion` ou `insertion_market`."
        ),
    )
    start_date: Day | None = Field(default=None, description="Début d'exécution.")
    end_date: Day | None = Field(default=None, description="Fin d'exécution.")
    amount: Amount | None = Field(
        default=None, description="Montant, en euros hors taxes ; `null` l'efface."
    )
    is_npnru: bool | None = Field(default=None, description="Marché NPNRU.")
    qpv_priority: QpvPriority | None = Field(
        default=None,
        description=(
            "Priorité aux habitants des quartiers prioritaires : `none`, `preferred` ou `required`."
        ),
    )
    required_insertion_hours: Hours | None = Field(
        default=None, description="Heures d'insertion exigées sur tout le marché."
    )
    lots: list[LotIn] | None = Field(
        default=None,
        max_length=MAX_LOTS,
        description=("La liste entière des lots, rapprochés par numéro (même numéro, même lot)."),
    )
    holder_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=MAX_HOLDERS, description="La liste entière des attributaires."
    )

    _lots = field_validator("lots")(_distinct_lots)
    _holders = field_validator("holder_ids")(_distinct_holders)

    _not_null = field_validator(
        "buyer_id",
        "reference",
        "title",
        "clause_kind",
        "start_date",
        "end_date",
        "is_npnru",
        "qpv_priority",
        "required_insertion_hours",
        "lots",
        "holder_ids",
    )(refuse_null)


class LotPublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    number: int = Field(description="Numéro du lot dans le marché.")
    title: str = Field(description="Intitulé du lot.")
    clause_kind: ClauseKind | None = Field(
        description="Modalité de la clause propre au lot ; `null` : celle du marché."
    )
    required_insertion_hours: Decimal | None = Field(
        description="Heures d'insertion exigées sur le lot."
    )

    @classmethod
    def of(cls, lot: ContractLot) -> LotPublic:
        return cls(
            id=lot.id,
            number=lot.number,
            title=lot.title,
            clause_kind=lot.clause_kind,
            required_insertion_hours=lot.required_insertion_hours,
        )


class ContractPublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    buyer_id: uuid.UUID = Field(description="Acheteur public (organisation).")
    reference: str = Field(description="Référence du marché chez l'acheteur (unique pour lui).")
    title: str = Field(description="Objet du marché.")
    clause_kind: ClauseKind = Field(description="Modalité de la clause sociale.")
    clause_kind_label: str = Field(description="La modalité en toutes lettres, en français.")
    start_date: date = Field(description="Début d'exécution.")
    end_date: date = Field(description="Fin d'exécution.")
    amount: Decimal | None = Field(description="Montant, en euros hors taxes.")
    is_npnru: bool = Field(
        description="Marché du nouveau programme de renouvellement urbain (NPNRU)."
    )
    qpv_priority: QpvPriority = Field(
        description="Priorité donnée aux habitants des quartiers prioritaires."
    )
    required_insertion_hours: Decimal = Field(
        description="Heures d'insertion exigées sur tout le marché."
    )
    status: ContractStatus = Field(
        description="État du marché (`discovered`, `draft`, `active`, `closed`)."
    )
    status_label: str = Field(description="L'état en toutes lettres, en français.")
    decp_uid: str | None = Field(
        description="Identifiant (uid) du marché dans les données essentielles de la commande "
        "publique, pour un marché trouvé dans les données ouvertes."
    )
    lots: list[LotPublic] = Field(description="Par numéro croissant.")
    holder_ids: list[uuid.UUID] = Field(description="Attributaires (organisations titulaires).")
    created_at: datetime = Field(description="Date et heure de création.")
    updated_at: datetime = Field(description="Date et heure de la dernière modification.")

    @classmethod
    def of(cls, contract: Contract) -> ContractPublic:
        return cls(
            id=contract.id,
            buyer_id=contract.buyer_id,
            reference=contract.reference,
            title=contract.title,
            clause_kind=contract.clause_kind,
            clause_kind_label=CLAUSE_KIND_LABELS[contract.clause_kind],
            start_date=contract.start_date,
            end_date=contract.end_date,
            amount=contract.amount,
            is_npnru=contract.is_npnru,
            qpv_priority=contract.qpv_priority,
            required_insertion_hours=contract.required_insertion_hours,
            status=contract.status,
            status_label=CONTRACT_STATUS_LABELS[contract.status],
            decp_uid=contract.decp_uid,
            # Sorted here, not only by the loader: a lot or holder added in this request is at
            # the end of the list until the next read, and the ETag must not differ.
            lots=[LotPublic.of(lot) for lot in sorted(contract.lots, key=lambda lot: lot.number)],
            holder_ids=sorted(holder.organisation_id for holder in contract.holders),
            created_at=contract.created_at,
            updated_at=contract.updated_at,
        )
