"""Attempts, outcomes and assignments of callback cases (decision 0020).

What the sequence allows, on an open case:

- an attempt, while fewer than 3 were made and nobody reached the person yet (a fourth attempt,
  or one after the person was reached, is a 409); the third failed attempt closes the case as
  ``unreachable``;
- an outcome, once an attempt reached the person; it closes the case;
- a reassignment, at any time while the case is open.

A closed case takes nothing more (409). Every change is audited; pending alerts of a closed case
are cancelled, and its schedule is cleared.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.errors import Conflict, ValidationFailed
from services.api.validation import FieldError
from services.core import audit
from services.core.alerts.raising import cancel_alerts
from services.core.calendar import local
from services.core.callbacks.cases import COUNSELLOR_ROLES, Policies, Recipients, advance
from services.core.callbacks.schedule import case_key_prefix
from services.core.models.callback import (
    MAX_ATTEMPTS,
    AttemptChannel,
    AttemptResult,
    CallbackAttempt,
    CallbackCase,
    CallbackOutcome,
    CallbackStatus,
)
from services.core.models.candidate import Candidate, CandidateShare, ShareReason
from services.core.models.organisation import Organisation
from services.core.models.user import User
from services.core.security.principal import Principal
from services.core.settings import Settings

_error = FieldError.of_body

# A client's clock may run a little ahead of ours.
CLOCK_TOLERANCE = timedelta(minutes=5)


class CallbackClosed(Conflict):
    code = "callback-closed"
    title = "Rappel clos"
    default_detail = "Ce rappel est clos : il ne prend plus ni tentative, ni suite, ni attribution."


class AttemptsExhausted(Conflict):
    code = "callback-attempts-exhausted"
    title = "Tentatives épuisées"
    default_detail = (
        "Trois tentatives ont déjà été faites (l'appel initial et deux relances) : "
        "aucune autre ne peut être enregistrée."
    )


class AlreadyReached(Conflict):
    code = "callback-already-reached"
    title = "Personne déjà jointe"
    default_detail = (
        "La personne a déjà été jointe : enregistrez la suite donnée plutôt qu'une nouvelle "
        "tentative."
    )


class NotReached(Conflict):
    code = "callback-not-reached"
    title = "Personne non jointe"
    default_detail = (
        "Une suite ne se donne qu'à une personne jointe : enregistrez d'abord la tentative "
        "où elle a été jointe."
    )


async def attempts_of(session: AsyncSession, case_id: uuid.UUID) -> list[CallbackAttempt]:
    rows = await session.scalars(
        select(CallbackAttempt)
        .where(col(CallbackAttempt.case_id) == case_id)
        .order_by(col(CallbackAttempt.number))
    )
    return list(rows)


async def _close(
    session: AsyncSession, case: CallbackCase, outcome: CallbackOutcome, at: datetime
) -> None:
    case.status = CallbackStatus.CLOSED
    case.outcome = outcome
    case.closed_at = at
    case.next_alert_kind = None
    case.next_alert_at = None
    await cancel_alerts(session, key_prefix=case_key_prefix(case.id))


async def _activity(session: AsyncSession, case: CallbackCase, at: datetime) -> None:
    """A call or an outcome is activity on the person's file: retention counts from it
    (decision 0024)."""
    await session.execute(
        update(Candidate)
        .where(col(Candidate.id) == case.candidate_id)
        .values(last_activity_at=func.greatest(col(Candidate.last_activity_at), at))
    )


def _check_open(case: CallbackCase) -> None:
    if case.status is CallbackStatus.CLOSED:
        raise CallbackClosed()


async def record_attempt(
    session: AsyncSession,
    case: CallbackCase,
    principal: Principal,
    settings: Settings,
    at: datetime,
    *,
    channel: AttemptChannel,
    result: AttemptResult,
    attempted_at: datetime | None,
    comment: str | None,
    request_id: str | None = None,
) -> CallbackAttempt:
    if case.attempt_count >= MAX_ATTEMPTS:
        raise AttemptsExhausted()
    _check_open(case)
    if case.reached_at is not None:
        raise AlreadyReached()
    when = attempted_at or at
    errors: list[FieldError] = []
    if when > at + CLOCK_TOLERANCE:
        errors.append(_error("attempted_at", "une tentative ne peut pas être dans le futur"))
    earliest = local(case.deposit_date, datetime.min.time())
    if when < earliest or (case.last_attempt_at is not None and when < case.last_attempt_at):
        errors.append(
            _error(
                "attempted_at",
                "une tentative ne peut précéder ni le dépôt ni la tentative précédente",
            )
        )
    if errors:
        raise ValidationFailed(errors)
    number = case.attempt_count + 1
    attempt = CallbackAttempt(
        case_id=case.id,
        number=number,
        channel=channel,
        result=result,
        attempted_at=when,
        actor_type=principal.kind,
        actor_id=principal.id,
        comment=comment,
    )
    session.add(attempt)
    case.attempt_count = number
    case.first_attempt_at = case.first_attempt_at or when
    case.last_attempt_at = when
    case.last_attempt_result = result
    if result is AttemptResult.REACHED:
        case.reached_at = when
    if result is not AttemptResult.REACHED and number == MAX_ATTEMPTS:
        await _close(session, case, CallbackOutcome.UNREACHABLE, at)
    else:
        policy = await Policies(settings).of(session, case.organisation_id)
        await advance(session, case, policy, at, Recipients(), request_id=request_id)
    await _activity(session, case, at)
    audit.record(
        session,
        principal,
        "attempt",
        "callback_case",
        case.id,
        request_id=request_id,
        details={"number": number, "result": result.value, "status": case.status.value},
    )
    await session.flush()
    return attempt


async def record_outcome(
    session: AsyncSession,
    case: CallbackCase,
    principal: Principal,
    at: datetime,
    outcome: CallbackOutcome,
    *,
    request_id: str | None = None,
) -> None:
    _check_open(case)
    if case.reached_at is None:
        raise NotReached()
    await _close(session, case, outcome, at)
    await _activity(session, case, at)
    audit.record(
        session,
        principal,
        "outcome",
        "callback_case",
        case.id,
        request_id=request_id,
        details={"outcome": outcome.value},
    )
    await session.flush()


async def assign(
    session: AsyncSession,
    case: CallbackCase,
    principal: Principal,
    settings: Settings,
    at: datetime,
    *,
    organisation_id: uuid.UUID | None,
    prescriber_id: uuid.UUID | None,
    request_id: str | None = None,
) -> bool:
    """Reassign the case; False when nothing changed. The organisation must be an active one of
    the caller's territory (any, for the admin); the prescriber a counsellor of it."""
    _check_open(case)
    target_id = organisation_id or case.organisation_id
    organisation = await session.get(Organisation, target_id)
    if (
        organisation is None
        or not organisation.is_active
        or (organisation_id is not None and not principal.sees(target_id))
    ):
        raise ValidationFailed(
            [_error("organisation_id", "organisation inconnue, inactive ou hors de votre champ")]
        )
    if prescriber_id is not None:
        user = await session.get(User, prescriber_id)
        if (
            user is None
            or not user.is_active
            or user.organisation_id != target_id
            or user.role not in COUNSELLOR_ROLES
        ):
            raise ValidationFailed(
                [
                    _error(
                        "prescriber_id",
                        "le prescripteur doit être un conseiller actif de l'organisation",
                    )
                ]
            )
    if target_id == case.organisation_id and prescriber_id == case.prescriber_id:
        return False
    case.organisation_id = target_id
    case.prescriber_id = prescriber_id
    case.assigned_at = at
    case.assignment_number += 1
    # The organisation now in charge sees the person (decision 0011's shares).
    await session.execute(
        insert(CandidateShare)
        .values(
            candidate_id=case.candidate_id,
            organisation_id=target_id,
            reason=ShareReason.REFERRAL,
            created_at=at,
        )
        .on_conflict_do_nothing()
    )
    policy = await Policies(settings).of(session, case.organisation_id)
    await advance(session, case, policy, at, Recipients(), request_id=request_id)
    audit.record(
        session,
        principal,
        "assign",
        "callback_case",
        case.id,
        request_id=request_id,
        details={
            "organisation_id": str(target_id),
            "prescriber_id": str(prescriber_id) if prescriber_id else None,
        },
    )
    await session.flush()
    return True


async def assign_many(
    session: AsyncSession,
    cases: list[CallbackCase],
    principal: Principal,
    settings: Settings,
    at: datetime,
    *,
    organisation_id: uuid.UUID | None,
    prescriber_id: uuid.UUID | None,
    request_id: str | None = None,
) -> int:
    """Assign every case of ``cases`` (locked, visible to the caller) as :func:`assign` does;
    how many changed. Every case is checked before any is changed: a closed one refuses the
    whole request, and a refusal of :func:`assign` (target, prescriber) comes on the first case,
    before anything was written."""
    closed = [index for index, case in enumerate(cases) if case.status is CallbackStatus.CLOSED]
    if closed:
        raise CallbackClosed(
            "Des rappels sont clos et ne prennent plus d'attribution (positions "
            f"{', '.join(str(index) for index in closed)} de « callback_ids ») : rien n'a été "
            "attribué."
        )
    changed = 0
    for case in cases:
        changed += await assign(
            session,
            case,
            principal,
            settings,
            at,
            organisation_id=organisation_id,
            prescriber_id=prescriber_id,
            request_id=request_id,
        )
    return changed
