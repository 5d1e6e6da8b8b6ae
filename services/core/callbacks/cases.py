"""Callback cases: opened by intakes, advanced along their alert schedule.

Shared by the notifications worker (event handler, per-case job, sweep) and the API (attempts,
outcomes, assignments). Everything here runs in the caller's transaction and only flushes.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core import audit
from services.core.alerts.kinds import AlertKind
from services.core.alerts.raising import AlertRequest, cancel_alerts, raise_alert
from services.core.callbacks.routing import Route, route
from services.core.callbacks.schedule import (
    AlertPolicy,
    CaseState,
    PlannedAlert,
    alert_key,
    case_key_prefix,
    days_left,
    due_alerts,
    due_at,
)
from services.core.clock import PARIS
from services.core.events import CallbackOverdue, Event, emit
from services.core.models.callback import (
    AttemptResult,
    CallbackAlertKind,
    CallbackCase,
    CallbackSettings,
    CallbackStatus,
)
from services.core.models.candidate import Candidate, CandidateShare, CandidateStatus, ShareReason
from services.core.models.intake import Intake
from services.core.models.user import Role, User
from services.core.settings import Settings

ALERT_KINDS: dict[CallbackAlertKind, AlertKind] = {
    CallbackAlertKind.ASSIGNED: AlertKind.CALLBACK_ASSIGNED,
    CallbackAlertKind.REMINDER: AlertKind.CALLBACK_REMINDER,
    CallbackAlertKind.URGENT: AlertKind.CALLBACK_URGENT,
    CallbackAlertKind.OVERDUE: AlertKind.CALLBACK_OVERDUE,
    CallbackAlertKind.FOLLOW_UP: AlertKind.CALLBACK_FOLLOW_UP,
}

# How alerts leave: ``raise_alert``; the benchmark swaps it to time the sweep alone.
RaiseAlert = Callable[[AsyncSession, AlertRequest], Awaitable[int]]

# Who calls people back in an organisation, when no prescriber is named on the case.
COUNSELLOR_ROLES = (Role.PRESCRIBER, Role.FACILITATOR)


@dataclass
class Policies:
    """Alert policies by organisation, loaded once per batch."""

    settings: Settings
    _known: dict[uuid.UUID, AlertPolicy] = field(default_factory=dict)

    async def load(self, session: AsyncSession, organisation_ids: Iterable[uuid.UUID]) -> None:
        missing = set(organisation_ids) - set(self._known)
        if not missing:
            return
        rows = await session.scalars(
            select(CallbackSettings).where(col(CallbackSettings.organisation_id).in_(missing))
        )
        overrides = {row.organisation_id: row for row in rows}
        for organisation_id in missing:
            self._known[organisation_id] = AlertPolicy.of(
                self.settings, overrides.get(organisation_id)
            )

    async def of(self, session: AsyncSession, organisation_id: uuid.UUID) -> AlertPolicy:
        await self.load(session, [organisation_id])
        return self._known[organisation_id]


@dataclass
class Recipients:
    """Active counsellors and managers by organisation, loaded once per batch."""

    counsellors: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    managers: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    active: set[uuid.UUID] = field(default_factory=set)

    async def load(
        self,
        session: AsyncSession,
        organisation_ids: Iterable[uuid.UUID],
        prescriber_ids: Iterable[uuid.UUID | None] = (),
    ) -> None:
        missing = set(organisation_ids) - set(self.counsellors)
        named = {p for p in prescriber_ids if p is not None} - self.active
        if not missing and not named:
            return
        for organisation_id in missing:
            self.counsellors[organisation_id] = []
            self.managers[organisation_id] = []
        rows = await session.execute(
            select(col(User.id), col(User.organisation_id), col(User.role), col(User.is_manager))
            .where(
                col(User.is_active).is_(True),
                col(User.organisation_id).in_(missing) | col(User.id).in_(named),
            )
            .order_by(col(User.id))
        )
        for user_id, organisation_id, role, is_manager in rows:
            self.active.add(user_id)
            if organisation_id not in missing:
                continue
            if role in COUNSELLOR_ROLES:
                self.counsellors[organisation_id].append(user_id)
            if is_manager:
                self.managers[organisation_id].append(user_id)

    def of(self, case: CaseFacts, kind: CallbackAlertKind) -> list[uuid.UUID]:
        """The overdue alert goes to the organisation's managers only; the others to the named
        prescriber, else the organisation's counsellors, else its managers."""
        managers = self.managers.get(case.organisation_id, [])
        if kind is CallbackAlertKind.OVERDUE:
            return managers
        if case.prescriber_id is not None and case.prescriber_id in self.active:
            return [case.prescriber_id]
        return self.counsellors.get(case.organisation_id) or managers


class CaseFacts(Protocol):
    """What the schedule and the alerts read of a case: a ``CallbackCase``, or a row of the
    same columns (the sweep reads rows, not objects)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def organisation_id(self) -> uuid.UUID: ...
    @property
    def prescriber_id(self) -> uuid.UUID | None: ...
    @property
    def deposit_date(self) -> date: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def assigned_at(self) -> datetime: ...
    @property
    def assignment_number(self) -> int: ...
    @property
    def attempt_count(self) -> int: ...
    @property
    def last_attempt_at(self) -> datetime | None: ...
    @property
    def last_attempt_result(self) -> AttemptResult | None: ...
    @property
    def status(self) -> CallbackStatus: ...
    @property
    def alerts_raised(self) -> list[str]: ...


def state_of(case: CaseFacts) -> CaseState:
    return CaseState(
        deposit_date=case.deposit_date,
        assigned_at=case.assigned_at,
        assignment_number=case.assignment_number,
        attempt_count=case.attempt_count,
        last_attempt_at=case.last_attempt_at,
        last_attempt_result=case.last_attempt_result,
        closed=case.status is CallbackStatus.CLOSED,
        raised=frozenset(case.alerts_raised),
    )


def alert_context(
    case: CaseFacts, alert: PlannedAlert, at: datetime
) -> dict[str, str | int | None]:
    """What the French templates need: no name, no contact."""
    return {
        "case_id": str(case.id),
        "case_path": f"/v1/callbacks/{case.id}",
        "deposit_date": case.deposit_date.strftime("%d/%m/%Y"),
        "due_date": case.due_at.astimezone(PARIS).date().strftime("%d/%m/%Y"),
        "days_left": days_left(case.due_at, at),
        "attempt_count": case.attempt_count,
        "attempt_number": alert.attempt_number,
    }


async def raise_planned(
    session: AsyncSession,
    case: CaseFacts,
    raised: list[PlannedAlert],
    at: datetime,
    recipients: Recipients,
    *,
    request_id: str | None = None,
    raise_with: RaiseAlert = raise_alert,
    overdue: list[Event] | None = None,
) -> None:
    """Raise ``raised`` (alerts of ``case`` due at ``at``); the overdue one emits
    ``callback.overdue`` too — or adds it to ``overdue``, for the caller to emit with its
    batch's."""
    if raised:
        await recipients.load(session, [case.organisation_id], [case.prescriber_id])
    for alert in raised:
        await raise_with(
            session,
            AlertRequest(
                kind=ALERT_KINDS[alert.kind],
                key=alert_key(case.id, alert.tag),
                recipient_user_ids=recipients.of(case, alert.kind),
                organisation_id=case.organisation_id,
                subject_type="callback_case",
                subject_id=case.id,
                context=alert_context(case, alert, at),
            ),
        )
        if alert.kind is CallbackAlertKind.OVERDUE:
            event = CallbackOverdue(callback_id=case.id)
            if overdue is None:
                emit(session, event, request_id=request_id)
            else:
                overdue.append(event)


async def advance(
    session: AsyncSession,
    case: CallbackCase,
    policy: AlertPolicy,
    at: datetime,
    recipients: Recipients,
    *,
    request_id: str | None = None,
    raise_with: RaiseAlert = raise_alert,
) -> list[PlannedAlert]:
    """Raise every alert of ``case`` due at ``at`` and store the next one. Idempotent: a raised
    alert is recorded on the case, and ``raise_alert`` itself ignores a key raised twice."""
    raised, upcoming = due_alerts(state_of(case), policy, at)
    await raise_planned(
        session, case, raised, at, recipients, request_id=request_id, raise_with=raise_with
    )
    if raised:
        case.alerts_raised = [*case.alerts_raised, *(alert.tag for alert in raised)]
    case.next_alert_kind = upcoming.kind if upcoming else None
    case.next_alert_at = upcoming.at if upcoming else None
    return raised


@dataclass(frozen=True)
class Opened:
    case: CallbackCase
    created: bool  # False: the person came back while a case was open


async def open_for_intake(
    session: AsyncSession,
    intake_id: uuid.UUID,
    settings: Settings,
    at: datetime,
    *,
    policies: Policies | None = None,
    recipients: Recipients | None = None,
) -> Opened | None:
    """Open the case of an intake, unless its candidate has an open one: the person came back,
    which that case records. None when the intake or its candidate is gone (erased)."""
    intake = await session.get(Intake, intake_id)
    if intake is None:
        return None
    candidate = await session.get(Candidate, intake.candidate_id)
    if candidate is None or candidate.status is CandidateStatus.ANONYMISED:
        return None
    existing = await session.scalar(
        select(CallbackCase)
        .where(
            col(CallbackCase.candidate_id) == intake.candidate_id,
            col(CallbackCase.status) == CallbackStatus.OPEN,
        )
        .with_for_update()
    )
    if existing is not None:
        if existing.intake_id != intake.id:
            existing.returned_count += 1
            if existing.last_returned_on is None or intake.deposit_date > existing.last_returned_on:
                existing.last_returned_on = intake.deposit_date
        return Opened(existing, created=False)
    if await session.scalar(
        select(col(CallbackCase.id)).where(col(CallbackCase.intake_id) == intake.id)
    ):
        return None  # this intake's case was opened and closed already
    routed = await route(session, intake.organisation_id, intake.place_organisation_id)
    case = CallbackCase(
        candidate_id=intake.candidate_id,
        intake_id=intake.id,
        received_by_organisation_id=intake.organisation_id,
        place_organisation_id=intake.place_organisation_id,
        deposit_date=intake.deposit_date,
        due_at=due_at(intake.deposit_date, settings.callback_window_days),
        organisation_id=routed.organisation_id if routed else intake.organisation_id,
        prescriber_id=routed.prescriber_id if routed else None,
        assigned_at=at,
        opened_at=at,
    )
    session.add(case)
    await session.flush()
    if routed is not None:
        await _routed(session, case, routed, at)
    policies = policies or Policies(settings)
    await advance(
        session,
        case,
        await policies.of(session, case.organisation_id),
        at,
        recipients or Recipients(),
    )
    await session.flush()
    return Opened(case, created=True)


async def _routed(session: AsyncSession, case: CallbackCase, routed: Route, at: datetime) -> None:
    """A routed case: the organisation now in charge sees the person (a share, as a
    reassignment gives), and the routing is audited as the system's act."""
    await session.execute(
        insert(CandidateShare)
        .values(
            candidate_id=case.candidate_id,
            organisation_id=routed.organisation_id,
            reason=ShareReason.REFERRAL,
            created_at=at,
        )
        .on_conflict_do_nothing()
    )
    audit.record(
        session,
        None,
        "route",
        "callback_case",
        case.id,
        details={
            "rule_id": str(routed.rule_id),
            "organisation_id": str(routed.organisation_id),
            "prescriber_id": str(routed.prescriber_id) if routed.prescriber_id else None,
        },
    )


def overdue(case: CallbackCase, at: datetime) -> bool:
    return case.status is CallbackStatus.OPEN and days_left(case.due_at, at) <= 0


async def close_for_erasure(session: AsyncSession, candidate_id: uuid.UUID, at: datetime) -> int:
    """An erased (or merged away) person is called back no more: their open case is closed
    without an outcome and its pending alerts cancelled. Returns how many cases were closed."""
    cases = list(
        await session.scalars(
            select(CallbackCase)
            .where(
                col(CallbackCase.candidate_id) == candidate_id,
                col(CallbackCase.status) == CallbackStatus.OPEN,
            )
            .with_for_update()
        )
    )
    for case in cases:
        case.status = CallbackStatus.CLOSED
        case.closed_at = at
        case.next_alert_kind = None
        case.next_alert_at = None
        await cancel_alerts(session, key_prefix=case_key_prefix(case.id))
    await session.flush()
    return len(cases)
