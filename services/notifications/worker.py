"""The notifications worker: consumes events from ``maillon:notifications`` and runs the schedule;
the new pairs of an offer's list come on ``maillon:notifications:priority`` (decision 0027).

Run with ``maillon worker notifications`` (both queues, one arq worker each). Event handlers
register on :data:`services.notifications.consumer.consumer`; this module imports, by name, every
module that holds handlers or jobs (:mod:`.handlers`, :mod:`.callbacks.jobs`) and lists their
jobs below: nothing is discovered at run time.
"""

from __future__ import annotations

from typing import Any

from arq.cron import CronJob, cron
from arq.worker import Function

from services.core.events import Lane
from services.core.settings import Settings, get_settings
from services.core.worker import run, worker_settings
from services.notifications import handlers as _handlers  # noqa: F401  (registers handlers)
from services.notifications.behind_schedule import announce_behind_schedule
from services.notifications.callbacks import jobs as callback_jobs  # (registers handlers too)
from services.notifications.consumer import consumer
from services.notifications.ledger_reminders import remind_outcomes
from services.notifications.retention import run_retention
from services.notifications.statements import run_statement_reminders
from services.notifications.tasks import (
    SWEEP_TIMEOUT_SECONDS,
    build_daily_digests,
    deliver_notifications,
    deliver_webhooks,
    purge_kernel_tables,
    purge_notifications,
)

__all__ = ["CRON_JOBS", "FUNCTIONS", "consumer", "cron_jobs", "main", "settings_for"]

FUNCTIONS: list[Function] = [*callback_jobs.FUNCTIONS]
CRON_JOBS: list[CronJob] = [
    # 03:17 UTC: outside office hours, off the round hour other systems crowd.
    cron(purge_kernel_tables, hour={3}, minute={17}, unique=True),
    cron(purge_notifications, hour={3}, minute={29}, unique=True),
    # Every hour; the job itself acts at the digest hour, Europe/Paris time.
    cron(build_daily_digests, minute={2}, unique=True),
    # Retention (decision 0024): nightly, before office hours.
    cron(run_retention, hour={2}, minute={41}, unique=True, timeout=3600),
    # Statement reminders (decision 0077): each morning, before office hours.
    cron(run_statement_reminders, hour={5}, minute={53}, unique=True, timeout=1800),
    # The hours ledger's reminders (decision 0081): mornings, in office hours in Paris.
    cron(remind_outcomes, hour={8}, minute={13}, unique=True, timeout=1800),
    cron(announce_behind_schedule, hour={8}, minute={19}, unique=True, timeout=1800),
]


def cron_jobs(settings: Settings) -> list[CronJob]:
    step = settings.notification_sweep_seconds
    seconds = set(range(0, 60, step))
    return [
        *CRON_JOBS,
        cron(
            deliver_notifications,
            second=seconds,
            unique=True,
            run_at_startup=True,
            timeout=SWEEP_TIMEOUT_SECONDS,
        ),
        cron(
            deliver_webhooks,
            second=seconds,
            unique=True,
            run_at_startup=True,
            timeout=SWEEP_TIMEOUT_SECONDS,
        ),
        *callback_jobs.CRON_JOBS,
    ]


def functions() -> list[Function]:
    return list(FUNCTIONS)


def settings_for(settings: Settings, lane: Lane = Lane.DEFAULT) -> dict[str, Any]:
    return worker_settings(
        consumer,
        settings,
        functions=functions(),
        cron_jobs=cron_jobs(settings),
        lane=lane,
        files=True,  # the nightly retention deletes the files of anonymised candidates
    )


def main(settings: Settings) -> None:
    run(consumer, settings, functions=functions(), cron_jobs=cron_jobs(settings), files=True)


def __getattr__(name: str) -> Any:
    # ``WorkerSettings`` for arq's own CLI, built on first access from the environment's settings
    # (never at import: importing this module reads and connects nothing).
    if name == "WorkerSettings":
        return type("WorkerSettings", (), settings_for(get_settings()))
    if name == "PriorityWorkerSettings":  # arq's CLI: one queue per process
        return type("PriorityWorkerSettings", (), settings_for(get_settings(), Lane.PRIORITY))
    raise AttributeError(name)
