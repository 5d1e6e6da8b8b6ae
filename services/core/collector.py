"""Python's cycle collector set for a long-running process (decision 0032).

A service process builds, at start-up, a large heap that lives as long as it does (modules, the
ORM's mappers, the QPV and ROME indexes); with Python's defaults, every few hundred container
objects allocated by a request or a job trigger a collection, and the older generations walk
that whole heap again and again. Once started, the process moves what exists out of the
collector's sight (``gc.freeze``) and collects its youngest generation every ``threshold``
allocations instead of 700. Memory freed by reference counting is unaffected: only objects in
reference cycles wait a little longer.
"""

from __future__ import annotations

import gc


def settle(threshold: int) -> None:
    """Called once a process is ready to serve; ``threshold`` 0 leaves Python's defaults."""
    if threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(threshold, middle, oldest)
