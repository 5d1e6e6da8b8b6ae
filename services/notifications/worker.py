"""The notifications worker: consumes events from ``maillon:notifications`` and runs the schedule.

Run with ``maillon worker notifications``.
"""

from __future__ import annotations

from typing import Any

from arq.cron import cron

from services.core.settings import Settings, get_settings
from services.core.worker import run, worker_settings
from services.notifications.consumer import consumer
from services.notifications.tasks import purge_kernel_tables

__all__ = ["CRON_JOBS", "consumer", "main", "settings_for"]

# 03:17 UTC: outside office hours, off the round hour other systems crowd.
CRON_JOBS = [cron(purge_kernel_tables, hour={3}, minute={17}, unique=True)]


def settings_for(settings: Settings) -> dict[str, Any]:
    return worker_settings(consumer, settings, cron_jobs=CRON_JOBS)


def main(settings: Settings) -> None:
    run(consumer, settings, cron_jobs=CRON_JOBS)


def __getattr__(name: str) -> Any:
    # ``WorkerSettings`` for arq's own CLI, built on first access from the environment's settings
    # (never at import: importing this module reads and connects nothing).
    if name == "WorkerSettings":
        return type("WorkerSettings", (), settings_for(get_settings()))
    raise AttributeError(name)
