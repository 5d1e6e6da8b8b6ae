"""Clause progress as JSON (product.md §8.6, decision 0078): the same figures as the CSV, the
XLSX and the bilan. Hours and euros as numbers (two decimals at most), percentages with one;
``null`` where a share has nothing to be measured against."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from services.core.ledger.anru import AnruShare
from services.core.ledger.figures import Hours, Publics, Row, Target
from services.core.ledger.progress import Progress
from services.core.ledger.scope import ScopeKind
from services.core.models.obligation import AnruFamily


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


class HoursPublic(BaseModel):
    hours_owed: float = Field(description="Heures dues (part allouée pour une entreprise).")
    counted_hours: float = Field(description="Heures comptées des mois de la période.")
    counted_hours_to_date: float = Field(
        description="Heures comptées de tous les mois jusqu'à la fin de la période."
    )
    declared_not_validated: float = Field(
        description="Heures déclarées, pas encore validées (mois jusqu'à la fin de la période)."
    )
    rejected_hours: float = Field(description="Heures rejetées des mois de la période.")
    rate_percent: float | None = Field(
        description="Heures comptées à la fin de la période ÷ heures dues (peut dépasser 100)."
    )
    remaining_hours: float
    expected_hours: float = Field(
        description="Heures attendues au rythme prévu, à la fin du dernier relevé échu."
    )
    behind_schedule: bool = Field(description="Heures comptées sous 90 % des heures attendues.")
    qpv_hours: float = Field(description="Heures de la période réalisées par des habitants de QPV.")
    qpv_share_percent: float | None
    subcontracted_hours: float
    subcontracted_share_percent: float | None
    penalty_exposure: float = Field(description="Heures restant dues × pénalité par heure (€).")
    statements_due: int
    statements_received: int
    statements_late: int
    statements_missing: int

    @classmethod
    def of(cls, h: Hours) -> HoursPublic:
        return cls(
            hours_owed=float(h.hours_owed),
            counted_hours=float(h.counted_hours),
            counted_hours_to_date=float(h.counted_hours_to_date),
            declared_not_validated=float(h.declared_not_validated),
            rejected_hours=float(h.rejected_hours),
            rate_percent=_f(h.rate_percent),
            remaining_hours=float(h.remaining_hours),
            expected_hours=float(h.expected_hours),
            behind_schedule=h.behind_schedule,
            qpv_hours=float(h.qpv_hours),
            qpv_share_percent=_f(h.qpv_share_percent),
            subcontracted_hours=float(h.subcontracted_hours),
            subcontracted_share_percent=_f(h.subcontracted_share_percent),
            penalty_exposure=float(h.penalty_exposure),
            statements_due=h.statements_due,
            statements_received=h.statements_received,
            statements_late=h.statements_late,
            statements_missing=h.statements_missing,
        )


class RowPublic(BaseModel):
    id: uuid.UUID
    name: str
    detail: str | None = Field(description="Le marché d'un lot ; le rôle d'une entreprise.")
    hours: HoursPublic

    @classmethod
    def of(cls, row: Row) -> RowPublic:
        return cls(id=row.id, name=row.name, detail=row.detail, hours=HoursPublic.of(row.hours))


class PublicsPublic(BaseModel):
    total: int
    by_sex: dict[str, int]
    by_age_bracket: dict[str, int]
    by_criterion: dict[str, int]
    by_qualification: dict[str, int]
    by_qpv: dict[str, int] = Field(description="`true` : habitants d'un QPV ; `false` : hors QPV.")

    @classmethod
    def of(cls, p: Publics) -> PublicsPublic:
        return cls(
            total=p.total,
            by_sex=p.by_sex,
            by_age_bracket=p.by_age_bracket,
            by_criterion=p.by_criterion,
            by_qualification=p.by_qualification,
            by_qpv=p.by_qpv,
        )


class TargetPublic(BaseModel):
    public: str = Field(description="`female`, `<26` ou `50+`.")
    target_percent: float
    people: int
    share_percent: float | None
    met: bool | None

    @classmethod
    def of(cls, t: Target) -> TargetPublic:
        return cls(
            public=t.public,
            target_percent=float(t.target_percent),
            people=t.people,
            share_percent=_f(t.share_percent),
            met=t.met,
        )


class AnruPublic(BaseModel):
    family: AnruFamily
    insertion_hours: float
    hours_worked: float
    threshold_percent: float
    share_percent: float | None
    met: bool | None

    @classmethod
    def of(cls, a: AnruShare) -> AnruPublic:
        return cls(
            family=a.family,
            insertion_hours=float(a.insertion_hours),
            hours_worked=float(a.hours_worked),
            threshold_percent=float(a.threshold_percent),
            share_percent=_f(a.share_percent),
            met=a.met,
        )


class ScopePublic(BaseModel):
    kind: ScopeKind
    id: uuid.UUID
    name: str


class NantesNotePublic(BaseModel):
    budget_plan_hours: float = Field(description="Heures dues inscrites dans la maquette ANRU.")
    contract_hours: float = Field(description="Heures dues inscrites dans les marchés.")
    qpv_hours_to_date: float = Field(
        description="Heures réalisées par des habitants de QPV, à la fin de la période."
    )


class ProgressPublic(BaseModel):
    scope: ScopePublic
    period_start: date
    period_end: date
    as_of: datetime
    total: HoursPublic
    contracts: list[RowPublic]
    lots: list[RowPublic]
    companies: list[RowPublic] = Field(
        description="Chaque entreprise, les heures de ses sous-traitants comprises."
    )
    hours_by_modality: dict[str, float]
    hours_by_employer_kind: dict[str, float]
    hours_by_company_size: dict[str, float]
    under_50_hours: float
    under_50_share_percent: float | None
    anru: list[AnruPublic]
    participants: PublicsPublic
    new_entrants: PublicsPublic
    targets: list[TargetPublic]
    placements_by_contract_type: dict[str, int]
    placements_by_length: dict[str, int]
    hours_per_participant: float | None
    outcomes: dict[str, dict[str, int]] | None = Field(
        description="Situations à la sortie, à 6 et 12 mois (§8.5) ; null tant qu'aucune "
        "n'est enregistrée."
    )
    quarterly_note: NantesNotePublic

    @classmethod
    def of(cls, p: Progress) -> ProgressPublic:
        def floats(values: dict[str, Decimal]) -> dict[str, float]:
            return {key: float(value) for key, value in sorted(values.items())}

        return cls(
            scope=ScopePublic(kind=p.scope.kind, id=p.scope.id, name=p.scope.name),
            period_start=p.period.start,
            period_end=p.period.end,
            as_of=p.as_of,
            total=HoursPublic.of(p.total),
            contracts=[RowPublic.of(r) for r in p.contracts],
            lots=[RowPublic.of(r) for r in p.lots],
            companies=[RowPublic.of(r) for r in p.companies],
            hours_by_modality=floats(p.by_modality),
            hours_by_employer_kind=floats(p.by_employer_kind),
            hours_by_company_size=floats(p.by_company_size),
            under_50_hours=float(p.under_50_hours),
            under_50_share_percent=_f(p.under_50_share_percent),
            anru=[AnruPublic.of(a) for a in p.anru],
            participants=PublicsPublic.of(p.participants),
            new_entrants=PublicsPublic.of(p.new_entrants),
            targets=[TargetPublic.of(t) for t in p.targets],
            placements_by_contract_type=p.placements_by_contract_type,
            placements_by_length=p.placements_by_length,
            hours_per_participant=_f(p.hours_per_participant),
            outcomes=p.outcomes,
            quarterly_note=NantesNotePublic(
                budget_plan_hours=float(p.budget_plan_hours),
                contract_hours=float(p.total.hours_owed),
                qpv_hours_to_date=float(p.qpv_hours_to_date),
            ),
        )
