"""The alert schedule of a callback case: pure functions of the case's state and the clock.

Alerts (product.md §6) fall on working days in office hours, Europe/Paris time, French public
holidays excluded; moments are computed as local wall-clock times and converted to UTC, so they
stay at 09:00 across daylight-saving changes. See docs/decisions/0020.

- ``assigned``: on each (re)assignment, at the next office moment;
- ``reminder``: day 14 after the deposit, only while no attempt has been made;
- ``urgent``: day 25; ``overdue``: day 30 (to the organisation's managers);
- ``follow_up``: after a failed attempt (not the third), 2 working days later.

``reminder``, ``urgent`` and ``overdue`` form a ladder: once a step is raised, the steps below it
are never raised, and when several are due at once (a case opened late, a sweep that did not run)
only the highest one is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from services.core.calendar import add_working_days, is_working_day, local, next_working_day
from services.core.clock import PARIS
from services.core.models.callback import (
    MAX_ATTEMPTS,
    AttemptResult,
    CallbackAlertKind,
    CallbackSettings,
)
from services.core.settings import Settings


@dataclass(frozen=True)
class AlertPolicy:
    """When alerts fall, for one organisation: the instance settings and its own overrides."""

    window_days: int = 30
    reminder_day: int = 14
    urgent_day: int = 25
    follow_up_working_days: int = 2
    office_start_hour: int = 9
    office_end_hour: int = 18

    @classmethod
    def of(cls, settings: Settings, overrides: CallbackSettings | None = None) -> AlertPolicy:
        def pick(name: str, default: int) -> int:
            own: int | None = getattr(overrides, name, None)
            return default if own is None else own

        return cls(
            window_days=settings.callback_window_days,
            reminder_day=pick("reminder_day", settings.callback_reminder_day),
            urgent_day=pick("urgent_day", settings.callback_urgent_day),
            follow_up_working_days=pick(
                "follow_up_working_days", settings.callback_follow_up_working_days
            ),
            office_start_hour=pick("office_start_hour", settings.callback_office_start_hour),
            office_end_hour=pick("office_end_hour", settings.callback_office_end_hour),
        )

    @property
    def office_start(self) -> time:
        return time(self.office_start_hour)


def office_moment(at: datetime, policy: AlertPolicy) -> datetime:
    """The earliest moment at or after ``at`` that falls on a working day in office hours."""
    paris = at.astimezone(PARIS)
    day = paris.date()
    if is_working_day(day):
        if paris.hour < policy.office_start_hour:
            return local(day, policy.office_start)
        if paris.hour < policy.office_end_hour:
            return at.astimezone(UTC)
    return local(next_working_day(day), policy.office_start)


@lru_cache(maxsize=8192)  # deposits share few dates: the sweep computes each moment once
def day_moment(deposit_date: date, day_number: int, policy: AlertPolicy) -> datetime:
    """Day ``day_number`` of the window (the deposit date is day 0), at opening time or the next
    office moment after it."""
    return office_moment(local(deposit_date + timedelta(days=day_number), time(0)), policy)


def due_at(deposit_date: date, window_days: int) -> datetime:
    """The window closes at midnight (Paris) starting day ``window_days``."""
    return local(deposit_date + timedelta(days=window_days), time(0))


def days_left(due: datetime, at: datetime) -> int:
    """Whole days between today (Paris) and the closing day; 0 or less: overdue."""
    return (due.astimezone(PARIS).date() - at.astimezone(PARIS).date()).days


# -- the next alert ------------------------------------------------------------------------------

LADDER: tuple[CallbackAlertKind, ...] = (
    CallbackAlertKind.REMINDER,
    CallbackAlertKind.URGENT,
    CallbackAlertKind.OVERDUE,
)
FAILED_RESULTS = frozenset(
    {AttemptResult.NO_ANSWER, AttemptResult.WRONG_NUMBER, AttemptResult.MESSAGE_LEFT}
)


@dataclass(frozen=True)
class CaseState:
    """What the schedule depends on."""

    deposit_date: date
    assigned_at: datetime
    assignment_number: int
    attempt_count: int
    last_attempt_at: datetime | None
    last_attempt_result: AttemptResult | None
    closed: bool
    raised: frozenset[str]


@dataclass(frozen=True)
class PlannedAlert:
    kind: CallbackAlertKind
    at: datetime
    tag: str  # what ``alerts_raised`` records, and the end of the alert's key

    @property
    def attempt_number(self) -> int | None:
        """For a follow-up: the number of the failed attempt it follows."""
        if self.kind is CallbackAlertKind.FOLLOW_UP:
            return int(self.tag.rpartition(":")[2])
        return None


def alert_key(case_id: object, tag: str) -> str:
    """The notification key of one alert of a case: ``callback:<case id>:<tag>``."""
    return f"callback:{case_id}:{tag}"


def case_key_prefix(case_id: object) -> str:
    return f"callback:{case_id}:"


def _ladder(state: CaseState, policy: AlertPolicy, at: datetime) -> PlannedAlert | None:
    days = {
        CallbackAlertKind.REMINDER: policy.reminder_day,
        CallbackAlertKind.URGENT: policy.urgent_day,
        CallbackAlertKind.OVERDUE: policy.window_days,
    }
    reached_level = max(
        (level for level, kind in enumerate(LADDER) if kind.value in state.raised), default=-1
    )
    remaining = [
        PlannedAlert(kind, day_moment(state.deposit_date, days[kind], policy), kind.value)
        for level, kind in enumerate(LADDER)
        if level > reached_level
        # The reminder is for a case nobody has tried yet.
        and not (kind is CallbackAlertKind.REMINDER and state.attempt_count > 0)
    ]
    due = [alert for alert in remaining if alert.at <= at]
    if due:
        return due[-1]  # the highest step due supersedes the ones below it
    return remaining[0] if remaining else None


def next_alert(state: CaseState, policy: AlertPolicy, at: datetime) -> PlannedAlert | None:
    """The next alert not raised yet (due already when its ``at`` is not after ``at``)."""
    if state.closed:
        return None
    planned: list[PlannedAlert] = []
    assigned = f"{CallbackAlertKind.ASSIGNED.value}:{state.assignment_number}"
    if assigned not in state.raised:
        planned.append(
            PlannedAlert(
                CallbackAlertKind.ASSIGNED, office_moment(state.assigned_at, policy), assigned
            )
        )
    step = _ladder(state, policy, at)
    if step is not None:
        planned.append(step)
    if (
        state.last_attempt_at is not None
        and state.last_attempt_result in FAILED_RESULTS
        and state.attempt_count < MAX_ATTEMPTS
    ):
        follow_up = f"{CallbackAlertKind.FOLLOW_UP.value}:{state.attempt_count}"
        if follow_up not in state.raised:
            attempted = state.last_attempt_at.astimezone(PARIS)
            day = add_working_days(attempted.date(), policy.follow_up_working_days)
            moment = datetime.combine(day, attempted.time(), tzinfo=PARIS).astimezone(UTC)
            planned.append(
                PlannedAlert(CallbackAlertKind.FOLLOW_UP, office_moment(moment, policy), follow_up)
            )
    return min(planned, key=lambda alert: (alert.at, LADDER_ORDER[alert.kind]), default=None)


# Same moment: the assignment first, then the ladder, then a follow-up.
LADDER_ORDER: dict[CallbackAlertKind, int] = {
    CallbackAlertKind.ASSIGNED: 0,
    CallbackAlertKind.REMINDER: 1,
    CallbackAlertKind.URGENT: 2,
    CallbackAlertKind.OVERDUE: 3,
    CallbackAlertKind.FOLLOW_UP: 4,
}


def due_alerts(
    state: CaseState, policy: AlertPolicy, at: datetime
) -> tuple[list[PlannedAlert], PlannedAlert | None]:
    """Every alert due at ``at`` in the order to raise them, and the next one after them."""
    raised: list[PlannedAlert] = []
    tags = set(state.raised)
    while True:
        current = replace(state, raised=frozenset(tags))
        alert = next_alert(current, policy, at)
        if alert is None or alert.at > at:
            return raised, alert
        raised.append(alert)
        tags.add(alert.tag)
