"""Checking rows in worker processes, while the importing process writes to the database.

Reading a phone number (``phonenumbers``), an e-mail address (``email_validator``) and placing a
point in the QPV polygons cost ~200 µs a row in Python: most of an import. Worker processes
each hold the referentials and their own QPV index (built once from the stored polygons) and
check blocks of rows; the importing process keeps the order, finds people again and writes.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from services.api.candidates.bulk.rows import Referentials, RowError, check_rows
from services.api.people.persons import ValidRow
from services.core.geo.qpv import QpvIndex, build_qpv_index
from services.core.referentials.store import DatasetVersion

QpvRows = Sequence[tuple[str, str, Sequence[str], bytes]]

_known: Referentials | None = None
_qpv: QpvIndex | None = None


def _start(known: Referentials, qpv_rows: QpvRows, dataset: DatasetVersion | None) -> None:
    global _known, _qpv
    _known = known
    _qpv = build_qpv_index(qpv_rows, dataset) if qpv_rows else None


def checking_pool(
    workers: int, known: Referentials, qpv_rows: QpvRows, dataset: DatasetVersion | None
) -> ProcessPoolExecutor:
    # Spawned, not forked: the importing process runs threads (the event loop's executor), and
    # a fork copies whatever lock one of them holds.
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start,
        initargs=(known, qpv_rows, dataset),
    )


def check_in_worker(
    items: list[tuple[int, dict[str, str]] | RowError],
) -> list[ValidRow | RowError]:
    """What the pool runs (a module-level function: it is pickled by name)."""
    assert _known is not None, "worker not started"
    return check_rows(items, _known, _qpv)
