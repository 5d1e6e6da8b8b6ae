"""The callbacks' part of the notifications worker: the ``intake.received`` handler, the per-case
alert job and the sweep (wired by :mod:`services.notifications.worker`)."""

from __future__ import annotations

import uuid
from typing import Any, cast

import redis.asyncio as aioredis
from arq.cron import CronJob, cron
from arq.worker import Function, func
from sqlalchemy import select
from sqlmodel import col

from services.core.callbacks.cases import (
    Policies,
    Recipients,
    advance,
    close_for_erasure,
    open_for_intake,
)
from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.events import CandidateAnonymised, IntakeReceived
from services.core.jobs import HandlerContext
from services.core.logging import get_logger
from services.core.models.callback import CallbackCase
from services.core.settings import Settings
from services.notifications.callbacks.sweep import ALERT_JOB, SWEEP_MINUTES, sweep
from services.notifications.consumer import consumer

log = get_logger(__name__)


@consumer.on(IntakeReceived)
async def open_callback_case(ctx: HandlerContext, event: IntakeReceived) -> None:
    """Every intake opens a callback case for its candidate, unless one is open (§6)."""
    opened = await open_for_intake(ctx.session, event.intake_id, ctx.settings, now())
    if opened is not None:
        log.info(
            "callback_case_opened" if opened.created else "callback_case_person_came_back",
            case_id=str(opened.case.id),
            intake_id=str(event.intake_id),
        )


@consumer.on(CandidateAnonymised)
async def close_erased_cases(ctx: HandlerContext, event: CandidateAnonymised) -> None:
    """An erased or merged-away person is not called back: their open case closes."""
    closed = await close_for_erasure(ctx.session, event.candidate_id, now())
    if closed:
        log.info("callback_case_closed_for_erasure", candidate_id=str(event.candidate_id))


async def callback_alert(ctx: dict[str, Any], case_id: str) -> str:
    """Raise the alerts of one case that are due now (nothing if its schedule moved)."""
    settings = cast(Settings, ctx["settings"])
    at = now()
    async with unit_of_work(cast(SessionMaker, ctx["sessionmaker"])) as session:
        case = await session.scalar(
            select(CallbackCase)
            .where(col(CallbackCase.id) == uuid.UUID(case_id))
            .with_for_update(skip_locked=True)  # locked: the sweep is raising it
        )
        if case is None or case.next_alert_at is None or case.next_alert_at > at:
            return "nothing due"
        policy = await Policies(settings).of(session, case.organisation_id)
        raised = await advance(session, case, policy, at, Recipients())
    return f"{len(raised)} alert(s)"


async def sweep_callbacks(ctx: dict[str, Any]) -> dict[str, int]:
    result = await sweep(
        cast(SessionMaker, ctx["sessionmaker"]),
        cast(Settings, ctx["settings"]),
        now(),
        cast(aioredis.Redis, ctx["redis"]),
    )
    # Every few minutes: a line only when the sweep did something (nothing to say when idle).
    report = log.info if result.cases or result.alerts or result.armed else log.debug
    report("callback_sweep", cases=result.cases, alerts=result.alerts, armed=result.armed)
    return {"cases": result.cases, "alerts": result.alerts, "armed": result.armed}


FUNCTIONS: list[Function] = [func(callback_alert, name=ALERT_JOB, max_tries=3)]

CRON_JOBS: list[CronJob] = [
    cron(
        sweep_callbacks,
        minute=set(range(0, 60, SWEEP_MINUTES)),
        second=0,
        unique=True,
        run_at_startup=True,
    )
]
