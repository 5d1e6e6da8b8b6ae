"""The matching worker: consumes candidate events from ``maillon:matching`` and offer events
from ``maillon:matching:priority`` (decision 0027), one arq worker per queue in one process.

Run with ``maillon worker matching`` (both queues). Ranking handlers register on :data:`consumer`
(see ``handlers.py``). arq's own CLI runs one queue per process: ``WorkerSettings`` (candidate
events and the geocoding cron) and ``PriorityWorkerSettings`` (offer events).
"""

from __future__ import annotations

from typing import Any

from arq.cron import cron

from services.core.events import Consumer, Lane
from services.core.jobs import EventConsumer
from services.core.settings import Settings, get_settings
from services.core.worker import run, worker_settings
from services.matching.geocoding import geocode_addresses
from services.matching.handlers import register

consumer = EventConsumer(Consumer.MATCHING)
register(consumer)  # the ranking handlers (services/matching/handlers.py)

# Every minute (second 7): the geocoding queue (decision 0015).
CRON_JOBS = [cron(geocode_addresses, second={7}, unique=True, timeout=120)]


def settings_for(settings: Settings, lane: Lane = Lane.DEFAULT) -> dict[str, Any]:
    return worker_settings(consumer, settings, cron_jobs=CRON_JOBS, lane=lane)


def main(settings: Settings) -> None:
    run(consumer, settings, cron_jobs=CRON_JOBS)


def __getattr__(name: str) -> Any:
    # ``WorkerSettings`` for arq's own CLI, built on first access from the environment's settings
    # (never at import: importing this module reads and connects nothing).
    if name == "WorkerSettings":
        return type("WorkerSettings", (), settings_for(get_settings()))
    if name == "PriorityWorkerSettings":
        return type("PriorityWorkerSettings", (), settings_for(get_settings(), Lane.PRIORITY))
    raise AttributeError(name)
