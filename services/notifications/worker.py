"""The notifications worker: consumes events from ``maillon:notifications`` and runs the schedule;
the new pairs of an offer's list come on ``maillon:notifications:priority`` (decision 0027).

Run with ``maillon worker notifications`` (both queues, one arq worker each). Event handlers
register on :data:`services.notifications.consumer.consumer`; importing this module imports the
modules that hold them (this domain's, and the callbacks domain's ``FUNCTIONS`` / ``CRON_JOBS``).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from arq.cron import CronJob, cron
from arq.worker import Function

from services.core.events import Lane
from services.core.settings import Settings, get_settings
from services.core.worker import run, worker_settings
from services.notifications import handlers as _handlers  # noqa: F401  (registers handlers)
from services.notifications.behind_schedule import announce_behind_schedule
from services.notifications.consumer import consumer
from services.notifications.ledger_reminders import remind_outcomes, remind_statements
from services.notifications.retention import run_retention
from services.notifications.tasks import (
    build_daily_digests,
    deliver_notifications,
    deliver_webhooks,
    purge_kernel_tables,
    purge_notifications,
)

__all__ = ["CRON_JOBS", "FUNCTIONS", "consumer", "cron_jobs", "main", "settings_for"]

FUNCTIONS: list[Function] = []
CRON_JOBS: list[CronJob] = [
    # 03:17 UTC: outside office hours, off the round hour other systems crowd.
    cron(purge_kernel_tables, hour={3}, minute={17}, unique=True),
    cron(purge_notifications, hour={3}, minute={29}, unique=True),
    # Every hour; the job itself acts at the digest hour, Europe/Paris time.
    cron(build_daily_digests, minute={2}, unique=True),
    # Retention (decision 0024): nightly, before office hours.
    cron(run_retention, hour={2}, minute={41}, unique=True, timeout=3600),
    # The hours ledger's reminders (decision 0081): mornings, in office hours in Paris.
    cron(remind_statements, hour={8}, minute={7}, unique=True, timeout=1800),
    cron(remind_outcomes, hour={8}, minute={13}, unique=True, timeout=1800),
    cron(announce_behind_schedule, hour={8}, minute={19}, unique=True, timeout=1800),
]


def _callbacks_jobs() -> tuple[list[Function], list[CronJob]]:
    """The callbacks domain's jobs, once its module exists."""
    if importlib.util.find_spec("services.callbacks.jobs") is None:
        return [], []
    module = importlib.import_module("services.callbacks.jobs")
    return list(module.FUNCTIONS), list(module.CRON_JOBS)


def cron_jobs(settings: Settings) -> list[CronJob]:
    step = settings.notification_sweep_seconds
    seconds = set(range(0, 60, step))
    callbacks_cron = _callbacks_jobs()[1]
    return [
        *CRON_JOBS,
        cron(deliver_notifications, second=seconds, unique=True, run_at_startup=True),
        cron(deliver_webhooks, second=seconds, unique=True, run_at_startup=True),
        *callbacks_cron,
    ]


def functions() -> list[Function]:
    return [*FUNCTIONS, *_callbacks_jobs()[0]]


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
