"""Clause progress as JSON (product.md §8.6, decision 0078): the same figures as the CSV, the
XLSX and the bilan. Hours and euros as numbers (two decimals at most), percentages with one;
``null`` where a share has nothing to be measured against."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel, Field

from services.core.ledger.anru import AnruShare
from services.core.ledger.figures import Hours, Publics, Row, Target
from services.core.ledger.progress import Progress
from services.core.ledger.scope import ScopeKind
from services.core.models.obligation import AnruFamily

PERCENT_OF_COUNTED = (
    "en pourcentage (0 à 100, une décimale) ; `null` : aucune heure comptée dans la période."
)
UNKNOWN_KEY = "`unknown` : non renseigné. Les catégories vides sont absentes."


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
    remaining_hours: float = Field(
        description="Heures restant dues : heures dues moins heures comptées à la fin de la "
        "période, jamais moins de 0."
    )
    expected_hours: float = Field(
        description="Heures attendues au rythme prévu, à la fin du dernier relevé échu."
    )
    behind_schedule: bool = Field(description="Heures comptées sous 90 % des heures attendues.")
    qpv_hours: float = Field(description="Heures de la période réalisées par des habitants de QPV.")
    qpv_share_percent: float | None = Field(
        description=f"Part des heures comptées de la période réalisée par des habitants de QPV, "
        f"{PERCENT_OF_COUNTED}"
    )
    subcontracted_hours: float = Field(
        description="Heures comptées de la période sur les attributions de sous-traitants."
    )
    subcontracted_share_percent: float | None = Field(
        description=f"Part des heures comptées de la période réalisée en sous-traitance, "
        f"{PERCENT_OF_COUNTED}"
    )
    penalty_exposure: float = Field(description="Heures restant dues × pénalité par heure (€).")
    statements_due: int = Field(
        description="Relevés d'heures dus : un par attribution et période de relevé (mois ou "
        "trimestre, selon l'obligation) finissant dans la période et échue à ce jour, quand une "
        "mise en emploi démarrée de l'attribution travaille dans cette période de relevé."
    )
    statements_received: int = Field(
        description="Relevés dus reçus : une ligne au moins est déclarée pour l'un de leurs mois."
    )
    statements_late: int = Field(
        description="Relevés dus dont aucune ligne n'était déclarée à la fin de leur jour "
        "d'échéance (heure de Paris), reçus depuis ou non."
    )
    statements_missing: int = Field(description="Relevés dus pas encore reçus (dus − reçus).")

    @classmethod
    def of(cls, h: Hours) -> HoursPublic:
        return cls.model_validate(hours_fields(h))


class RowPublic(BaseModel):
    id: uuid.UUID = Field(description="Le marché, le lot ou l'entreprise (organisation).")
    name: str = Field(
        description="« Référence — objet » d'un marché, « Lot N — intitulé » d'un lot, le nom "
        "d'une entreprise."
    )
    detail: str | None = Field(description="Le marché d'un lot ; le rôle d'une entreprise.")
    hours: HoursPublic = Field(description="Ses heures et ses relevés.")

    @classmethod
    def of(cls, row: Row) -> RowPublic:
        return cls.model_validate(row_fields(row))


def hours_fields(h: Hours) -> dict[str, Any]:
    """The fields of :class:`HoursPublic`, for pydantic to validate from a plain dict (a
    territory's report has thousands of rows: one model built from Python keywords each costs
    more than the whole list validated at once). Most rows have hours that are nothing: 0.0
    then, without turning a Decimal into a float (none of these hours is negative)."""
    owed, to_date, counted = h.hours_owed, h.counted_hours_to_date, h.counted_hours
    pending, rejected, remaining, expected, qpv, subcontracted = (
        h.declared_not_validated,
        h.rejected_hours,
        h.remaining_hours,
        h.expected_hours,
        h.qpv_hours,
        h.subcontracted_hours,
    )
    rate, qpv_share = h.rate_percent, h.qpv_share_percent
    subcontracted_share = h.subcontracted_share_percent
    return {
        "hours_owed": float(owed) if owed else 0.0,
        "counted_hours": float(counted) if counted else 0.0,
        "counted_hours_to_date": float(to_date) if to_date else 0.0,
        "declared_not_validated": float(pending) if pending else 0.0,
        "rejected_hours": float(rejected) if rejected else 0.0,
        "rate_percent": None if rate is None else float(rate),
        "remaining_hours": float(remaining) if remaining else 0.0,
        "expected_hours": float(expected) if expected else 0.0,
        "behind_schedule": h.behind_schedule,
        "qpv_hours": float(qpv) if qpv else 0.0,
        "qpv_share_percent": None if qpv_share is None else float(qpv_share),
        "subcontracted_hours": float(subcontracted) if subcontracted else 0.0,
        "subcontracted_share_percent": (
            None if subcontracted_share is None else float(subcontracted_share)
        ),
        "penalty_exposure": float(h.penalty_exposure),
        "statements_due": h.statements_due,
        "statements_received": h.statements_received,
        "statements_late": h.statements_late,
        "statements_missing": h.statements_missing,
    }


def row_fields(row: Row) -> dict[str, Any]:
    """The fields of :class:`RowPublic` (see :func:`hours_fields`)."""
    return {"id": row.id, "name": row.name, "detail": row.detail, "hours": hours_fields(row.hours)}


class PublicsPublic(BaseModel):
    total: int = Field(description="Nombre de personnes, chacune comptée une fois.")
    by_sex: dict[str, int] = Field(
        description=f"Personnes par sexe : `female`, `male`, {UNKNOWN_KEY}"
    )
    by_age_bracket: dict[str, int] = Field(
        description=f"Personnes par tranche d'âge au début de la mise en emploi : `<26`, "
        f"`26-49`, `50+`, {UNKNOWN_KEY}"
    )
    by_criterion: dict[str, int] = Field(
        description="Personnes par critère d'éligibilité validé au démarrage (`DELD`, `RSA`, "
        "`JEUNE`…) : une personne qui en a plusieurs compte sous chacun ; `unknown` : aucun "
        "critère validé."
    )
    by_qualification: dict[str, int] = Field(
        description=f"Personnes par niveau de qualification : `below_3`, `level_3`, `level_4`, "
        f"`level_5`, `level_6_plus`, {UNKNOWN_KEY}"
    )
    by_qpv: dict[str, int] = Field(
        description=f"`true` : habitants d'un QPV ; `false` : hors QPV ; {UNKNOWN_KEY}"
    )

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
    target_percent: float = Field(
        description="La cible du territoire : part des participants visée, en pourcentage "
        "(0 à 100)."
    )
    people: int = Field(description="Participants de ce public.")
    share_percent: float | None = Field(
        description="Leur part des participants, en pourcentage (0 à 100, une décimale) ; "
        "`null` : aucun participant."
    )
    met: bool | None = Field(
        description="`true` : la part atteint la cible ; `null` : aucun participant."
    )

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
    family: AnruFamily = Field(
        description="`investment` (investissement, seuil de 5 %) ou `gup` (gestion urbaine de "
        "proximité, seuil de 10 %)."
    )
    insertion_hours: float = Field(
        description="Heures d'insertion comptées jusqu'à la fin de la période sur les "
        "obligations de cette famille."
    )
    hours_worked: float = Field(
        description="Heures travaillées sur l'opération par tous, déclarées sur ces obligations "
        "pour les périodes commençant au plus tard à la fin de la période."
    )
    threshold_percent: float = Field(
        description="Seuil ANRU, en pourcentage des heures travaillées : 5 ou 10."
    )
    share_percent: float | None = Field(
        description="Heures d'insertion ÷ heures travaillées, en pourcentage (0 à 100, deux "
        "décimales) ; `null` : aucune heure travaillée déclarée."
    )
    met: bool | None = Field(
        description="`true` : la part atteint le seuil (comparée exactement : 4,99 % ne "
        "l'atteint pas) ; `null` : aucune heure travaillée déclarée, non évalué."
    )

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
    kind: ScopeKind = Field(
        description="`territory` (territoire), `buyer` (acheteur), `contract` (marché), `lot` "
        "ou `company` (entreprise)."
    )
    id: uuid.UUID = Field(
        description="Le territoire (organisation de facilitation), l'acheteur, le marché, le lot "
        "ou l'entreprise."
    )
    name: str = Field(
        description="Son nom : « Référence — objet » d'un marché, « Lot N — intitulé » d'un lot, "
        "le nom de l'organisation sinon ; pour une entreprise qui consulte un marché, suivi de "
        "« — » et de son nom."
    )


class NantesNotePublic(BaseModel):
    budget_plan_hours: float = Field(description="Heures dues inscrites dans la maquette ANRU.")
    contract_hours: float = Field(description="Heures dues inscrites dans les marchés.")
    qpv_hours_to_date: float = Field(
        description="Heures réalisées par des habitants de QPV, à la fin de la période."
    )


class ProgressPublic(BaseModel):
    scope: ScopePublic = Field(description="Le périmètre du rapport.")
    period_start: date = Field(description="Premier jour de la période.")
    period_end: date = Field(description="Dernier jour de la période.")
    as_of: datetime = Field(description="Date et heure du calcul.")
    total: HoursPublic = Field(description="Les heures et les relevés de tout le périmètre.")
    contracts: list[RowPublic] = Field(
        description="Une ligne par marché du périmètre qui a une obligation, ses lots additionnés."
    )
    lots: list[RowPublic] = Field(
        description="Une ligne par lot qui a une obligation (`detail` : son marché) ; rien pour "
        "un marché sans lots."
    )
    companies: list[RowPublic] = Field(
        description="Chaque entreprise, les heures de ses sous-traitants comprises."
    )
    hours_by_modality: dict[str, float] = Field(
        description="Heures comptées de la période par modalité de réalisation : `direct_hire` "
        "(embauche directe), `provision` (mise à disposition), `subcontracting` (sous-traitance). "
        "Les catégories vides sont absentes."
    )
    hours_by_employer_kind: dict[str, float] = Field(
        description="Heures comptées de la période par type de l'organisation employeuse : "
        "`standard`, `ei`, `aci`, `ai`, `etti`, `geiq`, `ea`, `esat`, `regie_quartier`, "
        f"`temp_agency`, {UNKNOWN_KEY}"
    )
    hours_by_company_size: dict[str, float] = Field(
        description="Heures comptées de la période par tranche d'effectif de l'entreprise "
        f"attributaire : `<10`, `10-49`, `50-249`, `250+`, {UNKNOWN_KEY}"
    )
    under_50_hours: float = Field(
        description="Heures comptées de la période sur les attributions d'entreprises de moins "
        "de 50 salariés (`<10` et `10-49`)."
    )
    under_50_share_percent: float | None = Field(
        description=f"Leur part des heures comptées de la période, {PERCENT_OF_COUNTED}"
    )
    anru: list[AnruPublic] = Field(
        description="La part ANRU de chaque famille soumise à un seuil (`investment`, `gup`) "
        "présente dans le périmètre ; vide sans obligation ANRU."
    )
    participants: PublicsPublic = Field(
        description="Les participants : personnes dont une mise en emploi démarrée du périmètre "
        "travaille dans la période, décrites par ce qu'a figé leur première mise en emploi du "
        "périmètre."
    )
    new_entrants: PublicsPublic = Field(
        description="Les nouveaux entrants : participants dont la première mise en emploi du "
        "périmètre a commencé dans la période."
    )
    targets: list[TargetPublic] = Field(
        description="Les cibles du territoire (part de femmes, de moins de 26 ans, de 50 ans et "
        "plus parmi les participants), quand l'instance en fixe ; vide sinon."
    )
    placements_by_contract_type: dict[str, int] = Field(
        description="Mises en emploi démarrées travaillant dans la période, par type de contrat "
        f"(`CDI`, `CDD`, `MIS`, `CDDI`…), {UNKNOWN_KEY}"
    )
    placements_by_length: dict[str, int] = Field(
        description="Les mêmes, par durée prévue : `under_1_month` (30 jours au plus), "
        "`1_to_6_months` (183 jours au plus), `6_to_12_months` (366 jours au plus), "
        "`over_12_months`, `open_ended` (sans date de fin)."
    )
    hours_per_participant: float | None = Field(
        description="Heures comptées de la période par participant (une décimale) ; `null` : "
        "aucun participant."
    )
    outcomes: dict[str, dict[str, int]] | None = Field(
        description="Situations à la sortie, à 6 et 12 mois (§8.5) ; null tant qu'aucune "
        "n'est enregistrée."
    )
    quarterly_note: NantesNotePublic = Field(
        description="La note trimestrielle aux acheteurs (trois chiffres) : heures de la "
        "maquette ANRU, heures écrites dans les marchés, heures réalisées par des habitants de QPV."
    )

    @classmethod
    def of(cls, p: Progress, *, rows: bool = True) -> ProgressPublic:
        """The report as a model; ``rows=False`` leaves its contracts, lots and companies
        empty (:func:`progress_json` writes them)."""

        def floats(values: dict[str, Decimal]) -> dict[str, float]:
            return {key: float(value) for key, value in sorted(values.items())}

        return cls(
            scope=ScopePublic(kind=p.scope.kind, id=p.scope.id, name=p.scope.name),
            period_start=p.period.start,
            period_end=p.period.end,
            as_of=p.as_of,
            total=HoursPublic.of(p.total),
            contracts=[row_fields(r) for r in p.contracts] if rows else [],
            lots=[row_fields(r) for r in p.lots] if rows else [],
            companies=[row_fields(r) for r in p.companies] if rows else [],
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


def progress_json(p: Progress) -> bytes:
    """The report as :class:`ProgressPublic`'s JSON, written straight from plain values: a
    territory's report has tens of thousands of rows (5,000 contracts, their lots and companies),
    which pydantic would validate field by field only to write them out unchanged (measured:
    validating and writing the rows took ten times as long as writing them). The rest of the
    report goes through the model, and the rows' fields are :func:`row_fields`, the model's own
    (a test compares both ways)."""
    document = ProgressPublic.of(p, rows=False).model_dump(mode="json")
    document["contracts"] = [row_fields(r) for r in p.contracts]
    document["lots"] = [row_fields(r) for r in p.lots]
    document["companies"] = [row_fields(r) for r in p.companies]
    return orjson.dumps(document, default=_uuid_text)


def _uuid_text(value: object) -> str:
    """Ids read by the database driver are its own kind of UUID, unknown to orjson."""
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(type(value).__name__)
