"""Keeping the planner's statistics of ``candidate`` fresh while an import grows it.

Statements on ``candidate`` — the import's own look-ups, the intakes' matching, and the triggers
that keep other tables in step — are planned from its statistics. An import that doubles the
table leaves them describing a table a fraction of its size (autovacuum analyses late, or not at
all when it is off), and the planner then picks plans that scan every row: a 70-row update
measured 380 ms with stale statistics and 16 ms after ``ANALYZE``. So the import analyses
``candidate`` when it starts on stale statistics, in the background whenever it has grown the
table by half since, and once at the end.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.core.db import SessionMaker
from services.core.logging import get_logger

log = get_logger(__name__)

TABLE = "candidate"
MIN_ROWS = 5_000  # rows written before a background analysis is worth it
GROWTH = 0.5  # …and a share of the table's size at the last analysis


async def _analyse(sessionmaker: SessionMaker) -> None:
    """Best effort: an import never fails for want of statistics (e.g. a role that does not own
    the table may not analyse it)."""
    try:
        async with sessionmaker() as session:
            await session.execute(text(f"ANALYZE {TABLE}"))
            await session.commit()
    except DBAPIError as error:
        log.warning("statistics_not_refreshed", table=TABLE, error=type(error.orig).__name__)


class Statistics:
    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sessionmaker = sessionmaker
        self._size = 0  # rows at the last analysis (estimated)
        self._written = 0  # rows written since
        self._running: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Analyse now if the statistics already lag (more than 10 % of rows changed since)."""
        async with self._sessionmaker() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT n_live_tup, n_mod_since_analyze FROM pg_stat_user_tables "
                        "WHERE relname = :table"
                    ),
                    {"table": TABLE},
                )
            ).first()
        live, changed = (int(row[0]), int(row[1])) if row is not None else (0, 0)
        self._size = live
        if changed > max(1_000, live // 10):
            await _analyse(self._sessionmaker)

    def written(self, rows: int) -> None:
        """Count rows written; analyse in the background once the table grew enough."""
        self._written += rows
        busy = self._running is not None and not self._running.done()
        if busy or self._written < max(MIN_ROWS, int(self._size * GROWTH)):
            return
        self._size += self._written
        self._written = 0
        self._running = asyncio.create_task(_analyse(self._sessionmaker))

    async def finish(self) -> None:
        """Wait for a running analysis; analyse once more if rows were written since."""
        if self._running is not None:
            await self._running
        if self._written:
            await _analyse(self._sessionmaker)
