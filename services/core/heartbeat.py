"""Liveness of processes without an HTTP port (workers, relay).

The process touches a file while its event loop runs; ``maillon health …`` (the container's exec
probe) checks the file is fresh. A file, not a Redis key: a worker waiting for Redis to come back
is alive and must not be restarted for it. The file holds what the process is doing
(:class:`Activity`): a worker beats from its start to its end, serving or waiting for Redis, so
its heartbeat never depends on Redis (decision 0071).
"""

from __future__ import annotations

import asyncio
import time
from enum import StrEnum
from pathlib import Path

FRESH_SECONDS = 60.0


class Activity(StrEnum):
    STARTING = "starting"
    SERVING = "serving"
    WAITING_FOR_REDIS = "waiting-for-redis"


ACTIVITY_LABELS: dict[Activity, str] = {
    Activity.STARTING: "démarre",
    Activity.SERVING: "en service",
    Activity.WAITING_FOR_REDIS: "en attente de Redis",
}


class Heartbeat:
    def __init__(self, directory: Path, component: str, *, min_interval: float = 5.0) -> None:
        self.path = directory / f"maillon-{component}.heartbeat"
        self._min_interval = min_interval
        self._last = 0.0
        self._activity: Activity | None = None

    def beat(self, activity: Activity = Activity.SERVING) -> None:
        """Move the file's time to now (at most every ``min_interval`` seconds), and write
        ``activity`` into it at once when it changed."""
        moment = time.monotonic()
        if activity is self._activity and moment - self._last < self._min_interval:
            return
        self._last = moment
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if activity is not self._activity:
            self.path.write_text(f"{activity.value}\n")
            self._activity = activity
        else:
            self.path.touch()  # moves its modification time to now

    def is_fresh(self, max_age: float = FRESH_SECONDS) -> bool:
        try:
            return time.time() - self.path.stat().st_mtime <= max_age
        except FileNotFoundError:
            return False

    def activity(self) -> Activity | None:
        """What the process last said it was doing (``None``: no file, or one of an older
        version that said nothing)."""
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            return None
        try:
            return Activity(text)
        except ValueError:
            return None


class Pulse:
    """A heartbeat kept by a task of its own, every ``every`` seconds, whatever the rest of the
    process is waiting for; ``activity`` is what it writes."""

    def __init__(self, heartbeat: Heartbeat, every: float) -> None:
        self.heartbeat = heartbeat
        self.every = every
        self.activity = Activity.STARTING
        self._task: asyncio.Task[None] | None = None

    def set(self, activity: Activity) -> None:
        self.activity = activity
        self.heartbeat.beat(activity)  # a change is written at once

    async def _run(self) -> None:
        while True:
            self.heartbeat.beat(self.activity)
            await asyncio.sleep(self.every)

    async def __aenter__(self) -> Pulse:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
