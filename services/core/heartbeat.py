"""Liveness of processes without an HTTP port (workers, relay).

The process touches a file while its event loop runs; ``maillon health …`` (the container's exec
probe) checks the file is fresh. A file, not a Redis key: a worker waiting for Redis to come back
is alive and must not be restarted for it.
"""

from __future__ import annotations

import time
from pathlib import Path

FRESH_SECONDS = 60.0


class Heartbeat:
    def __init__(self, directory: Path, component: str, *, min_interval: float = 5.0) -> None:
        self.path = directory / f"maillon-{component}.heartbeat"
        self._min_interval = min_interval
        self._last = 0.0

    def beat(self) -> None:
        moment = time.monotonic()
        if moment - self._last < self._min_interval:
            return
        self._last = moment
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()  # creates the file or moves its modification time to now

    def is_fresh(self, max_age: float = FRESH_SECONDS) -> bool:
        try:
            return time.time() - self.path.stat().st_mtime <= max_age
        except FileNotFoundError:
            return False
