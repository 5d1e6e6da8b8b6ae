from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from services.core.ledger.progress import CompanyProgress, ContractProgress, Figures, LotProgress
from services.core.models.attribution import ATTRIBUTION_ROLE_LABELS, AttributionRole


class FiguresPublic(BaseModel):
    owed: Decimal | None = Field(description="Heures dues (absent : pas d'obligation ou de part).")
    counted: Decimal = Field(description="Heures validées que l'obligation compte.")
    declared_not_validated: Decimal = Field(
        description="Heures déclarées en attente de validation (qui compteraient)."
    )
    rate_percent: Decimal | None = Field(description="Taux de réalisation (peut dépasser 100).")
    remaining: Decimal | None

    @classmethod
    def of(cls, f: Figures) -> FiguresPublic:
        return cls(
            owed=f.owed,
            counted=f.counted,
            declared_not_validated=f.pending,
            rate_percent=f.rate_percent,
            remaining=f.remaining,
        )


class CompanyProgressPublic(BaseModel):
    attribution_id: uuid.UUID
    organisation_id: uuid.UUID
    role: AttributionRole
    role_label: str
    parent_attribution_id: uuid.UUID | None
    figures: FiguresPublic
    counted_with_subcontractors: Decimal

    @classmethod
    def of(cls, c: CompanyProgress) -> CompanyProgressPublic:
        a = c.attribution
        return cls(
            attribution_id=a.id,
            organisation_id=a.organisation_id,
            role=a.role,
            role_label=ATTRIBUTION_ROLE_LABELS[a.role],
            parent_attribution_id=a.parent_attribution_id,
            figures=FiguresPublic.of(c.figures),
            counted_with_subcontractors=c.with_subcontractors,
        )


class LotProgressPublic(BaseModel):
    lot_id: uuid.UUID | None
    obligation_id: uuid.UUID | None
    figures: FiguresPublic
    expected_by_now: Decimal | None = Field(
        description="Heures attendues à cette date au rythme régulier de l'exécution."
    )
    behind_schedule: bool
    companies: list[CompanyProgressPublic]

    @classmethod
    def of(cls, lot: LotProgress) -> LotProgressPublic:
        return cls(
            lot_id=lot.lot_id,
            obligation_id=lot.obligation.id if lot.obligation else None,
            figures=FiguresPublic.of(lot.figures),
            expected_by_now=lot.expected_by_now,
            behind_schedule=lot.behind_schedule,
            companies=[CompanyProgressPublic.of(c) for c in lot.companies],
        )


class ContractProgressPublic(BaseModel):
    contract_id: uuid.UUID
    on: date
    elapsed_percent: Decimal = Field(description="Part écoulée de la période d'exécution.")
    figures: FiguresPublic
    expected_by_now: Decimal | None
    behind_schedule: bool
    lots: list[LotProgressPublic]

    @classmethod
    def of(cls, contract_id: uuid.UUID, p: ContractProgress) -> ContractProgressPublic:
        return cls(
            contract_id=contract_id,
            on=p.on,
            elapsed_percent=p.elapsed_percent,
            figures=FiguresPublic.of(p.figures),
            expected_by_now=p.expected_by_now,
            behind_schedule=p.behind_schedule,
            lots=[LotProgressPublic.of(lot) for lot in p.lots],
        )
