"""Erasure: a person anonymised, the statistics kept (product.md §9).

Used by ``DELETE /v1/candidates/{id}``, by the merge of duplicates (the absorbed one) and by the
retention job. Identity, contact, address, point, free texts (counsellors' notes on calls and
matches included), the raw answers of every intake, eligibility criteria and file rows go; sex,
birth year, commune, QPV status, sectors, needs and dates stay for the reports. The caller
deletes the returned storage keys after commit.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core import audit
from services.core.clock import now
from services.core.events import CandidateAnonymised, emit
from services.core.models.callback import CallbackAttempt, CallbackCase
from services.core.models.candidate import Candidate, CandidateStatus
from services.core.models.eligibility import EligibilityCriterion
from services.core.models.intake import Intake, IntakeFile
from services.core.models.match import Match, MatchTransition
from services.core.security.principal import Principal

# Wiped by erasure (the rest of the row is statistics).
PERSONAL_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "search_name",
    "phone_e164",
    "email",
    "address",
    "lon",
    "lat",
    "qpv_code",
    "qpv_declared_code",
    "geocoding_score",
    "sectors_worked_other",
    "sectors_wanted_other",
)


async def delete_intake_files(session: AsyncSession, candidate_id: uuid.UUID) -> list[str]:
    """Remove the file rows of the candidate's intakes; the storage keys they named, whose
    objects the caller deletes from the storage."""
    intake_ids = select(col(Intake.id)).where(col(Intake.candidate_id) == candidate_id)
    keys = await session.scalars(
        delete(IntakeFile)
        .where(col(IntakeFile.intake_id).in_(intake_ids))
        .returning(col(IntakeFile.storage_key))
    )
    return sorted(keys)


async def erase_notes(session: AsyncSession, candidate_id: uuid.UUID) -> None:
    """What counsellors wrote about the person goes too: the notes of their callback attempts
    and the comments of their matches' moves (free texts, like the "autre" ones). The attempts
    and moves themselves stay: the callback report and the statistics count them. A merged
    duplicate keeps them: they are the kept person's now (its export lists them)."""
    cases = select(col(CallbackCase.id)).where(col(CallbackCase.candidate_id) == candidate_id)
    await session.execute(
        update(CallbackAttempt)
        .where(col(CallbackAttempt.case_id).in_(cases), col(CallbackAttempt.comment).is_not(None))
        .values(comment=None)
    )
    matches = select(col(Match.id)).where(col(Match.candidate_id) == candidate_id)
    await session.execute(
        update(MatchTransition)
        .where(
            col(MatchTransition.match_id).in_(matches), col(MatchTransition.comment).is_not(None)
        )
        .values(comment=None)
    )


async def erase(
    session: AsyncSession,
    candidate: Candidate,
    actor: Principal | None,
    *,
    request_id: str | None,
    merged_into: uuid.UUID | None = None,
    reason: str | None = None,
) -> list[str]:
    """Anonymise ``candidate`` (not already anonymised); the storage keys of its files.

    ``actor`` None is the system (the retention job); ``reason`` goes to the audit entry.
    """
    if candidate.status is CandidateStatus.ANONYMISED:
        raise ValueError("candidate already anonymised")
    for name in PERSONAL_FIELDS:
        setattr(candidate, name, None)
    candidate.qpv_near_boundary = False
    candidate.geocoding_due_at, candidate.geocoding_attempts = None, 0
    candidate.status = CandidateStatus.ANONYMISED
    candidate.anonymised_at = now()
    candidate.merged_into_id = merged_into
    await session.execute(
        update(Intake).where(col(Intake.candidate_id) == candidate.id).values(answers={})
    )
    await session.execute(
        delete(EligibilityCriterion).where(col(EligibilityCriterion.candidate_id) == candidate.id)
    )
    keys = await delete_intake_files(session, candidate.id)
    if merged_into is None:
        await erase_notes(session, candidate.id)
    audit.record(
        session,
        actor,
        "anonymise",
        "candidate",
        candidate.id,
        request_id=request_id,
        details={
            "fields": sorted(PERSONAL_FIELDS),
            "files": len(keys),
            **({"merged_into": str(merged_into)} if merged_into else {}),
            **({"reason": reason} if reason else {}),
        },
    )
    emit(session, CandidateAnonymised(candidate_id=candidate.id), request_id=request_id)
    await session.flush()
    await session.refresh(candidate)
    return keys
