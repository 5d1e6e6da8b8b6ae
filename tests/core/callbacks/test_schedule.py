"""The alert schedule as pure functions: office hours, DST, the ladder (working days:
tests/core/test_calendar.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

import pytest

from services.core.calendar import local
from services.core.callbacks.schedule import (
    AlertPolicy,
    CaseState,
    day_moment,
    days_left,
    due_alerts,
    due_at,
    next_alert,
    office_moment,
)
from services.core.clock import PARIS
from services.core.models.callback import AttemptResult, CallbackAlertKind, CallbackSettings
from services.core.settings import Settings

POLICY = AlertPolicy()


def paris(y: int, m: int, d: int, h: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=PARIS).astimezone(UTC)


def state(
    deposit: date,
    *,
    assigned_at: datetime | None = None,
    attempts: int = 0,
    last_at: datetime | None = None,
    last: AttemptResult | None = None,
    raised: frozenset[str] = frozenset(),
    closed: bool = False,
) -> CaseState:
    return CaseState(
        deposit_date=deposit,
        assigned_at=assigned_at or local(deposit, time(10)),
        assignment_number=1,
        attempt_count=attempts,
        last_attempt_at=last_at,
        last_attempt_result=last,
        closed=closed,
        raised=raised,
    )


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (paris(2026, 3, 3, 10, 15), paris(2026, 3, 3, 10, 15)),  # Tuesday, open: as is
        (paris(2026, 3, 3, 7, 0), paris(2026, 3, 3, 9)),  # before opening
        (paris(2026, 3, 3, 18, 0), paris(2026, 3, 4, 9)),  # closing time: next day
        (paris(2026, 3, 7, 11, 0), paris(2026, 3, 9, 9)),  # Saturday → Monday
        (paris(2026, 4, 30, 19, 0), paris(2026, 5, 4, 9)),  # Thursday evening → after 1 May
    ],
)
def test_office_moment(at: datetime, expected: datetime) -> None:
    assert office_moment(at, POLICY) == expected


def test_nine_o_clock_stays_nine_o_clock_across_daylight_saving() -> None:
    # Summer time starts on Sunday 29 March 2026: 09:00 is 08:00 UTC before, 07:00 UTC after.
    assert day_moment(date(2026, 3, 13), 14, POLICY) == datetime(2026, 3, 27, 8, 0, tzinfo=UTC)
    assert day_moment(date(2026, 3, 16), 14, POLICY) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert day_moment(date(2026, 3, 16), 14, POLICY).astimezone(PARIS).hour == 9


def test_the_window_counts_from_the_deposit_date() -> None:
    deposit = date(2026, 3, 2)
    due = due_at(deposit, 30)
    assert due.astimezone(PARIS) == datetime(2026, 4, 1, 0, 0, tzinfo=PARIS)
    assert days_left(due, paris(2026, 3, 2, 12)) == 30
    # Uploaded 10 days after the deposit: 20 days left.
    assert days_left(due, paris(2026, 3, 12, 12)) == 20
    assert days_left(due, paris(2026, 4, 1, 9)) == 0  # day 30: overdue


def test_alerts_of_an_untouched_case_over_its_whole_window() -> None:
    deposit = date(2026, 3, 2)  # Monday
    s = state(deposit, assigned_at=paris(2026, 3, 2, 10))
    raised: set[str] = set()
    seen: list[tuple[CallbackAlertKind, datetime]] = []
    at = paris(2026, 3, 2, 10)
    while (alert := next_alert(state_with(s, raised), POLICY, at)) is not None:
        seen.append((alert.kind, alert.at))
        raised.add(alert.tag)
        at = alert.at
    assert seen == [
        (CallbackAlertKind.ASSIGNED, paris(2026, 3, 2, 10)),
        (CallbackAlertKind.REMINDER, paris(2026, 3, 16, 9)),  # day 14, a Monday
        (CallbackAlertKind.URGENT, paris(2026, 3, 27, 9)),  # day 25, a Friday
        (CallbackAlertKind.OVERDUE, paris(2026, 4, 1, 9)),  # day 30, a Wednesday
    ]


def state_with(s: CaseState, raised: set[str]) -> CaseState:
    return CaseState(**{**s.__dict__, "raised": frozenset(raised)})


def test_an_alert_on_a_weekend_or_1_may_moves_to_the_next_working_day() -> None:
    # Deposit Saturday 4 April 2026: day 14 is Saturday 18 April → Monday 20 April.
    assert day_moment(date(2026, 4, 4), 14, POLICY) == paris(2026, 4, 20, 9)
    # Deposit Friday 17 April: day 14 is Friday 1 May (holiday) → Monday 4 May.
    assert day_moment(date(2026, 4, 17), 14, POLICY) == paris(2026, 5, 4, 9)


def test_an_attempt_cancels_the_reminder_and_a_failure_plans_a_follow_up() -> None:
    deposit = date(2026, 3, 2)
    tried = paris(2026, 3, 5, 15, 30)  # Thursday afternoon
    s = state(
        deposit,
        attempts=1,
        last_at=tried,
        last=AttemptResult.NO_ANSWER,
        raised=frozenset({"assigned:1"}),
    )
    alert = next_alert(s, POLICY, tried)
    assert alert is not None
    assert alert.kind is CallbackAlertKind.FOLLOW_UP
    assert alert.at == paris(2026, 3, 9, 15, 30)  # two working days later, same time
    assert alert.tag == "follow_up:1"
    after = next_alert(state_with(s, {"assigned:1", "follow_up:1"}), POLICY, alert.at)
    assert after is not None and after.kind is CallbackAlertKind.URGENT  # no reminder


def test_a_reached_person_gets_no_follow_up() -> None:
    s = state(
        date(2026, 3, 2),
        attempts=1,
        last_at=paris(2026, 3, 5, 15),
        last=AttemptResult.REACHED,
        raised=frozenset({"assigned:1"}),
    )
    alert = next_alert(s, POLICY, paris(2026, 3, 5, 15))
    assert alert is not None and alert.kind is CallbackAlertKind.URGENT


def test_a_late_case_raises_only_the_highest_step_due() -> None:
    deposit = date(2026, 2, 2)  # uploaded on day 26
    at = paris(2026, 2, 28, 10)  # a Saturday
    s = state(deposit, assigned_at=at)
    raised, upcoming = due_alerts(s, POLICY, paris(2026, 3, 2, 9))
    # Day 25 (Friday 27 February) came before the assignment (Monday 2 March, 09:00).
    assert [a.kind for a in raised] == [CallbackAlertKind.URGENT, CallbackAlertKind.ASSIGNED]
    assert upcoming is not None and upcoming.kind is CallbackAlertKind.OVERDUE


def test_nothing_after_closing() -> None:
    assert next_alert(state(date(2026, 3, 2), closed=True), POLICY, paris(2026, 3, 2)) is None


def test_an_organisation_may_change_days_and_hours() -> None:
    settings = Settings()
    own = CallbackSettings(organisation_id=uuid.uuid4(), reminder_day=7, office_start_hour=8)
    policy = AlertPolicy.of(settings, own)
    assert (policy.reminder_day, policy.urgent_day, policy.office_start_hour) == (7, 25, 8)
    assert day_moment(date(2026, 3, 2), 7, policy) == paris(2026, 3, 9, 8)
    assert AlertPolicy.of(settings) == POLICY
