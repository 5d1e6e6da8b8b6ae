from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.api.candidates.residence import (
    QPV_DECLARED,
    QPV_DECLARED_CODE,
    UNDECLARED_CODE,
    UNPAIRED,
    Address,
    Latitude,
    Longitude,
    QpvCode,
)
from services.api.patch import refuse_null
from services.api.validation import (
    BirthYear,
    Day,
    InvalidValue,
    NotBoolean,
    PastDay,
    insee_code,
    today,
)
from services.core.contact import InvalidContact, normalise_email, normalise_phone
from services.core.models.candidate import (
    CANDIDATE_STATUS_LABELS,
    MAX_HOURS_PER_WEEK,
    NEED_LABELS,
    Candidate,
    CandidateStatus,
    Need,
    QpvMethod,
    QpvStatus,
    Sex,
)
from services.core.models.eligibility import (
    ELIGIBILITY_KIND_LABELS,
    EligibilityCriterion,
    EligibilityKind,
)
from services.core.referentials.sectors import SectorCode

_ROME = re.compile(r"^[A-N]\d{4}$")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
OtherText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[
    str, Field(max_length=40, description="Numéro français, outre-mer compris : 06 12 34 56 78.")
]
Email = Annotated[str, Field(max_length=254)]
CommuneInsee = Annotated[str, Field(max_length=5, description="Code INSEE de la commune.")]
Sectors = Annotated[list[SectorCode], Field(max_length=8)]
Needs = Annotated[list[Need], Field(max_length=4)]
RomeWishes = Annotated[list[str], Field(max_length=20, description="Codes ROME v4 souhaités.")]
HoursPerWeek = Annotated[int, Field(gt=0, le=MAX_HOURS_PER_WEEK), NotBoolean]
Radius = Annotated[int, Field(ge=0, le=500, description="Rayon de mobilité en km."), NotBoolean]


def phone_or_none(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalise_phone(value)
    except InvalidContact as error:
        raise InvalidValue(str(error)) from None


def email_or_none(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalise_email(value)
    except InvalidContact as error:
        raise InvalidValue(str(error)) from None


def _rome_codes(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    codes: list[str] = []
    for value in values:
        code = value.strip().upper()
        if not _ROME.match(code):
            raise InvalidValue("code ROME invalide (une lettre de A à N et 4 chiffres, ex. F1703)")
        if code not in codes:
            codes.append(code)
    return codes


def _unique(values: list[Any] | None) -> list[Any] | None:
    return None if values is None else list(dict.fromkeys(values))


class _CandidateFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Phone | None = None
    email: Email | None = None
    commune_insee: CommuneInsee | None = None
    address: Address | None = None
    lon: Longitude | None = None
    lat: Latitude | None = None
    qpv_declared: bool | None = Field(default=None, description=QPV_DECLARED)
    qpv_declared_code: QpvCode | None = Field(default=None, description=QPV_DECLARED_CODE)
    sectors_worked: Sectors | None = None
    sectors_worked_other: OtherText | None = None
    sectors_wanted: Sectors | None = None
    sectors_wanted_other: OtherText | None = None
    needs: Needs | None = None
    rome_wishes: RomeWishes | None = None
    available_from: Day | None = None
    hours_per_week: HoursPerWeek | None = None
    mobility_radius_km: Radius | None = None
    has_driving_licence: bool | None = None
    has_vehicle: bool | None = None
    sex: Sex | None = None
    birth_year: BirthYear | None = None
    referent_organisation_id: uuid.UUID | None = None
    referent_prescriber_id: uuid.UUID | None = None

    _phone = field_validator("phone")(phone_or_none)
    _email = field_validator("email")(email_or_none)
    _commune = field_validator("commune_insee")(insee_code)
    _rome = field_validator("rome_wishes")(_rome_codes)
    _lists = field_validator("sectors_worked", "sectors_wanted", "needs")(_unique)

    @model_validator(mode="after")
    def _paired_coordinates(self) -> Self:
        if (self.lon is None) != (self.lat is None):
            raise InvalidValue(UNPAIRED)
        return self

    @model_validator(mode="after")
    def _declared_code(self) -> Self:
        if self.qpv_declared_code is not None:
            if self.qpv_declared is False:
                raise InvalidValue(UNDECLARED_CODE)
            self.qpv_declared = True
        return self


class CandidateCreate(_CandidateFields):
    """A person. If a candidate with the same phone number or e-mail address exists, it is found
    again (and shared with the caller's organisation) instead of being created twice."""

    first_name: Name
    last_name: Name


class CandidateUpdate(_CandidateFields):
    """Only the fields sent change; ``null`` clears an optional field."""

    first_name: Name | None = None
    last_name: Name | None = None
    status: CandidateStatus | None = Field(
        default=None, description="`anonymised` s'obtient par DELETE, pas ici."
    )

    _not_null = field_validator(
        "first_name",
        "last_name",
        "status",
        "sectors_worked",
        "sectors_wanted",
        "needs",
        "rome_wishes",
    )(refuse_null)

    @field_validator("status")
    @classmethod
    def _not_anonymised(cls, value: CandidateStatus | None) -> CandidateStatus | None:
        if value is CandidateStatus.ANONYMISED:
            raise InvalidValue("l'anonymisation se fait par DELETE /v1/candidates/{id}")
        return value


class CandidateSearch(BaseModel):
    """Search in a request body: names, numbers and addresses never travel in URLs."""

    model_config = ConfigDict(extra="forbid")

    q: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=2, max_length=200),
        Field(description="Nom et/ou prénom (début de mot), téléphone ou e-mail."),
    ]
    status: CandidateStatus | None = None


class CandidatePublic(BaseModel):
    id: uuid.UUID
    first_name: str | None
    last_name: str | None
    phone: str | None
    email: str | None
    commune_insee: str | None
    address: str | None
    lon: float | None
    lat: float | None
    qpv_status: QpvStatus
    qpv_code: str | None
    qpv_method: QpvMethod | None
    geocoding_score: float | None
    qpv_polygon_version: str | None
    qpv_checked_at: datetime | None
    qpv_near_boundary: bool
    qpv_declared: bool | None
    qpv_declared_code: str | None
    sectors_worked: list[SectorCode]
    sectors_worked_other: str | None
    sectors_wanted: list[SectorCode]
    sectors_wanted_other: str | None
    needs: list[Need]
    need_labels: list[str]
    rome_wishes: list[str]
    available_from: date | None
    hours_per_week: int | None
    mobility_radius_km: int | None
    has_driving_licence: bool | None
    has_vehicle: bool | None
    sex: Sex | None
    birth_year: int | None
    status: CandidateStatus
    status_label: str
    referent_organisation_id: uuid.UUID | None
    referent_prescriber_id: uuid.UUID | None
    last_activity_at: datetime
    anonymised_at: datetime | None
    merged_into_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, candidate: Candidate) -> CandidatePublic:
        return cls(
            **{
                name: getattr(candidate, name)
                for name in cls.model_fields
                if name not in {"phone", "need_labels", "status_label"}
            },
            phone=candidate.phone_e164,
            need_labels=[NEED_LABELS[need] for need in candidate.needs],
            status_label=CANDIDATE_STATUS_LABELS[candidate.status],
        )


class CandidateSaved(CandidatePublic):
    """``matched_existing``: the person was already known to the caller's organisations (same
    phone or e-mail; decision 0044) and is now shared with the caller's organisation; nothing was
    created."""

    matched_existing: bool


class EligibilityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: EligibilityKind
    sensitive: bool = Field(
        default=False,
        description="Donnée sensible (toujours vrai pour TH ; à cocher pour une situation "
        "judiciaire). Exige la permission `sensitive_data`.",
    )
    validated_on: PastDay | None = Field(
        default=None, description="Date de validation ; par défaut, aujourd'hui."
    )
    expires_on: Day | None = None
    comment: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
        | None
    ) = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        # Without a validation date, the criterion is validated today (the database checks the
        # order again: a 500 otherwise).
        validated_on = self.validated_on or today()
        if self.expires_on is not None and self.expires_on < validated_on:
            raise InvalidValue(
                "la date d'expiration précède la date de validation"
                + ("" if self.validated_on else " (aujourd'hui, par défaut)")
            )
        return self


class EligibilityPublic(BaseModel):
    id: uuid.UUID
    candidate_id: uuid.UUID
    kind: EligibilityKind
    kind_label: str
    sensitive: bool
    validated_on: date | None
    validated_by_user_id: uuid.UUID | None
    expires_on: date | None
    comment: str | None
    created_at: datetime

    @classmethod
    def of(cls, criterion: EligibilityCriterion) -> EligibilityPublic:
        return cls(
            id=criterion.id,
            candidate_id=criterion.candidate_id,
            kind=criterion.kind,
            kind_label=ELIGIBILITY_KIND_LABELS[criterion.kind],
            sensitive=criterion.sensitive,
            validated_on=criterion.validated_on,
            validated_by_user_id=criterion.validated_by_user_id,
            expires_on=criterion.expires_on,
            comment=criterion.comment,
            created_at=criterion.created_at,
        )


class DuplicateGroup(BaseModel):
    """Candidates with the same name (accents and case ignored) in the same commune."""

    commune_insee: str | None
    candidates: list[CandidatePublic]


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duplicate_id: uuid.UUID = Field(
        description="Le doublon : ses dépôts, partages et critères passent sur le candidat "
        "conservé, puis il est anonymisé."
    )
