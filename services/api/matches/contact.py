"""What an employer needs to call a person proposed to it (decision 0049): name, phone, e-mail
and CV, for one match.

A match is a shortlist entry: the employer sees it only once it was proposed (decision 0017),
and even then only its name and the points. Contact details come here, on a match that is
``proposed_to_employer`` (or ``hired``, to welcome the person): before — suggested, contacted —
nothing personal goes to the employer, and after a decline or a withdrawal it stops (409).
Counsellors who see the match see the person anyway (its shares): they read the same card at any
status, to check what the employer receives. Every read and every CV download is audited as a
read of the candidate, naming the match.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.access import READ
from services.api.auth.dependencies import CurrentPrincipal
from services.api.candidates.policy import policy as candidates_policy
from services.api.deps import RequestIdDep, SessionDep, StorageDep
from services.api.errors import Conflict, NotFound
from services.api.intake.files import download
from services.api.matches.policy import policy
from services.core.models.candidate import Candidate, CandidateStatus
from services.core.models.intake import Intake, IntakeFile, IntakeFileKind
from services.core.models.match import Match, MatchStatus
from services.core.models.user import Role
from services.core.security.principal import Principal

router = APIRouter(tags=["rapprochements"])

# While the employer may call the person: proposed to it, or hired by it.
CONTACT_STATUSES = frozenset({MatchStatus.PROPOSED_TO_EMPLOYER, MatchStatus.HIRED})

CONTACT_FIELDS = ("first_name", "last_name", "phone_e164", "email")


class NotProposed(Conflict):
    code = "match-not-proposed"
    title = "Candidat non proposé"
    default_detail = (
        "Les coordonnées d'une personne ne sont communiquées qu'une fois sa candidature proposée "
        "à l'employeur, et tant qu'elle n'est ni déclinée ni retirée."
    )


class ContactGone(Conflict):
    code = "candidate-anonymised"
    title = "Candidat anonymisé"
    default_detail = "Ce candidat a été anonymisé : ses coordonnées ont été effacées."


class CvFile(BaseModel):
    id: uuid.UUID = Field(
        description="Identifiant du fichier (à télécharger par l'adresse du dépôt)."
    )
    original_name: str = Field(description="Nom du fichier envoyé.")
    content_type: str = Field(description="Type du fichier (PDF, JPEG ou PNG).")
    size: int = Field(description="Taille, en octets.")
    download_path: str = Field(description="Chemin de téléchargement (journalisé).")


class MatchContact(BaseModel):
    match_id: uuid.UUID = Field(description="La mise en relation.")
    candidate_id: uuid.UUID = Field(description="Le candidat.")
    first_name: str | None = Field(description="Prénom.")
    last_name: str | None = Field(description="Nom.")
    phone: str | None = Field(description="Numéro au format international (E.164).")
    email: str | None = Field(description="Adresse e-mail.")
    cv_files: list[CvFile] = Field(description="Les CV déposés, le plus récent d'abord.")


async def _proposed(
    session: AsyncSession, principal: Principal, match_id: uuid.UUID
) -> tuple[Match, Candidate]:
    policy.authorize(principal, READ)  # front desks: 403 before any look-up, as for lists
    match = await policy.get(session, principal, match_id)
    if principal.role is Role.EMPLOYER and match.status not in CONTACT_STATUSES:
        raise NotProposed()
    candidate = await session.get(Candidate, match.candidate_id)
    if candidate is None or candidate.status is CandidateStatus.ANONYMISED:
        raise ContactGone()
    return match, candidate


async def _cvs(session: AsyncSession, candidate_id: uuid.UUID) -> list[IntakeFile]:
    """The person's CVs (never the scanned form, which holds more than the employer needs)."""
    rows = await session.scalars(
        select(IntakeFile)
        .join(Intake, col(Intake.id) == col(IntakeFile.intake_id))
        .where(col(Intake.candidate_id) == candidate_id, col(IntakeFile.kind) == IntakeFileKind.CV)
        .order_by(col(IntakeFile.created_at).desc(), col(IntakeFile.id).desc())
    )
    return list(rows)


@router.get(
    "/matches/{match_id}/contact",
    summary="Coordonnées d'une personne proposée",
    description="Pour appeler la personne proposée à l'employeur : nom, téléphone, e-mail et "
    "CV. Pour l'employeur, seulement une fois la candidature proposée (ou la personne "
    "recrutée) : après un refus ou un retrait, 409. Chaque lecture est inscrite au journal "
    "d'audit.",
)
async def read_match_contact(
    match_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
) -> MatchContact:
    match, candidate = await _proposed(session, principal, match_id)
    files = await _cvs(session, candidate.id)
    candidates_policy.audit(
        session,
        principal,
        READ,
        candidate,
        request_id=request_id,
        details={"match_id": str(match.id), "fields": list(CONTACT_FIELDS)},
    )
    return MatchContact(
        match_id=match.id,
        candidate_id=candidate.id,
        first_name=candidate.first_name,
        last_name=candidate.last_name,
        phone=candidate.phone_e164,
        email=candidate.email,
        cv_files=[
            CvFile(
                id=row.id,
                original_name=row.original_name,
                content_type=row.content_type,
                size=row.size,
                download_path=f"/v1/matches/{match.id}/cv/{row.id}",
            )
            for row in files
        ],
    )


@router.get(
    "/matches/{match_id}/cv/{file_id}",
    summary="Télécharger le CV d'une personne proposée",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}}},
    description="Aux mêmes conditions que ses coordonnées ; chaque téléchargement est journalisé.",
)
async def download_match_cv(
    match_id: uuid.UUID,
    file_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    storage: StorageDep,
    request_id: RequestIdDep,
) -> StreamingResponse:
    match, candidate = await _proposed(session, principal, match_id)
    stored = next((row for row in await _cvs(session, candidate.id) if row.id == file_id), None)
    if stored is None or not await storage.exists(stored.storage_key):
        raise NotFound("Fichier introuvable.")
    candidates_policy.audit(
        session,
        principal,
        "download",
        candidate,
        request_id=request_id,
        details={"match_id": str(match.id), "file_id": str(stored.id), "kind": "cv"},
    )
    return download(storage, stored)
