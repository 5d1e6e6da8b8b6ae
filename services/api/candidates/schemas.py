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

from services.api.candidates import texts
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

    phone: Phone | None = Field(default=None, description=texts.PHONE + texts.CLEARED)
    email: Email | None = Field(default=None, description=texts.EMAIL + texts.CLEARED)
    commune_insee: CommuneInsee | None = Field(
        default=None, description=texts.COMMUNE + texts.CLEARED
    )
    address: Address | None = Field(default=None, description=texts.ADDRESS + texts.CLEARED)
    lon: Longitude | None = Field(default=None, description=texts.LON + texts.CLEARED_POINT)
    lat: Latitude | None = Field(default=None, description=texts.LAT + texts.CLEARED_POINT)
    qpv_declared: bool | None = Field(default=None, description=QPV_DECLARED)
    qpv_declared_code: QpvCode | None = Field(default=None, description=QPV_DECLARED_CODE)
    sectors_worked: Sectors | None = Field(default=None, description=texts.SECTORS_WORKED)
    sectors_worked_other: OtherText | None = Field(
        default=None, description=texts.SECTORS_WORKED_OTHER + texts.CLEARED
    )
    sectors_wanted: Sectors | None = Field(default=None, description=texts.SECTORS_WANTED)
    sectors_wanted_other: OtherText | None = Field(
        default=None, description=texts.SECTORS_WANTED_OTHER + texts.CLEARED
    )
    needs: Needs | None = Field(default=None, description=texts.NEEDS)
    rome_wishes: RomeWishes | None = Field(default=None, description=texts.ROME_WISHES)
    available_from: Day | None = Field(
        default=None, description=texts.AVAILABLE_FROM + texts.CLEARED
    )
    hours_per_week: HoursPerWeek | None = Field(
        default=None, description=texts.HOURS_PER_WEEK + texts.CLEARED
    )
    mobility_radius_km: Radius | None = Field(
        default=None, description=texts.RADIUS + texts.CLEARED
    )
    has_driving_licence: bool | None = Field(
        default=None, description=texts.DRIVING_LICENCE + texts.CLEARED
    )
    has_vehicle: bool | None = Field(default=None, description=texts.VEHICLE + texts.CLEARED)
    sex: Sex | None = Field(default=None, description=texts.SEX + texts.CLEARED)
    birth_year: BirthYear | None = Field(default=None, description=texts.BIRTH_YEAR + texts.CLEARED)
    referent_organisation_id: uuid.UUID | None = Field(
        default=None, description=texts.REFERENT_ORGANISATION + texts.CLEARED
    )
    referent_prescriber_id: uuid.UUID | None = Field(
        default=None, description=texts.REFERENT_PRESCRIBER + texts.CLEARED
    )

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

    model_config = ConfigDict(
        json_schema_extra={
            "description": texts.CREATE,
            "examples": [texts.CREATE_EXAMPLE],
        }
    )

    first_name: Name = Field(description=texts.FIRST_NAME)
    last_name: Name = Field(description=texts.LAST_NAME)


class CandidateUpdate(_CandidateFields):
    """Only the fields sent change; ``null`` clears an optional field."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": texts.UPDATE,
            "examples": [texts.UPDATE_EXAMPLE],
        }
    )

    first_name: Name | None = Field(default=None, description=texts.FIRST_NAME + texts.NAME_CHANGE)
    last_name: Name | None = Field(default=None, description=texts.LAST_NAME + texts.NAME_CHANGE)
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

    @model_validator(mode="after")
    def _coordinates_changed_together(self) -> Self:
        if ("lon" in self.model_fields_set) != ("lat" in self.model_fields_set):
            raise InvalidValue(UNPAIRED)
        return self

    @field_validator("status")
    @classmethod
    def _not_anonymised(cls, value: CandidateStatus | None) -> CandidateStatus | None:
        if value is CandidateStatus.ANONYMISED:
            raise InvalidValue("l'anonymisation se fait par DELETE /v1/candidates/{id}")
        return value


class CandidateSearch(BaseModel):
    """Search in a request body: names, numbers and addresses never travel in URLs."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": texts.SEARCH,
            "examples": [{"q": "lefort ines", "status": "new"}],
        },
    )

    q: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=2, max_length=200),
        Field(description="Nom et/ou prénom (début de mot), téléphone ou e-mail."),
    ]
    status: CandidateStatus | None = Field(default=None, description=texts.SEARCH_STATUS)


class CandidatePublic(BaseModel):
    id: uuid.UUID = Field(description=texts.ID)
    first_name: str | None = Field(description=texts.FIRST_NAME_READ)
    last_name: str | None = Field(description=texts.LAST_NAME_READ)
    phone: str | None = Field(description=texts.PHONE_READ)
    email: str | None = Field(description=texts.EMAIL_READ)
    commune_insee: str | None = Field(description=texts.COMMUNE_READ)
    address: str | None = Field(description=texts.ADDRESS_READ)
    lon: float | None = Field(description=texts.LON_READ)
    lat: float | None = Field(description=texts.LAT_READ)
    qpv_status: QpvStatus = Field(description=texts.QPV_STATUS)
    qpv_code: str | None = Field(description=texts.QPV_CODE)
    qpv_method: QpvMethod | None = Field(description=texts.QPV_METHOD)
    geocoding_score: float | None = Field(description=texts.GEOCODING_SCORE)
    qpv_polygon_version: str | None = Field(description=texts.QPV_POLYGON_VERSION)
    qpv_checked_at: datetime | None = Field(description=texts.QPV_CHECKED_AT)
    qpv_near_boundary: bool = Field(description=texts.QPV_NEAR_BOUNDARY)
    qpv_declared: bool | None = Field(description=texts.QPV_DECLARED_READ)
    qpv_declared_code: str | None = Field(description=texts.QPV_DECLARED_CODE_READ)
    sectors_worked: list[SectorCode] = Field(description=texts.SECTORS_WORKED_READ)
    sectors_worked_other: str | None = Field(description=texts.OTHER_READ)
    sectors_wanted: list[SectorCode] = Field(description=texts.SECTORS_WANTED_READ)
    sectors_wanted_other: str | None = Field(description=texts.OTHER_READ)
    needs: list[Need] = Field(description=texts.NEEDS_READ)
    need_labels: list[str] = Field(description=texts.NEED_LABELS)
    rome_wishes: list[str] = Field(description=texts.ROME_WISHES_READ)
    available_from: date | None = Field(description=texts.AVAILABLE_FROM_READ)
    hours_per_week: int | None = Field(description=texts.HOURS_PER_WEEK_READ)
    mobility_radius_km: int | None = Field(description=texts.RADIUS_READ)
    has_driving_licence: bool | None = Field(description=texts.DRIVING_LICENCE_READ)
    has_vehicle: bool | None = Field(description=texts.VEHICLE_READ)
    sex: Sex | None = Field(description=texts.SEX_READ)
    birth_year: int | None = Field(description=texts.BIRTH_YEAR_READ)
    status: CandidateStatus = Field(description=texts.STATUS)
    status_label: str = Field(description=texts.STATUS_LABEL)
    referent_organisation_id: uuid.UUID | None = Field(description=texts.REFERENT_ORGANISATION_READ)
    referent_prescriber_id: uuid.UUID | None = Field(description=texts.REFERENT_PRESCRIBER_READ)
    last_activity_at: datetime = Field(description=texts.LAST_ACTIVITY_AT)
    anonymised_at: datetime | None = Field(description=texts.ANONYMISED_AT)
    merged_into_id: uuid.UUID | None = Field(description=texts.MERGED_INTO_ID)
    created_at: datetime = Field(description=texts.CREATED_AT)
    updated_at: datetime = Field(description=texts.UPDATED_AT)

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

    model_config = ConfigDict(json_schema_extra={"description": texts.SAVED})

    matched_existing: bool = Field(description=texts.MATCHED_EXISTING)


class EligibilityCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [texts.ELIGIBILITY_EXAMPLE]}
    )

    kind: EligibilityKind = Field(description=texts.KIND)
    sensitive: bool = Field(
        default=False,
        description="Donnée sensible (toujours vrai pour TH ; à cocher pour une situation "
        "judiciaire). Exige la permission `sensitive_data`.",
    )
    validated_on: PastDay | None = Field(
        default=None, description="Date de validation ; par défaut, aujourd'hui."
    )
    expires_on: Day | None = Field(default=None, description=texts.EXPIRES_ON)
    comment: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
        | None
    ) = Field(default=None, description=texts.COMMENT)

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
    id: uuid.UUID = Field(description=texts.CRITERION_ID)
    candidate_id: uuid.UUID = Field(description=texts.CRITERION_CANDIDATE)
    kind: EligibilityKind = Field(description=texts.KIND)
    kind_label: str = Field(description=texts.KIND_LABEL)
    sensitive: bool = Field(description=texts.SENSITIVE_READ)
    validated_on: date | None = Field(description=texts.VALIDATED_ON_READ)
    validated_by_user_id: uuid.UUID | None = Field(description=texts.VALIDATED_BY)
    expires_on: date | None = Field(description=texts.EXPIRES_ON_READ)
    comment: str | None = Field(description=texts.COMMENT_READ)
    created_at: datetime = Field(description=texts.CRITERION_CREATED_AT)

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

    model_config = ConfigDict(json_schema_extra={"description": texts.DUPLICATE_GROUP})

    commune_insee: str | None = Field(description=texts.GROUP_COMMUNE)
    candidates: list[CandidatePublic] = Field(description=texts.GROUP_CANDIDATES)


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [texts.MERGE_EXAMPLE]})

    duplicate_id: uuid.UUID = Field(
        description="Le doublon : ses dépôts, partages et critères passent sur le candidat "
        "conservé, puis il est anonymisé."
    )
