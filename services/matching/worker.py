"""The matching worker: consumes offer and candidate events from ``maillon:matching``.

Run with ``maillon worker matching``. Ranking handlers register on :data:`consumer`
(see ``tasks.py``).
"""

from __future__ import annotations

from typing import Any

from services.core.events import Consumer
from services.core.jobs import EventConsumer
from services.core.settings import Settings, get_settings
from services.core.worker import run, worker_settings

consumer = EventConsumer(Consumer.MATCHING)


def settings_for(settings: Settings) -> dict[str, Any]:
    return worker_settings(consumer, settings)


def main(settings: Settings) -> None:
    run(consumer, settings)


def __getattr__(name: str) -> Any:
    # ``WorkerSettings`` for arq's own CLI, built on first access from the environment's settings
    # (never at import: importing this module reads and connects nothing).
    if name == "WorkerSettings":
        return type("WorkerSettings", (), settings_for(get_settings()))
    raise AttributeError(name)
