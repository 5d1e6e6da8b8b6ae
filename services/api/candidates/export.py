"""Everything held on a person, as the right of access exports it (RGPD art. 15, decision
0050): the candidate, their intakes and files, criteria, shares, and what counsellors wrote and
sent about them (:mod:`.export_activity`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from services.api.candidates.export_activity import (
    CallbackExport,
    MatchExport,
    NotificationExport,
)
from services.api.candidates.schemas import CandidatePublic, EligibilityPublic
from services.core.models.candidate import ShareReason


class SharePublic(BaseModel):
    organisation_id: uuid.UUID
    reason: ShareReason
    created_at: datetime


class IntakeFileReference(BaseModel):
    id: uuid.UUID
    kind: str
    original_name: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class IntakeExport(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    source: str
    place_organisation_id: uuid.UUID | None
    deposit_date: date
    collected_on: date | None
    batch_id: uuid.UUID | None
    answers: dict[str, Any]
    consent_given: bool
    consent_text_version: str | None
    consent_at: datetime | None
    entered_by_user_id: uuid.UUID | None
    entered_by_api_key_id: uuid.UUID | None
    created_at: datetime
    files: list[IntakeFileReference]


class AuditExport(BaseModel):
    occurred_at: datetime
    actor_type: str
    actor_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    action: str
    resource_type: str
    resource_id: uuid.UUID | None
    details: dict[str, Any]


class CandidateExport(BaseModel):
    """Everything held on the person (right of access, RGPD art. 15)."""

    exported_at: datetime
    candidate: CandidatePublic
    intakes: list[IntakeExport]
    eligibility: list[EligibilityPublic]
    sensitive_withheld: int = Field(
        description="Critères sensibles non inclus : la permission `sensitive_data` manque."
    )
    shares: list[SharePublic]
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
    audit: list[AuditExport]
