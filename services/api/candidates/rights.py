"""The person's rights and the record's hygiene: export (access), erasure, merging duplicates.

Erasure anonymises: identity, contact, address, coordinates, free texts, the raw answers of every
intake, the eligibility criteria and the files go; what statistics need stays (sex, birth year,
commune, QPV status, sectors, needs, dates, shares). A merge moves everything of the duplicate to
the kept candidate, then anonymises the duplicate, which keeps its id (``merged_into_id`` points
to the kept one) so that the audit trail about it still resolves.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.candidates.eligibility import criteria_query
from services.api.candidates.export import (
    AuditExport,
    CandidateExport,
    IntakeExport,
    IntakeFileReference,
    SharePublic,
)
from services.api.candidates.export_activity import activity
from services.api.candidates.schemas import CandidatePublic, EligibilityPublic
from services.api.candidates.service import (
    CandidateAnonymised,
    lock_contacts,
    search_name,
    share,
)
from services.api.errors import Conflict
from services.core import audit, erasure
from services.core.clock import now
from services.core.events import CandidateUpdated, emit
from services.core.geocoding.queue import queue_geocoding
from services.core.models.audit import AuditEntry
from services.core.models.candidate import Candidate, CandidateShare, CandidateStatus, ShareReason
from services.core.models.eligibility import EligibilityCriterion
from services.core.models.intake import Intake, IntakeFile
from services.core.security.principal import Principal

RESIDENCE_FIELDS: tuple[str, ...] = (
    "commune_insee",
    "address",
    "lon",
    "lat",
    "qpv_status",
    "qpv_code",
    "qpv_method",
    "geocoding_score",
    "qpv_polygon_version",
    "qpv_checked_at",
    "qpv_near_boundary",
    "qpv_declared",
    "qpv_declared_code",
)
_NOT_COMPLETED = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "status",
        "search_name",
        "search_vector",  # computed by the database from search_name
        "geocoding_due_at",  # set below when the address moves over
        "geocoding_attempts",
        "last_activity_at",
        "anonymised_at",
        "merged_into_id",
        *RESIDENCE_FIELDS,
    }
)


class SameCandidate(Conflict):
    code = "merge-same-candidate"
    title = "Fusion impossible"
    default_detail = "Un candidat ne peut pas être fusionné avec lui-même."


# -- export ----------------------------------------------------------------------------------


async def export(
    session: AsyncSession, candidate: Candidate, principal: Principal, *, request_id: str
) -> CandidateExport:
    merged_ids = list(
        await session.scalars(
            select(col(Candidate.id))
            .where(col(Candidate.merged_into_id) == candidate.id)
            .order_by(col(Candidate.id))
        )
    )
    intakes = list(
        await session.scalars(
            select(Intake)
            .where(col(Intake.candidate_id) == candidate.id)
            .order_by(col(Intake.deposit_date), col(Intake.id))
        )
    )
    files = list(
        await session.scalars(
            select(IntakeFile)
            .where(col(IntakeFile.intake_id).in_([intake.id for intake in intakes]))
            .order_by(col(IntakeFile.created_at), col(IntakeFile.id))
        )
    )
    criteria = list(await session.scalars(criteria_query(candidate.id, principal)))
    all_criteria = (
        await session.execute(
            select(func.count()).where(col(EligibilityCriterion.candidate_id) == candidate.id)
        )
    ).scalar_one()
    shares = list(
        await session.scalars(
            select(CandidateShare)
            .where(col(CandidateShare.candidate_id) == candidate.id)
            .order_by(col(CandidateShare.created_at), col(CandidateShare.organisation_id))
        )
    )
    held = await activity(session, [candidate.id, *merged_ids], principal)
    about = [
        candidate.id,
        *merged_ids,
        *(i.id for i in intakes),
        *(c.id for c in criteria),
        *held.ids,
    ]
    entries = list(
        await session.scalars(
            select(AuditEntry)
            .where(
                or_(
                    col(AuditEntry.resource_id).in_(about),
                    # Lists name the candidates they showed.
                    *(
                        col(AuditEntry.details).contains({"ids": [str(person_id)]})
                        for person_id in (candidate.id, *merged_ids)
                    ),
                )
            )
            .order_by(col(AuditEntry.occurred_at), col(AuditEntry.id))
        )
    )
    result = CandidateExport(
        exported_at=now(),
        candidate=CandidatePublic.of(candidate),
        intakes=[
            IntakeExport(
                **intake.model_dump(exclude={"updated_at", "candidate_id"}),
                files=[
                    IntakeFileReference(**file.model_dump(exclude={"updated_at", "storage_key"}))
                    for file in files
                    if file.intake_id == intake.id
                ],
            )
            for intake in intakes
        ],
        eligibility=[EligibilityPublic.of(criterion) for criterion in criteria],
        sensitive_withheld=all_criteria - len(criteria),
        shares=[
            SharePublic(
                organisation_id=item.organisation_id, reason=item.reason, created_at=item.created_at
            )
            for item in shares
        ],
        merged_ids=merged_ids,
        callbacks=held.callbacks,
        matches=held.matches,
        notifications=held.notifications,
        audit=[AuditExport(**entry.model_dump(exclude={"id", "request_id"})) for entry in entries],
    )
    audit.record(session, principal, "export", "candidate", candidate.id, request_id=request_id)
    return result


# -- erasure ---------------------------------------------------------------------------------


async def anonymise(
    session: AsyncSession,
    candidate: Candidate,
    principal: Principal | None,
    *,
    request_id: str | None,
    merged_into: uuid.UUID | None = None,
) -> list[str]:
    """Erase the person, keep the statistics; the storage keys of the files to delete."""
    if candidate.status is CandidateStatus.ANONYMISED:
        raise CandidateAnonymised()
    return await erasure.erase(
        session, candidate, principal, request_id=request_id, merged_into=merged_into
    )


# -- duplicates ------------------------------------------------------------------------------


async def merge(
    session: AsyncSession,
    kept: Candidate,
    duplicate: Candidate,
    principal: Principal,
    *,
    request_id: str,
) -> Candidate:
    """Move the duplicate's intakes, shares and criteria to ``kept``, complete ``kept`` with
    what only the duplicate knew, then anonymise the duplicate."""
    if kept.id == duplicate.id:
        raise SameCandidate()
    if CandidateStatus.ANONYMISED in (kept.status, duplicate.status):
        raise CandidateAnonymised()
    await lock_contacts(
        session,
        [
            f"{kind}:{value}"
            for person in (kept, duplicate)
            for kind, value in (("phone", person.phone_e164), ("email", person.email))
            if value
        ],
    )
    await session.execute(
        update(Intake).where(col(Intake.candidate_id) == duplicate.id).values(candidate_id=kept.id)
    )
    await session.execute(
        update(EligibilityCriterion)
        .where(col(EligibilityCriterion.candidate_id) == duplicate.id)
        .values(candidate_id=kept.id)
    )
    organisations: Sequence[uuid.UUID] = (
        await session.scalars(
            select(col(CandidateShare.organisation_id)).where(
                col(CandidateShare.candidate_id) == duplicate.id
            )
        )
    ).all()
    for organisation_id in organisations:
        await share(session, kept.id, organisation_id, ShareReason.MERGE)
    completed: list[str] = []
    if kept.commune_insee is None and kept.lon is None and duplicate.commune_insee is not None:
        # Where the person lives moves as a whole, with its QPV answer.
        for name in RESIDENCE_FIELDS:
            setattr(kept, name, getattr(duplicate, name))
        completed.extend(RESIDENCE_FIELDS)
    for name in Candidate.model_fields:
        if name in _NOT_COMPLETED:
            continue
        mine, theirs = getattr(kept, name), getattr(duplicate, name)
        if isinstance(mine, list):
            union = [*mine, *(item for item in theirs if item not in mine)]
            if union != mine:
                setattr(kept, name, union)
                completed.append(name)
        elif mine is None and theirs is not None:
            setattr(kept, name, theirs)
            completed.append(name)
    kept.search_name = search_name(kept.first_name, kept.last_name)
    kept.last_activity_at = now()
    if "address" in completed:
        queue_geocoding(kept)
    # The duplicate's contact details move over before it is anonymised: free them first.
    await session.flush()
    await anonymise(session, duplicate, principal, request_id=request_id, merged_into=kept.id)
    audit.record(
        session,
        principal,
        "merge",
        "candidate",
        kept.id,
        request_id=request_id,
        details={"duplicate_id": str(duplicate.id), "fields": sorted(completed)},
    )
    emit(session, CandidateUpdated(candidate_id=kept.id), request_id=request_id)
    await session.flush()
    await session.refresh(kept)
    return kept


def duplicate_groups(visible: ColumnElement[bool]) -> Select[str | None, str | None]:
    """(search name, commune) pairs shared by several live candidates the caller sees."""
    live = (
        visible,
        col(Candidate.status) != CandidateStatus.ANONYMISED,
        col(Candidate.search_name).is_not(None),
    )
    return (
        select(col(Candidate.search_name), col(Candidate.commune_insee))
        .where(*live)
        .group_by(col(Candidate.search_name), col(Candidate.commune_insee))
        .having(func.count() > 1)
        .order_by(col(Candidate.search_name), col(Candidate.commune_insee))
    )


async def members(
    session: AsyncSession,
    visible: ColumnElement[bool],
    groups: Sequence[tuple[str | None, str | None]],
) -> dict[tuple[str | None, str | None], list[Candidate]]:
    """The candidates of each group, oldest first."""
    if not groups:
        return {}
    keys = [
        and_(
            col(Candidate.search_name) == name,
            col(Candidate.commune_insee).is_(None)
            if commune is None
            else col(Candidate.commune_insee) == commune,
        )
        for name, commune in groups
    ]
    rows = await session.scalars(
        select(Candidate)
        .where(visible, col(Candidate.status) != CandidateStatus.ANONYMISED, or_(*keys))
        .order_by(col(Candidate.created_at), col(Candidate.id))
    )
    found: dict[tuple[str | None, str | None], list[Candidate]] = {group: [] for group in groups}
    for candidate in rows:
        found[(candidate.search_name, candidate.commune_insee)].append(candidate)
    return found
