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
from services.api.validation import Day
from services.core.models.candidate import Candidate, Sex
from services.core.models.obligation import MODALITY_LABELS, Modality
from services.core.models.offer import ContractType
from services.core.models.placement import (
    PLACEMENT_STATUS_LABELS,
    AgeBracket,
    Placement,
    PlacementStatus,
    QualificationLevel,
)


def _tenth(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"))


WeeklyHours = Annotated[
    Decimal, Field(gt=0, le=48, max_digits=4, decimal_places=1), AfterValidator(_tenth)
]
RomeCode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Na-n]\d{4}$")
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]


class PlacementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidate_id: uuid.UUID = Field(description="Le participant.")
    employer_id: uuid.UUID | None = Field(
        default=None,
        description="L'organisation employeuse ; par défaut l'entreprise attributaire.",
    )
    modality: Modality = Modality.DIRECT_HIRE
    contract_type: ContractType | None = None
    rome_code: RomeCode | None = None
    start_date: Day
    end_date: Day | None = None
    weekly_hours: WeeklyHours | None = None
    qualification_level: QualificationLevel | None = None


class PlacementUpdate(BaseModel):
    """Only the fields sent change. The employer, modality, start date and qualification are
    frozen once the placement has started."""

    model_config = ConfigDict(extra="forbid")

    employer_id: uuid.UUID | None = None
    modality: Modality | None = None
    contract_type: ContractType | None = None
    rome_code: RomeCode | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    weekly_hours: WeeklyHours | None = None
    qualification_level: QualificationLevel | None = None

    _not_null = field_validator("employer_id", "modality", "start_date")(refuse_null)


class PlacementException(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="Motif de la dérogation (sans donnée sensible).")


class Participant(BaseModel):
    id: uuid.UUID
    first_name: str | None
    last_name: str | None


class PlacementPublic(BaseModel):
    id: uuid.UUID
    participant: Participant
    attribution_id: uuid.UUID
    employer_id: uuid.UUID
    match_id: uuid.UUID | None
    modality: Modality
    modality_label: str
    contract_type: ContractType | None
    rome_code: str | None
    start_date: date
    end_date: date | None
    weekly_hours: Decimal | None
    status: PlacementStatus
    status_label: str
    frozen_at: datetime | None
    eligibility_criteria: list[str]
    qpv_resident: bool | None
    age_bracket: AgeBracket | None
    sex: Sex | None
    qualification_level: QualificationLevel | None
    eligibility_flagged: bool = Field(
        description="Aucun critère d'éligibilité validé au démarrage : ses heures ne comptent "
        "qu'une fois acceptées en dérogation."
    )
    exception_reason: str | None
    exception_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Placement, candidate: Candidate) -> PlacementPublic:
        return cls(
            id=p.id,
            participant=Participant(
                id=candidate.id, first_name=candidate.first_name, last_name=candidate.last_name
            ),
            attribution_id=p.attribution_id,
            employer_id=p.employer_id,
            match_id=p.match_id,
            modality=p.modality,
            modality_label=MODALITY_LABELS[p.modality],
            contract_type=p.contract_type,
            rome_code=p.rome_code,
            start_date=p.start_date,
            end_date=p.end_date,
            weekly_hours=p.weekly_hours,
            status=p.status,
            status_label=PLACEMENT_STATUS_LABELS[p.status],
            frozen_at=p.frozen_at,
            eligibility_criteria=list(p.eligibility_criteria),
            qpv_resident=p.qpv_resident,
            age_bracket=p.age_bracket,
            sex=p.sex,
            qualification_level=p.qualification_level,
            eligibility_flagged=p.eligibility_flagged,
            exception_reason=p.exception_reason,
            exception_at=p.exception_at,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )
