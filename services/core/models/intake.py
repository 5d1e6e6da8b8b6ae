"""Intakes (dépôts): one form and/or CV dropped at one place on one day, and their files."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from services.core.models.base import EnumText, TableBase


class IntakeSource(StrEnum):
    KIOSK = "kiosk"  # borne à CV
    CV_KIOSK_EVENT = "cv_kiosk_event"  # kiosque à CV
    JOB_CAFE = "job_cafe"  # recrut'café, rendez-vous de l'emploi
    WALK_IN = "walk_in"  # permanence
    SITE_VISIT = "site_visit"
    REFERRAL = "referral"  # a prescriber
    WEB = "web"
    INTEGRATION = "integration"  # an HR system


INTAKE_SOURCE_LABELS: dict[IntakeSource, str] = {
    IntakeSource.KIOSK: "Borne à CV",
    IntakeSource.CV_KIOSK_EVENT: "Kiosque à CV",
    IntakeSource.JOB_CAFE: "Recrut'café, rendez-vous de l'emploi",
    IntakeSource.WALK_IN: "Permanence",
    IntakeSource.SITE_VISIT: "Visite de chantier",
    IntakeSource.REFERRAL: "Orientation par un prescripteur",
    IntakeSource.WEB: "Site web",
    IntakeSource.INTEGRATION: "Système RH (intégration)",
}


class Intake(TableBase, table=True):
    """An intake. The 30-day callback window counts from ``deposit_date`` (the day the person
    dropped the form, at the latest the collection date), never from the upload."""

    __tablename__ = "intake"
    __table_args__ = (
        CheckConstraint(
            "collected_on IS NULL OR deposit_date <= collected_on", name="deposit_before_collection"
        ),
    )

    candidate_id: uuid.UUID = Field(
        foreign_key="candidate.id", index=True, nullable=False, ondelete="RESTRICT"
    )
    # The organisation that received the intake (the candidate is shared with it).
    organisation_id: uuid.UUID = Field(
        foreign_key="organisation.id", index=True, nullable=False, ondelete="RESTRICT"
    )
    source: IntakeSource = Field(sa_type=EnumText(IntakeSource, 20), nullable=False)
    # Where the form was dropped, e.g. the landlord's agency running the borne.
    place_organisation_id: uuid.UUID | None = Field(
        default=None, foreign_key="organisation.id", index=True, ondelete="RESTRICT"
    )
    deposit_date: date = Field(sa_type=Date, nullable=False, index=True)
    collected_on: date | None = Field(default=None, sa_type=Date)
    batch_id: uuid.UUID | None = Field(default=None, index=True)
    # Exactly what was keyed in (personal data: wiped by erasure).
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB, nullable=False)
    consent_given: bool = Field(default=False, nullable=False)
    consent_text_version: str | None = Field(default=None, sa_type=String(40))
    consent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    entered_by_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", index=True, ondelete="SET NULL"
    )
    entered_by_api_key_id: uuid.UUID | None = Field(
        default=None, foreign_key="api_key.id", index=True, ondelete="SET NULL"
    )


class IntakeFileKind(StrEnum):
    CV = "cv"
    FORM = "form"  # the scanned paper form


class IntakeFile(TableBase, table=True):
    """A file attached to an intake, stored outside the database under ``storage_key``."""

    __tablename__ = "intake_file"

    intake_id: uuid.UUID = Field(
        foreign_key="intake.id", index=True, nullable=False, ondelete="CASCADE"
    )
    kind: IntakeFileKind = Field(sa_type=EnumText(IntakeFileKind, 10), nullable=False)
    storage_key: str = Field(sa_type=String(300), unique=True, nullable=False)
    original_name: str = Field(sa_type=String(255), nullable=False)  # sanitised
    content_type: str = Field(sa_type=String(100), nullable=False)
    size: int = Field(sa_type=BigInteger, nullable=False)
    sha256: str = Field(sa_type=String(64), nullable=False)
