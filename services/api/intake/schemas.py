"""The borne form, exactly as printed on paper (product.md §4.1), and the intake around it.

Field names are English; the French label of the paper form is in each field's description. The
answers are kept as keyed (``raw_answers`` of the intake); the candidate gets their normalised
form (phone in E.164, e-mail in lower case).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

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
from services.api.intake.examples import BATCH_EXAMPLE, FORM_EXAMPLE
from services.api.validation import CONSENT_REQUIRED, Day, FieldError, InvalidValue, insee_code
from services.core.models.candidate import Need
from services.core.models.intake import (
    INTAKE_SOURCE_LABELS,
    Intake,
    IntakeFile,
    IntakeFileKind,
    IntakeSource,
)
from services.core.referentials.sectors import SectorCode

MAX_BATCH_FORMS = 500

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]
City = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
OtherText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ConsentVersion = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
]


def _unique(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise InvalidValue("chaque valeur ne peut être cochée qu'une fois")
    return values


class BorneForm(BaseModel):
    """One paper form of the borne à CV, every box as the front-desk agent keyed it.

    Every field may be left empty: a person may leave a CV without filling the form. A form sent
    without any file must name the person (name, phone or e-mail).
    """

    model_config = ConfigDict(extra="forbid")

    last_name: Name | None = Field(default=None, description="NOM")
    first_name: Name | None = Field(default=None, description="PRÉNOM")
    mobile_phone: Phone | None = Field(
        default=None,
        description="TÉLÉPHONE PORTABLE, tel que saisi (métropole ou outre-mer, "
        "ex. 06 12 34 56 78 ou +262 692 12 34 56).",
    )
    email: Email | None = Field(default=None, description="MAIL")
    city: City | None = Field(default=None, description="VILLE, telle qu'écrite sur le formulaire.")
    commune_insee: str | None = Field(
        default=None,
        max_length=5,
        description="Code INSEE de la commune, quand l'agent l'a choisie dans le référentiel.",
    )
    sectors_worked: list[SectorCode] = Field(
        default_factory=list,
        max_length=len(SectorCode),
        description="« Vous avez travaillé dans le ou les secteurs suivants » (cases cochées).",
    )
    sectors_worked_other: OtherText | None = Field(
        default=None, description="« AUTRE : » à côté des secteurs où la personne a travaillé."
    )
    sectors_wanted: list[SectorCode] = Field(
        default_factory=list,
        max_length=len(SectorCode),
        description="« Vous voulez travailler dans le ou les secteurs suivants » (cases cochées).",
    )
    sectors_wanted_other: OtherText | None = Field(
        default=None, description="« AUTRE : » à côté des secteurs où la personne veut travailler."
    )
    needs: list[Need] = Field(
        default_factory=list,
        max_length=len(Need),
        description="« Votre besoin aujourd'hui » : UN EMPLOI (`job`), UNE FORMATION "
        "(`training`), UN ACCOMPAGNEMENT (`support`), UN CONSEIL (`advice`).",
    )
    address: Address | None = Field(
        default=None,
        description="Adresse (numéro et voie), quand la personne la donne (elle n'est pas sur le "
        "formulaire papier) : géocodée ensuite, hors de la requête, pour établir la résidence en "
        "QPV (décisions 0013 et 0015).",
    )
    lon: Longitude | None = Field(
        default=None, description="Longitude WGS84 du domicile, avec `lat` (décide le QPV)."
    )
    lat: Latitude | None = Field(
        default=None, description="Latitude WGS84 du domicile, avec `lon` (décide le QPV)."
    )
    qpv_declared: bool | None = Field(default=None, description=QPV_DECLARED)
    qpv_declared_code: QpvCode | None = Field(default=None, description=QPV_DECLARED_CODE)
    consent: bool | None = Field(
        default=None,
        description="« En déposant mon CV, j'autorise [structure] et/ou ses partenaires à me "
        "recontacter dans le cadre de ma recherche d'emploi. » Obligatoire et vrai : sans ce "
        "consentement personne ne peut rappeler la personne, et le dépôt est refusé (422, "
        "erreur `consent_refused` sur ce champ).",
    )
    consent_text_version: ConsentVersion | None = Field(
        default=None,
        description="Version du texte de consentement imprimé sur le formulaire (obligatoire "
        "quand `consent` est vrai).",
    )

    _unique = field_validator("sectors_worked", "sectors_wanted", "needs")(_unique)
    _insee = field_validator("commune_insee")(insee_code)

    def identifies(self) -> bool:
        """Whether the form names the person at all."""
        return any((self.last_name, self.first_name, self.mobile_phone, self.email))

    def raw_answers(self) -> dict[str, Any]:
        """The answers as keyed (strings trimmed), for the intake record."""
        return self.model_dump(mode="json")

    def form_errors(self, loc: list[str | int]) -> list[FieldError]:
        """Rules across fields, checked where a file may change them (multipart)."""
        errors: list[FieldError] = []
        if self.consent is not True:
            errors.append(
                FieldError(loc=[*loc, "consent"], message=CONSENT_REQUIRED, type="consent_refused")
            )
        if (self.lon is None) != (self.lat is None):
            errors.append(FieldError(loc=[*loc, "lon"], message=UNPAIRED, type="unpaired"))
        if self.qpv_declared is False and self.qpv_declared_code is not None:
            errors.append(
                FieldError(loc=[*loc, "qpv_declared"], message=UNDECLARED_CODE, type="invalid")
            )
        if self.consent and self.consent_text_version is None:
            errors.append(
                FieldError(
                    loc=[*loc, "consent_text_version"],
                    message="obligatoire quand le consentement est donné",
                    type="missing",
                )
            )
        return errors


SOURCE_DESCRIPTION = (
    "Origine du dépôt : `kiosk` (borne à CV), `cv_kiosk_event` (kiosque à CV), `job_cafe` "
    "(recrut'café, rendez-vous de l'emploi), `walk_in` (permanence), `site_visit` (visite de "
    "chantier), `referral` (orienté par un prescripteur), `web`, `integration` (SIRH)."
)


class IntakeCreate(BorneForm):
    """One form (``POST /v1/intakes``): the borne form plus where and when it was dropped."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "Un formulaire de la borne, tel que saisi : les réponses de la "
            "personne, plus le lieu (`place_organisation_id`) et les dates du relevé et du "
            "dépôt.",
            "examples": [FORM_EXAMPLE],
        }
    )

    source: IntakeSource = Field(default=IntakeSource.KIOSK, description=SOURCE_DESCRIPTION)
    place_organisation_id: uuid.UUID | None = Field(
        default=None,
        description="Lieu du dépôt (ex. l'agence du bailleur qui accueille la borne) ; par "
        "défaut, votre organisation.",
    )
    collected_on: Day | None = Field(
        default=None, description="Date du relevé de la boîte ; par défaut, aujourd'hui."
    )
    deposit_date: Day | None = Field(
        default=None,
        description="Date du dépôt par la personne (le délai de rappel de 30 jours court à "
        "partir d'elle) ; par défaut, la date du relevé.",
    )

    def form(self) -> BorneForm:
        return BorneForm.model_validate(self.model_dump(include=set(BorneForm.model_fields)))


class BatchForm(BorneForm):
    deposit_date: Day | None = Field(
        default=None, description="Date du dépôt quand elle est connue ; sinon, celle du relevé."
    )

    def form(self) -> BorneForm:
        return BorneForm.model_validate(self.model_dump(include=set(BorneForm.model_fields)))


@dataclass(frozen=True)
class _DocumentedAs:
    """The items of a list read as any JSON, documented in the JSON schema as ``model``."""

    model: type[BaseModel]

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["items"] = handler(self.model.__pydantic_core_schema__)
        return schema


class IntakeBatch(BaseModel):
    """A week's box: every form collected at one place on one day."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Le relevé d'une boîte de la borne : tous les formulaires recueillis "
            "en un lieu, un même jour.",
            "examples": [BATCH_EXAMPLE],
        },
    )

    source: IntakeSource = Field(default=IntakeSource.KIOSK, description=SOURCE_DESCRIPTION)
    place_organisation_id: uuid.UUID | None = Field(
        default=None, description="Lieu de la borne ; par défaut, votre organisation."
    )
    collected_on: Day | None = Field(
        default=None, description="Date du relevé de la boîte ; par défaut, aujourd'hui."
    )
    # Each form is validated on its own (an invalid one does not refuse the batch): read as
    # any JSON, documented as what each must be.
    forms: Annotated[list[Any], _DocumentedAs(BatchForm)] = Field(
        min_length=1,
        max_length=MAX_BATCH_FORMS,
        description="Les formulaires de la boîte (au plus 500), chacun avec les champs du "
        "formulaire de la borne (comme `POST /v1/intakes`) et, quand elle est connue, sa "
        "`deposit_date`. Chaque formulaire est vérifié seul : un formulaire invalide ne fait "
        "pas refuser les autres.",
    )


class IntakeOutcome(StrEnum):
    CREATED = "created"  # a new candidate
    LINKED = "linked"  # a candidate found again by phone or e-mail
    INVALID = "invalid"  # nothing stored for this form


class IntakeFilePublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant du fichier.")
    kind: IntakeFileKind = Field(description="`cv` ou `form` (le formulaire papier numérisé).")
    original_name: str = Field(description="Nom du fichier, nettoyé.")
    content_type: str = Field(description="Type du fichier (PDF, JPEG ou PNG).")
    size: int = Field(description="Taille en octets.")
    sha256: str = Field(description="Empreinte SHA-256 du contenu.")

    @classmethod
    def of(cls, row: IntakeFile) -> IntakeFilePublic:
        return cls(
            id=row.id,
            kind=row.kind,
            original_name=row.original_name,
            content_type=row.content_type,
            size=row.size,
            sha256=row.sha256,
        )


class IntakeCreated(BaseModel):
    intake_id: uuid.UUID = Field(description="Le dépôt enregistré.")
    candidate_id: uuid.UUID = Field(description="La personne, retrouvée ou créée.")
    status: IntakeOutcome = Field(
        description="`created` : nouvelle personne ; `linked` : personne retrouvée par son "
        "téléphone ou son e-mail."
    )
    identified: bool = Field(
        description="Faux pour un CV déposé seul : la fiche est à compléter à partir du CV."
    )
    files: list[IntakeFilePublic] = Field(default_factory=list, description="Les fichiers joints.")


class BatchItemResult(BaseModel):
    index: int = Field(description="Position du formulaire dans `forms`, à partir de 0.")
    status: IntakeOutcome = Field(
        description=(
            "`created` (personne créée), `linked` (retrouvée) ou `invalid` (rien d'enregistré)."
        )
    )
    intake_id: uuid.UUID | None = Field(default=None, description="Le dépôt enregistré.")
    candidate_id: uuid.UUID | None = Field(
        default=None, description="La personne, retrouvée ou créée."
    )
    errors: list[FieldError] | None = Field(
        default=None, description="Pourquoi le formulaire n'a pas été enregistré (en français)."
    )


class BatchResult(BaseModel):
    batch_id: uuid.UUID = Field(
        description="Identifiant du relevé, porté par chacun de ses dépôts."
    )
    created: int = Field(description="Dépôts ayant créé une nouvelle personne.")
    linked: int = Field(description="Dépôts rattachés à une personne déjà connue.")
    invalid: int = Field(description="Formulaires refusés : rien n'a été enregistré pour eux.")
    results: list[BatchItemResult] = Field(
        description="Le résultat de chaque formulaire, dans l'ordre de `forms`."
    )

    @classmethod
    def of(cls, batch_id: uuid.UUID, results: list[BatchItemResult]) -> Self:
        def total(outcome: IntakeOutcome) -> int:
            return sum(1 for r in results if r.status is outcome)

        return cls(
            batch_id=batch_id,
            created=total(IntakeOutcome.CREATED),
            linked=total(IntakeOutcome.LINKED),
            invalid=total(IntakeOutcome.INVALID),
            results=results,
        )


class IntakePublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    candidate_id: uuid.UUID = Field(description="La personne.")
    organisation_id: uuid.UUID = Field(description="Organisation qui a reçu le dépôt.")
    source: IntakeSource = Field(description="Comment le formulaire est arrivé (borne, accueil…).")
    source_label: str = Field(description="La provenance en toutes lettres, en français.")
    place_organisation_id: uuid.UUID | None = Field(description="Lieu du dépôt.")
    deposit_date: date = Field(description="Date du dépôt : le délai de rappel court d'elle.")
    collected_on: date | None = Field(description="Date du relevé de la boîte.")
    batch_id: uuid.UUID | None = Field(description="Le relevé hebdomadaire d'où vient le dépôt.")
    answers: dict[str, Any] = Field(description="Les réponses du formulaire, telles que saisies.")
    consent: bool = Field(description="La personne a donné son consentement.")
    consent_text_version: str | None = Field(description="Version du texte de consentement signé.")
    consent_at: datetime | None = Field(description="Moment du consentement.")
    entered_by_user_id: uuid.UUID | None = Field(description="Compte qui a saisi le formulaire.")
    entered_by_api_key_id: uuid.UUID | None = Field(
        description="Clé d'API qui a envoyé le formulaire."
    )
    files: list[IntakeFilePublic] = Field(description="CV et formulaire numérisé joints.")
    created_at: datetime = Field(description="Date et heure de création.")

    @classmethod
    def of(cls, intake: Intake, files: list[IntakeFile]) -> IntakePublic:
        return cls(
            id=intake.id,
            candidate_id=intake.candidate_id,
            organisation_id=intake.organisation_id,
            source=intake.source,
            source_label=INTAKE_SOURCE_LABELS[intake.source],
            place_organisation_id=intake.place_organisation_id,
            deposit_date=intake.deposit_date,
            collected_on=intake.collected_on,
            batch_id=intake.batch_id,
            answers=intake.answers,
            consent=intake.consent_given,
            consent_text_version=intake.consent_text_version,
            consent_at=intake.consent_at,
            entered_by_user_id=intake.entered_by_user_id,
            entered_by_api_key_id=intake.entered_by_api_key_id,
            files=[IntakeFilePublic.of(row) for row in files],
            created_at=intake.created_at,
        )
