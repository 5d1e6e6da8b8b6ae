"""Time-ordered UUIDs (RFC 9562 version 7): unique everywhere, and kind to B-tree indexes.

Monotonic within a process (RFC 9562 §6.2, method 1): the 12 bits after the version hold a
counter, so ids made in the same millisecond still sort in the order they were made — lists
ordered by id ("newest first") never swap two rows written a few microseconds apart.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_COUNTER_BITS = 12
_COUNTER_MAX = (1 << _COUNTER_BITS) - 1
_lock = threading.Lock()
_last_ms = 0
_counter = 0


def _next_moment() -> tuple[int, int]:
    """(milliseconds, counter), strictly increasing across calls in this process."""
    global _last_ms, _counter
    ms = time.time_ns() // 1_000_000
    with _lock:
        if ms > _last_ms:
            # A fresh millisecond: start low, leaving room to count up.
            _last_ms, _counter = ms, int.from_bytes(os.urandom(2), "big") & 0x3FF
        elif _counter < _COUNTER_MAX:
            _counter += 1  # same millisecond (or the clock stepped back): count on
        else:
            _last_ms, _counter = _last_ms + 1, 0  # counter exhausted: borrow the next ms
        return _last_ms, _counter


def uuid7() -> uuid.UUID:
    ms, counter = _next_moment()
    rand = int.from_bytes(os.urandom(8), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)
