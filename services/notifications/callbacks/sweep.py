"""The periodic sweep, and the per-case alert jobs it arms.

Every case stores its next alert (``next_alert_kind`` / ``next_alert_at``, partially indexed), so
the sweep is one indexed range scan, ``next_alert_at <= now``, taken in batches locked with
``FOR UPDATE SKIP LOCKED`` (several workers may sweep at once): whatever a missed run, a lost job
or a stopped worker left behind is caught by the next run, never skipped.

For alerts due before the next run (and not at a run's own minute, like every alert of the 09:00
opening), the sweep arms one arq job per case, with the fixed id
``callback-alert:<case id>``, deferred to the alert's moment. arq refuses to enqueue a job id
while a job or a result of that id exists, so arming *replaces* it explicitly, atomically in one
Lua script: unless that job is running, its job key, result key and queue entry are deleted and
the new job is written. A job that fires for a moment that has moved (an attempt, an outcome, a
reassignment since) finds nothing due and does nothing; the sweep remains the guarantee.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
from arq.constants import (
    expires_extra_ms,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
)
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from sqlalchemy import select, text
from sqlmodel import col

from services.core.alerts.raising import AlertRequest, raise_alerts
from services.core.callbacks.cases import Policies, RaiseAlert, Recipients, raise_planned, state_of
from services.core.callbacks.schedule import due_alerts
from services.core.db import SessionMaker, unit_of_work
from services.core.events import Consumer, Event, emit_many, queue_name
from services.core.models.callback import CallbackCase
from services.core.queue import serialize
from services.core.settings import Settings

SWEEP_MINUTES = 10
ALERT_JOB = "callback_alert"


def alert_job_id(case_id: uuid.UUID) -> str:
    return f"callback-alert:{case_id}"


@dataclass(frozen=True)
class SweepResult:
    cases: int  # cases whose due alerts were raised
    alerts: int
    armed: int  # per-case jobs (re)armed for the next run's interval


# The columns the schedule reads: rows, not ORM objects, keep a batch cheap.
_FACTS = (
    col(CallbackCase.id),
    col(CallbackCase.organisation_id),
    col(CallbackCase.prescriber_id),
    col(CallbackCase.deposit_date),
    col(CallbackCase.due_at),
    col(CallbackCase.assigned_at),
    col(CallbackCase.assignment_number),
    col(CallbackCase.attempt_count),
    col(CallbackCase.last_attempt_at),
    col(CallbackCase.last_attempt_result),
    col(CallbackCase.status),
    col(CallbackCase.alerts_raised),
)

# One statement stores a whole batch's new schedules.
_STORE = text(
    """
    UPDATE callback_case AS c
    SET alerts_raised = CAST(string_to_array(v.raised, ',') AS varchar(40)[]),
        next_alert_kind = v.kind, next_alert_at = v.at, updated_at = :now
    FROM unnest(
        CAST(:ids AS uuid[]), CAST(:raised AS text[]), CAST(:kinds AS text[]),
        CAST(:ats AS timestamptz[])
    ) AS v(id, raised, kind, at)
    WHERE c.id = v.id
    """
)


async def raise_due(
    sessionmaker: SessionMaker,
    settings: Settings,
    at: datetime,
    *,
    batch_size: int | None = None,
    raise_with: RaiseAlert | None = None,
) -> tuple[int, int]:
    """Raise every alert due at ``at``, one transaction per batch. Returns (cases, alerts).

    A batch's alerts are written together by ``raise_alerts`` (one INSERT), or one by one
    through ``raise_with`` when given (the benchmark's stand-in)."""
    size = batch_size or settings.callback_sweep_batch_size
    policies = Policies(settings)
    cases_done = alerts = 0
    pending: list[AlertRequest] = []  # the batch's alerts
    overdue: list[Event] = []  # the batch's ``callback.overdue``

    async def collect(_session: Any, alert: AlertRequest) -> int:
        pending.append(alert)
        return 0

    while True:
        async with unit_of_work(sessionmaker) as session:
            rows = (
                await session.execute(
                    select(*_FACTS)
                    .where(col(CallbackCase.next_alert_at) <= at)
                    .order_by(col(CallbackCase.next_alert_at), col(CallbackCase.id))
                    .limit(size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                break
            organisations = {row.organisation_id for row in rows}
            await policies.load(session, organisations)
            recipients = Recipients()
            await recipients.load(session, organisations, [row.prescriber_id for row in rows])
            ids, raised_tags, kinds, moments = [], [], [], []
            pending.clear()
            overdue.clear()
            for row in rows:
                policy = await policies.of(session, row.organisation_id)
                raised, upcoming = due_alerts(state_of(row), policy, at)
                await raise_planned(
                    session, row, raised, at, recipients, raise_with=collect, overdue=overdue
                )
                alerts += len(raised)
                ids.append(row.id)
                raised_tags.append(",".join([*row.alerts_raised, *(a.tag for a in raised)]))
                kinds.append(upcoming.kind.value if upcoming else None)
                moments.append(upcoming.at if upcoming else None)
            await emit_many(session, overdue)
            if raise_with is None:
                await raise_alerts(session, pending)
            else:
                for alert in pending:
                    await raise_with(session, alert)
            await session.execute(
                _STORE,
                {"ids": ids, "raised": raised_tags, "kinds": kinds, "ats": moments, "now": at},
            )
            cases_done += len(rows)
        if len(rows) < size:
            break
    return cases_done, alerts


async def upcoming(
    sessionmaker: SessionMaker, start: datetime, end: datetime
) -> list[tuple[uuid.UUID, datetime]]:
    """Cases whose next alert falls in ``(start, end]``, except on a run's own tick (the day's
    alerts all fall at opening time, 09:00: the run at that minute raises them, and a job for
    each would only compete with it)."""
    async with sessionmaker() as session:
        rows = await session.execute(
            select(col(CallbackCase.id), col(CallbackCase.next_alert_at))
            .where(col(CallbackCase.next_alert_at) > start, col(CallbackCase.next_alert_at) <= end)
            .order_by(col(CallbackCase.next_alert_at))
        )
        return [(case_id, at) for case_id, at in rows if at is not None and not on_tick(at)]


def on_tick(moment: datetime) -> bool:
    """Whether a sweep runs at ``moment`` (cron: every 10 minutes, second 0)."""
    return moment.second == 0 and moment.microsecond == 0 and moment.minute % SWEEP_MINUTES == 0


# KEYS, 4 per job: job key, result key, in-progress key, queue. ARGV: per job its payload, id,
# score (ms) and time to live (ms). A running job is left alone (its worker would delete the new
# one when it finishes); the sweep arms it again next time if still needed.
_REPLACE = """
local replaced = 0
for i = 0, #KEYS / 4 - 1 do
  local job_key, result_key = KEYS[i * 4 + 1], KEYS[i * 4 + 2]
  local running_key, queue = KEYS[i * 4 + 3], KEYS[i * 4 + 4]
  if redis.call('EXISTS', running_key) == 0 then
    local job_id = ARGV[i * 4 + 2]
    redis.call('DEL', job_key, result_key)
    redis.call('ZREM', queue, job_id)
    redis.call('PSETEX', job_key, ARGV[i * 4 + 4], ARGV[i * 4 + 1])
    redis.call('ZADD', queue, ARGV[i * 4 + 3], job_id)
    replaced = replaced + 1
  end
end
return replaced
"""


async def schedule_alert_jobs(
    redis: aioredis.Redis, jobs: Sequence[tuple[uuid.UUID, datetime]], at: datetime
) -> int:
    """Arm (or re-arm) the alert job of each case at its moment; returns how many were written.

    arq runs jobs on the system clock: each job is deferred by its distance from ``at`` (business
    time, the same thing outside tests)."""
    if not jobs:
        return 0
    queue = queue_name(Consumer.NOTIFICATIONS)
    enqueued = timestamp_ms()
    keys: list[str] = []
    argv: list[Any] = []
    for case_id, moment in jobs:
        job_id = alert_job_id(case_id)
        score = enqueued + max(0, int((moment - at).total_seconds() * 1000))
        payload = serialize_job(
            ALERT_JOB, (str(case_id),), {}, None, enqueued, serializer=serialize
        )
        keys += [
            job_key_prefix + job_id,
            result_key_prefix + job_id,
            in_progress_key_prefix + job_id,
            queue,
        ]
        argv += [payload, job_id, score, score - enqueued + expires_extra_ms]
    replaced = await redis.eval(_REPLACE, len(keys), *keys, *argv)  # type: ignore[misc]
    return int(replaced)


async def sweep(
    sessionmaker: SessionMaker,
    settings: Settings,
    at: datetime,
    redis: aioredis.Redis | None = None,
) -> SweepResult:
    """Raise what is due, then arm the jobs of the alerts due before the next run."""
    cases, alerts = await raise_due(sessionmaker, settings, at)
    armed = 0
    if redis is not None:
        horizon = at + timedelta(minutes=SWEEP_MINUTES + 1)
        due_soon = await upcoming(sessionmaker, at, horizon)
        for start in range(0, len(due_soon), 500):
            armed += await schedule_alert_jobs(redis, due_soon[start : start + 500], at)
    return SweepResult(cases=cases, alerts=alerts, armed=armed)
