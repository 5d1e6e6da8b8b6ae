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


MODALITY = (
    "Modalité de réalisation : `direct_hire` (embauche directe par l'entreprise attributaire), "
    "`provision` (mise à disposition par une AI, une ETTI, un GEIQ ou une agence d'intérim) ou "
    "`subcontracting` (sous-traitance à une EI, un ACI, une EA ou un ESAT) ; l'obligation du lot "
    "doit l'admettre."
)
CONTRACT_TYPE = (
    "Type de contrat de travail (`CDI`, `CDD`, `MIS`, `SAI`, `CDDI`, `CDI_CHANTIER`, "
    "`APPRENTISSAGE`, `PROFESSIONNALISATION`) ; les heures d'un `CDI` suivent le plafond CDI de "
    "l'obligation."
)
ROME_CODE = "Code ROME du métier exercé : une lettre de A à N et 4 chiffres, ex. F1703."
START_DATE = (
    "Premier jour de travail (AAAA-MM-JJ) : les relevés d'heures commencent à son mois, et "
    "les critères d'éligibilité comptent s'ils sont validés ce jour-là."
)
END_DATE = (
    "Dernier jour de travail (AAAA-MM-JJ), pas avant le premier : les relevés d'heures "
    "s'arrêtent à son mois, et les sorties se saisissent ce jour-là puis 6 et 12 mois après."
)
WEEKLY_HOURS = "Heures de travail par semaine (plus de 0, 48 au plus, au dixième)."
QUALIFICATION = (
    "Niveau de qualification du participant (nomenclature de 2019) : `below_3` (sans "
    "diplôme), `level_3` (CAP, BEP), `level_4` (baccalauréat), `level_5` (bac + 2) ou "
    "`level_6_plus` (bac + 3 et plus) ; pour les statistiques seulement."
)
FROZEN = "Figé au démarrage."
FROZEN_AT_START = "Figé au démarrage ; `null` : non démarrée, ou inconnu."


class PlacementCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "candidate_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0d31",
                    "modality": "direct_hire",
                    "contract_type": "CDD",
                    "rome_code": "F1703",
                    "start_date": "2026-03-02",
                    "end_date": "2026-08-28",
                    "weekly_hours": "35",
                    "qualification_level": "level_3",
                }
            ]
        },
    )

    candidate_id: uuid.UUID = Field(description="Le participant.")
    employer_id: uuid.UUID | None = Field(
        default=None,
        description="L'organisation employeuse ; par défaut l'entreprise attributaire.",
    )
    modality: Modality = Field(
        default=Modality.DIRECT_HIRE, description=f"{MODALITY} Par défaut `direct_hire`."
    )
    contract_type: ContractType | None = Field(
        default=None, description=f"{CONTRACT_TYPE} Absent : inconnu."
    )
    rome_code: RomeCode | None = Field(default=None, description=ROME_CODE)
    start_date: Day = Field(description=START_DATE)
    end_date: Day | None = Field(default=None, description=f"{END_DATE} Absent : sans fin connue.")
    weekly_hours: WeeklyHours | None = Field(default=None, description=WEEKLY_HOURS)
    qualification_level: QualificationLevel | None = Field(default=None, description=QUALIFICATION)


class PlacementUpdate(BaseModel):
    """Only the fields sent change. The employer, modality, start date and qualification are
    frozen once the placement has started."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Seuls les champs envoyés changent. L'employeur, la modalité, la date "
            "de début et la qualification sont figés une fois la mise en emploi démarrée.",
            "examples": [{"end_date": "2026-12-18", "weekly_hours": "28"}],
        },
    )

    employer_id: uuid.UUID | None = Field(
        default=None,
        description="L'organisation employeuse : l'entreprise attributaire pour une embauche "
        f"directe, sinon la structure qui met à disposition ou sous-traite. {FROZEN}",
    )
    modality: Modality | None = Field(default=None, description=f"{MODALITY} Figée au démarrage.")
    contract_type: ContractType | None = Field(
        default=None, description=f"{CONTRACT_TYPE} `null` : inconnu."
    )
    rome_code: RomeCode | None = Field(default=None, description=f"{ROME_CODE} `null` : inconnu.")
    start_date: Day | None = Field(default=None, description=f"{START_DATE} {FROZEN}")
    end_date: Day | None = Field(default=None, description=f"{END_DATE} `null` : sans fin connue.")
    weekly_hours: WeeklyHours | None = Field(
        default=None, description=f"{WEEKLY_HOURS} `null` : inconnues."
    )
    qualification_level: QualificationLevel | None = Field(
        default=None, description=f"{QUALIFICATION} {FROZEN}"
    )

    _not_null = field_validator("employer_id", "modality", "start_date")(refuse_null)


class PlacementException(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reason": "Accompagnée par le PLIE depuis janvier ; son inscription comme "
                    "demandeuse d'emploi de longue durée est en cours de validation."
                }
            ]
        },
    )

    reason: Reason = Field(description="Motif de la dérogation (sans donnée sensible).")


class Participant(BaseModel):
    id: uuid.UUID = Field(description="Le participant (identifiant du candidat).")
    first_name: str | None = Field(
        description="Prénom ; `null` : non renseigné, ou effacé (données anonymisées)."
    )
    last_name: str | None = Field(
        description="Nom ; `null` : non renseigné, ou effacé (données anonymisées)."
    )


class PlacementPublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    participant: Participant = Field(description="La personne mise en emploi.")
    attribution_id: uuid.UUID = Field(
        description="L'attribution (entreprise × lot) sur laquelle ses heures comptent."
    )
    employer_id: uuid.UUID = Field(
        description="L'organisation employeuse : l'entreprise attributaire, ou la structure qui "
        "met à disposition ou sous-traite."
    )
    match_id: uuid.UUID | None = Field(
        description="L'embauche (mise en relation) qui l'a créée ; `null` : saisie directement."
    )
    modality: Modality = Field(description=MODALITY)
    modality_label: str = Field(description="La modalité en toutes lettres, en français.")
    contract_type: ContractType | None = Field(description=f"{CONTRACT_TYPE} `null` : inconnu.")
    rome_code: str | None = Field(description=f"{ROME_CODE} `null` : inconnu.")
    start_date: date = Field(description="Premier jour de travail.")
    end_date: date | None = Field(description="Dernier jour de travail ; `null` : sans fin connue.")
    weekly_hours: Decimal | None = Field(
        description="Heures de travail par semaine ; `null` : inconnues."
    )
    status: PlacementStatus = Field(
        description="`draft` (brouillon : rien n'est figé, aucun relevé d'heures) ou `active` "
        "(démarrée : ce pour quoi elle compte est figé, ses heures se déclarent)."
    )
    status_label: str = Field(description="L'état en toutes lettres, en français.")
    frozen_at: datetime | None = Field(
        description="Date et heure du démarrage ; `null` : brouillon."
    )
    eligibility_criteria: list[str] = Field(
        description="Les critères d'éligibilité (`DELD`, `RSA`, `JEUNE`…) validés et en cours "
        "de validité à la date de début, figés au démarrage ; vide avant le démarrage ou sans "
        "critère validé."
    )
    qpv_resident: bool | None = Field(
        description="Habitant d'un quartier prioritaire (QPV) à la date de début. "
        + FROZEN_AT_START
    )
    age_bracket: AgeBracket | None = Field(
        description=f"Tranche d'âge à la date de début : `<26`, `26-49` ou `50+`. {FROZEN_AT_START}"
    )
    sex: Sex | None = Field(
        description=f"Sexe (`female`, `male`), pour les statistiques. {FROZEN_AT_START}"
    )
    qualification_level: QualificationLevel | None = Field(
        description=f"{QUALIFICATION} `null` : inconnu."
    )
    eligibility_flagged: bool = Field(
        description="Aucun critère d'éligibilité validé au démarrage : ses heures ne comptent "
        "qu'une fois acceptées en dérogation."
    )
    exception_reason: str | None = Field(
        description="Motif de la dérogation accordée par un facilitateur ; `null` : aucune."
    )
    exception_at: datetime | None = Field(
        description="Date et heure de la dérogation ; `null` : aucune."
    )
    created_at: datetime = Field(description="Date et heure de création.")
    updated_at: datetime = Field(description="Date et heure de la dernière modification.")

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
