"""Everything held on a person, as the right of access exports it (RGPD art. 15, decision
0050): the candidate, their intakes and files, criteria, shares, and what counsellors wrote and
sent about them (:mod:`.export_activity`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.api.candidates.export_activity import (
    CallbackExport,
    MatchExport,
    NotificationExport,
)
from services.api.candidates.schemas import CandidatePublic, EligibilityPublic
from services.core.models.candidate import ShareReason


class SharePublic(BaseModel):
    organisation_id: uuid.UUID = Field(
        description="Organisation qui voit le candidat grâce à ce partage."
    )
    reason: ShareReason = Field(
        description="Pourquoi : `created` (elle a créé le candidat, ou l'a retrouvé en le "
        "créant), `intake` (elle a reçu un de ses dépôts), `referral` (un de ses rappels lui a "
        "été attribué), `merge` (repris d'un doublon fusionné)."
    )
    created_at: datetime = Field(description="Date et heure du partage.")


class IntakeFileReference(BaseModel):
    id: uuid.UUID = Field(description="Identifiant du fichier.")
    kind: str = Field(description="`cv` ou `form` (le formulaire papier numérisé).")
    original_name: str = Field(description="Nom du fichier à l'envoi, nettoyé.")
    content_type: str = Field(
        description="Type du fichier : `application/pdf`, `image/jpeg` ou `image/png`."
    )
    size: int = Field(description="Taille en octets.")
    sha256: str = Field(description="Empreinte SHA-256 du contenu, 64 caractères hexadécimaux.")
    created_at: datetime = Field(description="Date et heure de l'envoi.")


class IntakeExport(BaseModel):
    id: uuid.UUID = Field(description="Identifiant du dépôt.")
    organisation_id: uuid.UUID = Field(description="Organisation qui a reçu le dépôt.")
    source: str = Field(
        description="Origine : `kiosk` (borne à CV), `cv_kiosk_event` (kiosque à CV), "
        "`job_cafe` (recrut'café), `walk_in` (permanence), `site_visit` (visite de chantier), "
        "`referral` (orienté par un prescripteur), `web`, `integration` (SIRH)."
    )
    place_organisation_id: uuid.UUID | None = Field(
        description="Lieu du dépôt (ex. l'agence qui accueille la borne) ; null si non précisé."
    )
    deposit_date: date = Field(
        description="Date du dépôt par la personne : le délai de rappel de 30 jours court d'elle."
    )
    collected_on: date | None = Field(
        description="Date du relevé de la boîte de la borne ; null si non précisée."
    )
    batch_id: uuid.UUID | None = Field(
        description="Le relevé (`POST /v1/intakes/batch`) d'où vient le dépôt ; null pour un "
        "dépôt envoyé seul."
    )
    answers: dict[str, Any] = Field(
        description="Les réponses du formulaire, telles que saisies (champs du formulaire de la "
        "borne) ; vides après anonymisation."
    )
    consent_given: bool = Field(
        description="La personne a accepté la phrase de consentement du formulaire."
    )
    consent_text_version: str | None = Field(
        description="Version du texte de consentement accepté ; null sans consentement."
    )
    consent_at: datetime | None = Field(
        description="Moment du consentement ; null sans consentement."
    )
    entered_by_user_id: uuid.UUID | None = Field(
        description="Compte qui a saisi le dépôt ; null s'il est venu par une clé d'API ou si "
        "le compte a été supprimé."
    )
    entered_by_api_key_id: uuid.UUID | None = Field(
        description="Clé d'API qui a envoyé le dépôt ; null s'il a été saisi par un compte ou si "
        "la clé a été supprimée."
    )
    created_at: datetime = Field(description="Date et heure d'enregistrement.")
    files: list[IntakeFileReference] = Field(
        description="Les fichiers joints (CV, formulaire numérisé) : leurs références, pas leur "
        "contenu ; aucun après anonymisation."
    )


class AuditExport(BaseModel):
    occurred_at: datetime = Field(description="Moment de l'action.")
    actor_type: str = Field(
        description="Qui a agi : `user` (un compte), `api_key` (une clé d'API) ou `system` (le "
        "service lui-même : géocodage, fin de conservation, attribution automatique d'un rappel)."
    )
    actor_id: uuid.UUID | None = Field(
        description="Identifiant du compte ou de la clé d'API qui a agi ; null pour `system`."
    )
    organisation_id: uuid.UUID | None = Field(
        description="Organisation de l'acteur ; null pour `system`."
    )
    action: str = Field(
        description="Action tracée, ex. `read`, `list`, `create`, `update`, `share`, `export`, "
        "`merge`, `anonymise`."
    )
    resource_type: str = Field(
        description="Sorte de ressource : `candidate`, `intake`, `eligibility_criterion`, "
        "`callback_case`, `match`…"
    )
    resource_id: uuid.UUID | None = Field(
        description="Identifiant de la ressource ; null pour une liste (les identifiants "
        "montrés sont alors dans `details.ids`)."
    )
    details: dict[str, Any] = Field(
        description="Précisions, jamais de valeur personnelle : noms des champs modifiés "
        "(`fields`), identifiants montrés par une liste (`ids`), doublon fusionné…"
    )


class CandidateExport(BaseModel):
    """Everything held on the person (right of access, RGPD art. 15)."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "Tout ce qui est conservé sur la personne (droit d'accès, RGPD art. 15)."
        }
    )

    exported_at: datetime = Field(description="Moment de l'export.")
    candidate: CandidatePublic = Field(
        description="Le profil, comme `GET /v1/candidates/{candidate_id}` le donne."
    )
    intakes: list[IntakeExport] = Field(
        description="Ses dépôts, du plus ancien au plus récent (ceux des doublons fusionnés "
        "compris), avec leurs réponses et leurs fichiers."
    )
    eligibility: list[EligibilityPublic] = Field(
        description="Ses critères d'éligibilité ; les critères sensibles seulement avec la "
        "permission `sensitive_data` (voir `sensitive_withheld`)."
    )
    sensitive_withheld: int = Field(
        description="Critères sensibles non inclus : la permission `sensitive_data` manque."
    )
    shares: list[SharePublic] = Field(
        description="Les organisations qui voient le candidat, et pourquoi."
    )
    merged_ids: list[uuid.UUID] = Field(description="Doublons fusionnés dans ce candidat.")
    callbacks: list[CallbackExport] = Field(
        description="Rappels, avec leurs tentatives et les notes des conseillers."
    )
    matches: list[MatchExport] = Field(
        description="Rapprochements avec des offres, avec leurs changements d'état et commentaires."
    )
    notifications: list[NotificationExport] = Field(
        description="Messages envoyés à son sujet (alertes de rappel, avis de conservation)."
    )
    audit: list[AuditExport] = Field(
        description="Le journal d'audit le concernant, du plus ancien au plus récent : ce qui a "
        "été fait sur lui, ses doublons fusionnés, ses dépôts, critères, rappels et "
        "rapprochements, et les listes qui l'ont montré."
    )
