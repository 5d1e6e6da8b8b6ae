"""Capped exponential backoff, shared by event jobs, the geocoding queue and notifications."""

from __future__ import annotations


def exponential_seconds(attempt: int, base: float, cap: float) -> float:
    """Delay before the next try after ``attempt`` failed tries: base, 2×base, 4×base… capped.

    Callers add their own jitter where concurrent retries must not line up.
    """
    return float(min(cap, base * 2 ** max(attempt - 1, 0)))
