"""Clause progress as one flat table: a line per figure (level, row, indicator, category, value),
the shape the CSV and the XLSX share (decision 0079) and that a pivot table reads as it is.
Labels in French; codes (``indicator``, ``category``) as the JSON names them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from services.core.ledger.figures import Hours, Publics, Row
from services.core.ledger.progress import Progress
from services.core.models.attribution import ATTRIBUTION_ROLE_LABELS, AttributionRole
from services.core.models.candidate import Sex
from services.core.models.eligibility import ELIGIBILITY_KIND_LABELS, EligibilityKind
from services.core.models.obligation import ANRU_FAMILY_LABELS, MODALITY_LABELS, Modality
from services.core.models.offer import CONTRACT_TYPE_LABELS, ContractType
from services.core.models.organisation import COMPANY_KIND_LABELS, CompanyKind

Value = str | int | float | None

LEVEL_LABELS = {
    "total": "Total",
    "contract": "Marché",
    "lot": "Lot",
    "company": "Entreprise",
}

# The figures every row has (total, contracts, lots, companies), in the order people read them.
HOURS_INDICATORS: tuple[tuple[str, str], ...] = (
    ("hours_owed", "Heures dues"),
    ("counted_hours", "Heures réalisées comptées sur la période"),
    ("counted_hours_to_date", "Heures réalisées comptées à la fin de la période"),
    ("declared_not_validated", "Heures déclarées non validées"),
    ("rejected_hours", "Heures rejetées sur la période"),
    ("rate_percent", "Taux de réalisation (%)"),
    ("remaining_hours", "Heures restant dues"),
    ("expected_hours", "Heures attendues au rythme prévu"),
    ("behind_schedule", "En retard sur le rythme prévu"),
    ("qpv_hours", "Heures réalisées par des habitants des QPV"),
    ("qpv_share_percent", "Part des heures réalisée par des habitants des QPV (%)"),
    ("subcontracted_hours", "Heures réalisées en sous-traitance"),
    ("subcontracted_share_percent", "Part de la sous-traitance (%)"),
    ("penalty_exposure", "Pénalités encourues (€)"),
    ("statements_due", "Relevés attendus"),
    ("statements_received", "Relevés reçus"),
    ("statements_late", "Relevés en retard"),
    ("statements_missing", "Relevés manquants"),
)

SEX_LABELS = {Sex.FEMALE.value: "Femmes", Sex.MALE.value: "Hommes"}
AGE_LABELS = {"<26": "Moins de 26 ans", "26-49": "26 à 49 ans", "50+": "50 ans et plus"}
QUALIFICATION_LABELS = {
    "below_3": "Sans diplôme (infra 3)",
    "level_3": "Niveau 3 (CAP, BEP)",
    "level_4": "Niveau 4 (bac)",
    "level_5": "Niveau 5 (bac + 2)",
    "level_6_plus": "Niveau 6 et plus",
}
QPV_LABELS = {"true": "Habitants d'un QPV", "false": "Hors QPV"}
SIZE_LABELS = {
    "<10": "Moins de 10 salariés",
    "10-49": "10 à 49 salariés",
    "50-249": "50 à 249 salariés",
    "250+": "250 salariés et plus",
}
LENGTH_LABELS = {
    "under_1_month": "Un mois au plus",
    "1_to_6_months": "Un à six mois",
    "6_to_12_months": "Six à douze mois",
    "over_12_months": "Plus d'un an",
    "open_ended": "Sans date de fin",
}
PUBLIC_LABELS = {**SEX_LABELS, **AGE_LABELS}


def label(category: str) -> str:
    """A category's French label (modality, kind, criterion, bracket…); the code otherwise."""
    for enum, labels in (
        (Modality, MODALITY_LABELS),
        (CompanyKind, COMPANY_KIND_LABELS),
        (EligibilityKind, ELIGIBILITY_KIND_LABELS),
        (ContractType, CONTRACT_TYPE_LABELS),
        (AttributionRole, ATTRIBUTION_ROLE_LABELS),
    ):
        if category in enum._value2member_map_:
            return labels[enum(category)]  # type: ignore[index]
    for mapping in (AGE_LABELS, QUALIFICATION_LABELS, QPV_LABELS, SIZE_LABELS, LENGTH_LABELS):
        if category in mapping:
            return mapping[category]
    if category in SEX_LABELS:
        return SEX_LABELS[category]
    return "Non renseigné" if category == "unknown" else category


def value(raw: Decimal | int | bool | None) -> Value:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "oui" if raw else "non"
    if isinstance(raw, Decimal):
        return float(raw)
    return raw


def hours_value(hours: Hours, indicator: str) -> Decimal | int | bool | None:
    figure: Decimal | int | bool | None = getattr(hours, indicator)
    return figure


@dataclass(frozen=True)
class Line:
    level: str
    row_id: str | None
    name: str
    indicator: str
    indicator_label: str
    category: str | None
    category_label: str | None
    value: Value


COLUMNS: tuple[tuple[str, str], ...] = (
    ("level", "Niveau"),
    ("row_id", "Identifiant"),
    ("name", "Nom"),
    ("indicator_label", "Indicateur"),
    ("indicator", "Code de l'indicateur"),
    ("category_label", "Catégorie"),
    ("category", "Code de la catégorie"),
    ("value", "Valeur"),
)


def _hours_lines(level: str, row: Row | None, hours: Hours, scope_name: str) -> Iterator[Line]:
    row_id = str(row.id) if row else None
    name = row.name if row else scope_name
    for indicator, indicator_label in HOURS_INDICATORS:
        yield Line(
            LEVEL_LABELS[level],
            row_id,
            name,
            indicator,
            indicator_label,
            None,
            None,
            value(hours_value(hours, indicator)),
        )


def _breakdown(
    name: str, indicator: str, indicator_label: str, counts: dict[str, Decimal] | dict[str, int]
) -> Iterator[Line]:
    for category in sorted(counts):
        yield Line(
            LEVEL_LABELS["total"],
            None,
            name,
            indicator,
            indicator_label,
            category,
            label(category),
            value(counts[category]),
        )


def _publics(name: str, prefix: str, prefix_label: str, publics: Publics) -> Iterator[Line]:
    yield from _breakdown(name, prefix, prefix_label, {"all": publics.total})
    for dimension, dimension_label in (
        ("sex", "par sexe"),
        ("age_bracket", "par âge"),
        ("criterion", "par critère d'éligibilité"),
        ("qualification", "par niveau de qualification"),
        ("qpv", "par résidence en QPV"),
    ):
        counts: dict[str, int] = getattr(publics, f"by_{dimension}")
        yield from _breakdown(
            name, f"{prefix}_by_{dimension}", f"{prefix_label} {dimension_label}", counts
        )


def lines(progress: Progress) -> Iterator[Line]:
    """Every figure of the report, the scope's total first."""
    name = progress.scope.name
    yield from _hours_lines("total", None, progress.total, name)
    total = (
        ("hours_by_modality", "Heures comptées par modalité", progress.by_modality),
        (
            "hours_by_employer_kind",
            "Heures comptées par type d'employeur",
            progress.by_employer_kind,
        ),
        (
            "hours_by_company_size",
            "Heures comptées par taille d'entreprise",
            progress.by_company_size,
        ),
    )
    for indicator, indicator_label, counts in total:
        yield from _breakdown(name, indicator, indicator_label, counts)
    singles: tuple[tuple[str, str, Decimal | int | None], ...] = (
        (
            "under_50_hours",
            "Heures réalisées dans des entreprises de moins de 50 salariés",
            progress.under_50_hours,
        ),
        (
            "under_50_share_percent",
            "Part des entreprises de moins de 50 salariés (%)",
            progress.under_50_share_percent,
        ),
        (
            "hours_per_participant",
            "Heures comptées par participant",
            progress.hours_per_participant,
        ),
        ("budget_plan_hours", "Heures inscrites dans la maquette ANRU", progress.budget_plan_hours),
        ("contract_hours", "Heures inscrites dans les marchés", progress.total.hours_owed),
        (
            "qpv_hours_to_date",
            "Heures réalisées par des habitants des QPV (à la fin de la période)",
            progress.qpv_hours_to_date,
        ),
    )
    for indicator, indicator_label, figure in singles:
        yield Line(
            LEVEL_LABELS["total"], None, name, indicator, indicator_label, None, None, value(figure)
        )
    for share in progress.anru:
        family = share.family.value
        for indicator, indicator_label, figure in (
            ("anru_insertion_hours", "ANRU : heures d'insertion", share.insertion_hours),
            ("anru_hours_worked", "ANRU : heures travaillées déclarées", share.hours_worked),
            ("anru_share_percent", "ANRU : part des heures travaillées (%)", share.share_percent),
            ("anru_threshold_percent", "ANRU : seuil (%)", share.threshold_percent),
            ("anru_met", "ANRU : seuil atteint", share.met),
        ):
            yield Line(
                LEVEL_LABELS["total"],
                None,
                name,
                indicator,
                indicator_label,
                family,
                ANRU_FAMILY_LABELS[share.family],
                value(figure),
            )
    yield from _publics(name, "participants", "Participants", progress.participants)
    yield from _publics(name, "new_entrants", "Nouveaux entrants", progress.new_entrants)
    for target in progress.targets:
        public_label = PUBLIC_LABELS.get(target.public, target.public)
        for indicator, indicator_label, figure in (
            (
                "target_percent",
                "Objectif du territoire (% des participants)",
                target.target_percent,
            ),
            ("target_share_percent", "Part atteinte (% des participants)", target.share_percent),
            ("target_met", "Objectif atteint", target.met),
        ):
            yield Line(
                LEVEL_LABELS["total"],
                None,
                name,
                indicator,
                indicator_label,
                target.public,
                public_label,
                value(figure),
            )
    yield from _breakdown(
        name,
        "placements_by_contract_type",
        "Contrats par type",
        progress.placements_by_contract_type,
    )
    yield from _breakdown(
        name, "placements_by_length", "Contrats par durée", progress.placements_by_length
    )
    for level, rows in (
        ("contract", progress.contracts),
        ("lot", progress.lots),
        ("company", progress.companies),
    ):
        for row in rows:
            yield from _hours_lines(level, row, row.hours, name)
