"""Retention (product.md §9): a candidate with no activity for 24 months — 1 to 36, per
organisation — is anonymised, after the organisation was warned 30 days ahead.

The organisation whose rule applies is the candidate's referent organisation, else the one that
created the candidate. Activity is ``candidate.last_activity_at`` (creation, intakes, changes,
callback attempts). A daily job (notifications worker) runs :func:`retention_sweep`:

1. **warn** — candidates within ``retention_warning_days`` of their limit and not warned since
   their last activity: ``retention_warned_at`` is set and the referent prescriber, else the
   organisation's managers, get an alert (no name in it: a link to the file);
2. **anonymise** — candidates past their limit, warned since their last activity at least
   ``retention_warning_days`` ago (a late warning still gives its full notice): erased as
   ``DELETE /v1/candidates/{id}`` does (services/core/erasure.py), by the system, reason
   ``retention``, files deleted before the commit.

Any activity after a warning cancels it: the next warning comes with the next limit.
Both steps run in batches (``FOR UPDATE SKIP LOCKED``) of indexed queries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from services.core import erasure
from services.core.alerts.kinds import AlertKind
from services.core.alerts.raising import AlertRequest, raise_alert
from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.logging import get_logger
from services.core.models.candidate import Candidate, CandidateShare, CandidateStatus, ShareReason
from services.core.models.organisation import Organisation
from services.core.models.user import Role, User
from services.core.settings import Settings
from services.core.storage.base import Storage

log = get_logger("maillon.retention")

MAX_RETENTION_MONTHS = 36


@dataclass(slots=True)
class RetentionRun:
    warned: int = 0
    anonymised: int = 0
    files_deleted: int = 0


def _owner() -> ColumnElement[uuid.UUID]:
    """The organisation whose retention applies to the candidate of the outer query."""
    creator = (
        select(col(CandidateShare.organisation_id))
        .where(
            col(CandidateShare.candidate_id) == col(Candidate.id),
            col(CandidateShare.reason) == ShareReason.CREATED,
        )
        .order_by(col(CandidateShare.created_at))
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(col(Candidate.referent_organisation_id), creator)


def _limit(settings: Settings) -> tuple[ColumnElement[datetime], type[Organisation]]:
    """The moment the candidate's retention ends: last activity + the owner's months."""
    owner = aliased(Organisation)
    months = func.coalesce(col(owner.retention_months), settings.retention_months)
    return col(Candidate.last_activity_at) + func.make_interval(0, months), owner


def _due(settings: Settings, *, before: datetime) -> Select[Candidate, uuid.UUID]:
    """Candidates whose retention limit falls before ``before``; with the owner's id."""
    limit, owner = _limit(settings)
    owner_id = _owner()
    # No organisation keeps anyone longer than 36 months, and none less than one: an indexed
    # range on last_activity_at cuts the table before the per-owner limit is computed.
    earliest = before - timedelta(days=28)
    return (
        select(Candidate, col(owner.id))
        .outerjoin(owner, col(owner.id) == owner_id)
        .where(
            col(Candidate.status) != CandidateStatus.ANONYMISED,
            col(Candidate.last_activity_at) < earliest,
            limit < before,
        )
        .order_by(col(Candidate.last_activity_at))
    )


def _not_warned_since_activity() -> ColumnElement[bool]:
    return or_(
        col(Candidate.retention_warned_at).is_(None),
        col(Candidate.retention_warned_at) < col(Candidate.last_activity_at),
    )


async def _months_by_owner(
    session: AsyncSession, owners: set[uuid.UUID | None], settings: Settings
) -> dict[uuid.UUID | None, int]:
    ids = [owner for owner in owners if owner is not None]
    rows = await session.execute(
        select(col(Organisation.id), col(Organisation.retention_months)).where(
            col(Organisation.id).in_(ids)
        )
    )
    return {owner: months or settings.retention_months for owner, months in rows.all()}


async def warn_due(sessionmaker: SessionMaker, settings: Settings, *, batch_size: int) -> int:
    """One batch of warnings; how many candidates were warned."""
    moment = now()
    notice = timedelta(days=settings.retention_warning_days)
    query = (
        _due(settings, before=moment + notice)
        .where(_not_warned_since_activity())
        .limit(batch_size)
        .with_for_update(of=Candidate, skip_locked=True)
    )
    async with unit_of_work(sessionmaker) as session:
        rows = (await session.execute(query)).all()
        months = await _months_by_owner(session, {owner_id for _, owner_id in rows}, settings)
        for candidate, owner_id in rows:
            candidate.retention_warned_at = moment
            recipients: list[uuid.UUID] = []
            if candidate.referent_prescriber_id is not None:
                referent = await session.get(User, candidate.referent_prescriber_id)
                if referent is not None and referent.is_active:
                    recipients = [referent.id]
            if not recipients and owner_id is not None:
                recipients = list(
                    await session.scalars(
                        select(col(User.id)).where(
                            col(User.organisation_id) == owner_id,
                            col(User.is_active),
                            or_(col(User.is_manager), col(User.role) == Role.ADMIN),
                        )
                    )
                )
            if owner_id is None or not recipients:
                continue
            await raise_alert(
                session,
                AlertRequest(
                    kind=AlertKind.CANDIDATE_RETENTION,
                    key=f"retention:{candidate.id}:{moment.date().isoformat()}",
                    recipient_user_ids=recipients,
                    organisation_id=owner_id,
                    subject_type="candidate",
                    subject_id=candidate.id,
                    context={
                        "months": months.get(owner_id, settings.retention_months),
                        "anonymised_on": (moment + notice).date().strftime("%d/%m/%Y"),
                        "url": f"{settings.notification_link_base_url.rstrip('/')}"
                        f"/candidats/{candidate.id}",
                    },
                ),
            )
        return len(rows)


async def anonymise_due(
    sessionmaker: SessionMaker, storage: Storage, settings: Settings, *, batch_size: int
) -> tuple[int, int]:
    """One batch of anonymisations; (candidates, files deleted)."""
    moment = now()
    notice = timedelta(days=settings.retention_warning_days)
    query = (
        _due(settings, before=moment)
        .where(
            col(Candidate.retention_warned_at).is_not(None),
            col(Candidate.retention_warned_at) >= col(Candidate.last_activity_at),
            col(Candidate.retention_warned_at) <= moment - notice,
        )
        .limit(batch_size)
        .with_for_update(of=Candidate, skip_locked=True)
    )
    deleted = 0
    async with unit_of_work(sessionmaker) as session:
        rows = (await session.execute(query)).all()
        for candidate, _owner_id in rows:
            keys = await erasure.erase(
                session, candidate, None, request_id=None, reason="retention"
            )
            # Before the commit, as the API does: should a deletion fail, the batch rolls back
            # and is tried again tomorrow — never a committed erasure whose files survived.
            for key in keys:
                deleted += int(await storage.delete(key))
    return len(rows), deleted


async def retention_sweep(
    sessionmaker: SessionMaker, storage: Storage, settings: Settings, *, batch_size: int = 500
) -> RetentionRun:
    run = RetentionRun()
    while (warned := await warn_due(sessionmaker, settings, batch_size=batch_size)) > 0:
        run.warned += warned
        if warned < batch_size:
            break
    while True:
        anonymised, files = await anonymise_due(
            sessionmaker, storage, settings, batch_size=batch_size
        )
        run.anonymised += anonymised
        run.files_deleted += files
        if anonymised < batch_size:
            break
    log.info(
        "retention_sweep",
        warned=run.warned,
        anonymised=run.anonymised,
        files_deleted=run.files_deleted,
    )
    return run


async def run_retention(ctx: dict[str, Any]) -> dict[str, int]:
    """Nightly cron job of the notifications worker."""
    settings = cast(Settings, ctx["settings"])
    done = await retention_sweep(
        cast(SessionMaker, ctx["sessionmaker"]), cast(Storage, ctx["storage"]), settings
    )
    return {"warned": done.warned, "anonymised": done.anonymised, "files": done.files_deleted}


__all__ = [
    "MAX_RETENTION_MONTHS",
    "RetentionRun",
    "anonymise_due",
    "retention_sweep",
    "run_retention",
    "warn_due",
]
