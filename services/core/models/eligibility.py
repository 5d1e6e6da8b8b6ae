"""Publics éligibles (product.md §4.5): criteria validated for a candidate."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, String
from sqlmodel import Field

from services.core.models.base import EnumText, TableBase


class EligibilityKind(StrEnum):
    DELD = "DELD"
    DETLD = "DETLD"
    RSA = "RSA"
    ASS = "ASS"
    AAH = "AAH"
    INVALIDITY_PENSION = "invalidity_pension"
    TH = "TH"
    JEUNE = "JEUNE"
    SENIOR = "SENIOR"
    SIAE_EMPLOYEE = "SIAE_employee"
    GEIQ = "GEIQ"
    E2C_EPIDE = "E2C_EPIDE"
    BPI = "BPI"
    QPV_RESIDENT = "QPV_resident"
    EXCEPTION = "exception"


ELIGIBILITY_KIND_LABELS: dict[EligibilityKind, str] = {
    EligibilityKind.DELD: "Demandeur d'emploi de longue durée (12 mois et plus)",
    EligibilityKind.DETLD: "Demandeur d'emploi de très longue durée (24 mois et plus)",
    EligibilityKind.RSA: "Bénéficiaire du RSA",
    EligibilityKind.ASS: "Bénéficiaire de l'ASS",
    EligibilityKind.AAH: "Bénéficiaire de l'AAH",
    EligibilityKind.INVALIDITY_PENSION: "Bénéficiaire d'une pension d'invalidité",
    EligibilityKind.TH: "Travailleur handicapé (RQTH)",
    EligibilityKind.JEUNE: "Jeune de moins de 26 ans sorti du système scolaire depuis 6 mois",
    EligibilityKind.SENIOR: "Demandeur d'emploi de 50 ans et plus",
    EligibilityKind.SIAE_EMPLOYEE: "Salarié d'une SIAE",
    EligibilityKind.GEIQ: "Salarié d'un GEIQ",
    EligibilityKind.E2C_EPIDE: "Jeune d'une E2C ou de l'EPIDE",
    EligibilityKind.BPI: "Bénéficiaire de la protection internationale",
    EligibilityKind.QPV_RESIDENT: "Habitant d'un quartier prioritaire (QPV)",
    EligibilityKind.EXCEPTION: "Dérogation motivée du facilitateur",
}

# Always sensitive (health). A criterion of another kind is sensitive when flagged so, e.g. an
# exception motivated by a judicial situation.
SENSITIVE_KINDS = frozenset({EligibilityKind.TH})


class EligibilityCriterion(TableBase, table=True):
    """One criterion: when it was validated, by whom, until when."""

    __tablename__ = "eligibility_criterion"
    __table_args__ = (
        CheckConstraint(
            "expires_on IS NULL OR validated_on IS NULL OR expires_on >= validated_on",
            name="dates_in_order",
        ),
    )

    candidate_id: uuid.UUID = Field(
        foreign_key="candidate.id", index=True, nullable=False, ondelete="CASCADE"
    )
    kind: EligibilityKind = Field(sa_type=EnumText(EligibilityKind, 30), nullable=False)
    sensitive: bool = Field(default=False, nullable=False)
    validated_on: date | None = Field(default=None, sa_type=Date)
    validated_by_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", index=True, ondelete="SET NULL"
    )
    expires_on: date | None = Field(default=None, sa_type=Date)
    comment: str | None = Field(default=None, sa_type=String(1000))
