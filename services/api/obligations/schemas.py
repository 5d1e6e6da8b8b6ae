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

from services.api.obligations.descriptions import (
    ALLOWED_MODALITIES,
    ANRU_FAMILY,
    BUDGET_PLAN_LINE,
    CDI_CAP_YEARS,
    ELIGIBLE_PUBLICS,
    FIXED_HOURS,
    HOURS_PER_YEAR,
    HOURS_SHARE,
    INSERTION_RATE,
    LABOUR_SHARE,
    METHOD,
    NOT_THIS_METHOD,
    PENALTY,
    STATEMENT_DUE_DAY,
    STATEMENT_SCHEDULE,
    TRAINING_COUNTS,
    TRANCHE_AMOUNT,
    TRANCHE_THRESHOLD,
)
from services.api.patch import refuse_null
from services.api.validation import Day, NotBoolean
from services.core.models.eligibility import EligibilityKind
from services.core.models.obligation import (
    ANRU_FAMILY_LABELS,
    OBLIGATION_METHOD_LABELS,
    AnruFamily,
    Modality,
    Obligation,
    ObligationDeclaration,
    ObligationMethod,
    StatementSchedule,
)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def _percent_digits(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"))


Hours = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2), AfterValidator(_cents)]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2), AfterValidator(_cents)]
PositiveMoney = Annotated[
    Decimal, Field(gt=0, max_digits=14, decimal_places=2), AfterValidator(_cents)
]
Percent = Annotated[
    Decimal,
    Field(ge=0, le=100, max_digits=7, decimal_places=4, description="En pourcentage (0 à 100)."),
    AfterValidator(_percent_digits),
]
CapYears = Annotated[int, Field(ge=1, le=50), NotBoolean]
DueDay = Annotated[int, Field(ge=1, le=28), NotBoolean]
PlanLine = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]

# The parameters each method needs (the others must be left out).
METHOD_PARAMETERS: dict[ObligationMethod, tuple[str, ...]] = {
    ObligationMethod.FIXED_HOURS: ("fixed_hours",),
    ObligationMethod.LABOUR_SHARE: (
        "amount",
        "labour_share_percent",
        "insertion_rate_percent",
        "hourly_cost",
    ),
    ObligationMethod.PER_INVOICED_TRANCHE: ("tranche_amount", "tranche_threshold"),
    ObligationMethod.SHARE_OF_HOURS_WORKED: ("hours_share_percent",),
    ObligationMethod.HOURS_PER_YEAR: ("hours_per_year",),
}
PARAMETERS: tuple[str, ...] = tuple(p for ps in METHOD_PARAMETERS.values() for p in ps)


class _Rules(BaseModel):
    fixed_hours: Hours | None = None
    amount: Money | None = Field(default=None, description="Montant du marché en euros HT.")
    labour_share_percent: Percent | None = None
    insertion_rate_percent: Percent | None = None
    hourly_cost: PositiveMoney | None = Field(default=None, description="Coût horaire (€/h).")
    tranche_amount: PositiveMoney | None = None
    tranche_threshold: Money | None = None
    hours_share_percent: Percent | None = None
    hours_per_year: Hours | None = None


class ObligationCreate(_Rules):
    """The obligation of a lot (``lot_id``), or of the contract when it has no lots."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "L'obligation d'insertion d'un lot (`lot_id`), ou du marché s'il n'a "
            "pas de lots.",
            "examples": [
                {
                    "lot_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0d01",
                    "method": "labour_share",
                    "amount": "1200000.00",
                    "labour_share_percent": "40",
                    "insertion_rate_percent": "5",
                    "hourly_cost": "30.00",
                    "eligible_publics": ["DELD", "RSA", "JEUNE", "QPV_resident"],
                    "allowed_modalities": ["direct_hire", "provision"],
                    "penalty_per_missing_hour": "50.00",
                    "statement_schedule": "quarterly",
                    "statement_due_day": 15,
                }
            ],
        },
    )

    fixed_hours: Hours | None = Field(default=None, description=FIXED_HOURS)
    labour_share_percent: Percent | None = Field(default=None, description=LABOUR_SHARE)
    insertion_rate_percent: Percent | None = Field(default=None, description=INSERTION_RATE)
    tranche_amount: PositiveMoney | None = Field(default=None, description=TRANCHE_AMOUNT)
    tranche_threshold: Money | None = Field(default=None, description=TRANCHE_THRESHOLD)
    hours_share_percent: Percent | None = Field(default=None, description=HOURS_SHARE)
    hours_per_year: Hours | None = Field(default=None, description=HOURS_PER_YEAR)
    lot_id: uuid.UUID | None = Field(
        default=None,
        description="Le lot du marché dont c'est l'obligation : obligatoire si le marché a des "
        "lots, absent s'il n'en a pas.",
    )
    method: ObligationMethod = Field(
        description=f"{METHOD} Ses paramètres sont obligatoires, ceux des autres méthodes refusés."
    )
    eligible_publics: list[EligibilityKind] = Field(
        default_factory=list, max_length=20, description=f"{ELIGIBLE_PUBLICS} Par défaut vide."
    )
    allowed_modalities: list[Modality] = Field(
        default_factory=lambda: list(Modality),
        min_length=1,
        max_length=3,
        description=f"{ALLOWED_MODALITIES} Par défaut, les trois.",
    )
    training_counts: bool = Field(default=False, description=TRAINING_COUNTS)
    cdi_cap_years: CapYears | None = Field(
        default=None, description=f"{CDI_CAP_YEARS} Absent : sans plafond."
    )
    penalty_per_missing_hour: Money | None = Field(
        default=None, description=f"{PENALTY} Absente : pas de pénalité prévue."
    )
    anru_family: AnruFamily = Field(
        default=AnruFamily.NONE, description=f"{ANRU_FAMILY} Par défaut `none`."
    )
    budget_plan_line: PlanLine | None = Field(
        default=None, description=f"{BUDGET_PLAN_LINE} Absente : hors maquette."
    )
    statement_schedule: StatementSchedule = Field(
        default=StatementSchedule.QUARTERLY, description=STATEMENT_SCHEDULE
    )
    statement_due_day: DueDay = Field(default=15, description=STATEMENT_DUE_DAY)


class ObligationUpdate(_Rules):
    """Only the fields sent change; a parameter sent as ``null`` is removed. Changing the method
    needs its parameters."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Seuls les champs envoyés changent ; un paramètre envoyé à `null` est "
            "retiré. Changer de méthode exige les paramètres de la nouvelle.",
            "examples": [
                {
                    "method": "labour_share",
                    "amount": "1000000.00",
                    "labour_share_percent": "50",
                    "insertion_rate_percent": "5",
                    "hourly_cost": "30.00",
                    "penalty_per_missing_hour": "200.00",
                }
            ],
        },
    )

    fixed_hours: Hours | None = Field(
        default=None, description=f"{FIXED_HOURS} `null` retire le paramètre."
    )
    labour_share_percent: Percent | None = Field(
        default=None, description=f"{LABOUR_SHARE} `null` retire le paramètre."
    )
    insertion_rate_percent: Percent | None = Field(
        default=None, description=f"{INSERTION_RATE} `null` retire le paramètre."
    )
    tranche_amount: PositiveMoney | None = Field(
        default=None, description=f"{TRANCHE_AMOUNT} `null` retire le paramètre."
    )
    tranche_threshold: Money | None = Field(
        default=None, description=f"{TRANCHE_THRESHOLD} `null` retire le paramètre."
    )
    hours_share_percent: Percent | None = Field(
        default=None, description=f"{HOURS_SHARE} `null` retire le paramètre."
    )
    hours_per_year: Hours | None = Field(
        default=None, description=f"{HOURS_PER_YEAR} `null` retire le paramètre."
    )
    method: ObligationMethod | None = Field(
        default=None,
        description=f"{METHOD} Une nouvelle méthode exige ses paramètres (envoyés ou déjà "
        "saisis) ; ceux de l'ancienne sont retirés s'ils ne sont pas renvoyés.",
    )
    eligible_publics: list[EligibilityKind] | None = Field(
        default=None, max_length=20, description=f"{ELIGIBLE_PUBLICS} Remplace toute la liste."
    )
    allowed_modalities: list[Modality] | None = Field(
        default=None,
        min_length=1,
        max_length=3,
        description=f"{ALLOWED_MODALITIES} Remplace toute la liste.",
    )
    training_counts: bool | None = Field(default=None, description=TRAINING_COUNTS)
    cdi_cap_years: CapYears | None = Field(
        default=None, description=f"{CDI_CAP_YEARS} `null` retire le plafond."
    )
    penalty_per_missing_hour: Money | None = Field(
        default=None, description=f"{PENALTY} `null` retire la pénalité."
    )
    anru_family: AnruFamily | None = Field(default=None, description=ANRU_FAMILY)
    budget_plan_line: PlanLine | None = Field(
        default=None, description=f"{BUDGET_PLAN_LINE} `null` l'efface."
    )
    statement_schedule: StatementSchedule | None = Field(
        default=None, description=STATEMENT_SCHEDULE
    )
    statement_due_day: DueDay | None = Field(default=None, description=STATEMENT_DUE_DAY)

    _not_null = field_validator(
        "method",
        "eligible_publics",
        "allowed_modalities",
        "training_counts",
        "anru_family",
        "statement_schedule",
        "statement_due_day",
    )(refuse_null)


class ObligationPublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    contract_id: uuid.UUID = Field(description="Le marché.")
    lot_id: uuid.UUID | None = Field(
        description="Le lot ; `null` : l'obligation d'un marché sans lots."
    )
    method: ObligationMethod = Field(description=METHOD)
    method_label: str = Field(description="La méthode de calcul en toutes lettres, en français.")
    fixed_hours: Decimal | None = Field(description=f"{FIXED_HOURS} {NOT_THIS_METHOD}")
    amount: Decimal | None = Field(
        description=f"Méthode `labour_share` : montant du marché, en euros HT. {NOT_THIS_METHOD}"
    )
    labour_share_percent: Decimal | None = Field(description=f"{LABOUR_SHARE} {NOT_THIS_METHOD}")
    insertion_rate_percent: Decimal | None = Field(
        description=f"{INSERTION_RATE} {NOT_THIS_METHOD}"
    )
    hourly_cost: Decimal | None = Field(
        description="Méthode `labour_share` : coût horaire de la main-d'œuvre, en euros par "
        f"heure. {NOT_THIS_METHOD}"
    )
    tranche_amount: Decimal | None = Field(description=f"{TRANCHE_AMOUNT} {NOT_THIS_METHOD}")
    tranche_threshold: Decimal | None = Field(description=f"{TRANCHE_THRESHOLD} {NOT_THIS_METHOD}")
    hours_share_percent: Decimal | None = Field(description=f"{HOURS_SHARE} {NOT_THIS_METHOD}")
    hours_per_year: Decimal | None = Field(description=f"{HOURS_PER_YEAR} {NOT_THIS_METHOD}")
    hours_owed: Decimal = Field(
        description="Heures dues, déduites des paramètres et des déclarations (décision 0074)."
    )
    eligible_publics: list[str] = Field(
        description=f"{ELIGIBLE_PUBLICS} Par ordre alphabétique des codes."
    )
    allowed_modalities: list[Modality] = Field(
        description=f"{ALLOWED_MODALITIES} Par ordre alphabétique."
    )
    training_counts: bool = Field(description=TRAINING_COUNTS)
    cdi_cap_years: int | None = Field(description=f"{CDI_CAP_YEARS} `null` : sans plafond.")
    penalty_per_missing_hour: Decimal | None = Field(
        description=f"{PENALTY} `null` : pas de pénalité prévue."
    )
    anru_family: AnruFamily = Field(description=ANRU_FAMILY)
    anru_family_label: str = Field(description="La famille ANRU en toutes lettres, en français.")
    budget_plan_line: str | None = Field(description=f"{BUDGET_PLAN_LINE} `null` : hors maquette.")
    statement_schedule: StatementSchedule = Field(description=STATEMENT_SCHEDULE)
    statement_due_day: int = Field(description=STATEMENT_DUE_DAY)
    created_at: datetime = Field(description="Date et heure de création.")
    updated_at: datetime = Field(description="Date et heure de la dernière modification.")

    @classmethod
    def of(cls, o: Obligation) -> ObligationPublic:
        return cls(
            id=o.id,
            contract_id=o.contract_id,
            lot_id=o.lot_id,
            method=o.method,
            method_label=OBLIGATION_METHOD_LABELS[o.method],
            **{name: getattr(o, name) for name in PARAMETERS},
            hours_owed=o.hours_owed,
            eligible_publics=sorted(o.eligible_publics),
            allowed_modalities=sorted(o.allowed_modalities),
            training_counts=o.training_counts,
            cdi_cap_years=o.cdi_cap_years,
            penalty_per_missing_hour=o.penalty_per_missing_hour,
            anru_family=o.anru_family,
            anru_family_label=ANRU_FAMILY_LABELS[o.anru_family],
            budget_plan_line=o.budget_plan_line,
            statement_schedule=o.statement_schedule,
            statement_due_day=o.statement_due_day,
            created_at=o.created_at,
            updated_at=o.updated_at,
        )


class DeclarationIn(BaseModel):
    """What was worked and invoiced on the operation over one period (sent again for the same
    ``period_start``: replaces it)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Ce qui a été travaillé et facturé sur l'opération pendant une période "
            "; renvoyée pour le même `period_start`, la déclaration remplace la précédente.",
            "examples": [
                {
                    "period_start": "2026-01-01",
                    "period_end": "2026-03-31",
                    "hours_worked": "18450.00",
                    "amount_invoiced": "1240000.00",
                }
            ],
        },
    )

    period_start: Day = Field(
        description="Premier jour de la période (AAAA-MM-JJ). Une déclaration du même premier "
        "jour remplace la précédente."
    )
    period_end: Day = Field(
        description="Dernier jour de la période (AAAA-MM-JJ), pas avant son premier jour."
    )
    hours_worked: Hours | None = Field(
        default=None,
        description="Heures travaillées sur l'opération dans la période, par tous (salariés en "
        "insertion ou non) : elles font les heures dues de la méthode `share_of_hours_worked` et "
        "la part ANRU. Avec `amount_invoiced`, au moins l'un des deux.",
    )
    amount_invoiced: Money | None = Field(
        default=None,
        description="Montant facturé dans la période, en euros HT : il fait les heures dues de "
        "la méthode `per_invoiced_tranche`. Avec `hours_worked`, au moins l'un des deux.",
    )


class DeclarationPublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    obligation_id: uuid.UUID = Field(description="L'obligation.")
    period_start: date = Field(description="Premier jour de la période.")
    period_end: date = Field(description="Dernier jour de la période.")
    hours_worked: Decimal | None = Field(
        description="Heures travaillées sur l'opération dans la période, par tous ; `null` : "
        "non déclarées."
    )
    amount_invoiced: Decimal | None = Field(
        description="Montant facturé dans la période, en euros HT ; `null` : non déclaré."
    )
    declared_at: datetime | None = Field(
        description="Date et heure de la dernière déclaration de cette période."
    )

    @classmethod
    def of(cls, d: ObligationDeclaration) -> DeclarationPublic:
        return cls(
            id=d.id,
            obligation_id=d.obligation_id,
            period_start=d.period_start,
            period_end=d.period_end,
            hours_worked=d.hours_worked,
            amount_invoiced=d.amount_invoiced,
            declared_at=d.declared_at,
        )
