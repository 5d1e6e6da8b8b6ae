"""Is PostgreSQL answering? A probe per API process, so that a frozen database costs a request
a second or two and a 503, not the time it stays frozen (decision 0056).

A server that is stopped (SIGSTOP, a hung host, a network black hole) keeps its TCP connections
open: nothing fails, statements simply never return, and the server-side ``statement_timeout``
cannot fire. The probe asks ``SELECT 1`` every ``database_probe_seconds`` on a connection of its
own (outside the pool). No answer within ``database_probe_timeout_seconds``: the database is taken
as down —

- connections being used or being opened by requests are cut off (their statements fail at
  once: 503);
- no connection is handed out or opened while it is down (:class:`DatabaseUnreachable`, 503);

and as up again at the first answer: the service resumes by itself. Every engine
(``services.core.db.create_engine``) has the hooks of :func:`install` and opens its connections
with :meth:`Liveness.connect`; only a process that runs :func:`watch` ever marks one down.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from services.core.logging import get_logger

log = get_logger("maillon.db.liveness")


class DatabaseUnreachable(ConnectionError):
    """PostgreSQL did not answer the last probe: no connection is used until it does."""


@dataclass
class Liveness:
    down: bool = False
    # The driver connections checked out of the pool, by the pool's record of them.
    in_use: dict[int, Any] = field(default_factory=dict)
    # Connections being opened: each waits on one of these too, resolved when the probe fails.
    _opening: set[asyncio.Future[None]] = field(default_factory=set)

    def mark_down(self) -> None:
        if not self.down:
            log.warning(
                "database_unreachable", connections_cut=len(self.in_use) + len(self._opening)
            )
        self.down = True
        for connection in list(self.in_use.values()):
            # Closes the socket without a word to the server: whatever waits on it fails now.
            connection.terminate()
        self.in_use.clear()
        for opening in list(self._opening):
            if not opening.done():
                opening.set_result(None)

    async def connect(self, *args: Any, **kwargs: Any) -> Any:
        """``asyncpg.connect``, given up as soon as the database is taken as down (a server
        that accepts the TCP connection but never answers would hold it for the connect
        timeout)."""
        if self.down:
            raise DatabaseUnreachable("PostgreSQL ne répond pas")
        cut_off: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._opening.add(cut_off)
        attempt = asyncio.ensure_future(asyncpg.connect(*args, **kwargs))
        try:
            await asyncio.wait({attempt, cut_off}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            attempt.cancel()
            raise
        finally:
            self._opening.discard(cut_off)
        if attempt.done():
            return attempt.result()
        attempt.cancel()
        raise DatabaseUnreachable("PostgreSQL ne répond pas")

    def mark_up(self) -> None:
        if self.down:
            log.info("database_reachable_again")
        self.down = False


_engines: weakref.WeakKeyDictionary[Engine, Liveness] = weakref.WeakKeyDictionary()


def liveness_of(engine: AsyncEngine) -> Liveness:
    return _engines[engine.sync_engine]


def install(engine: AsyncEngine, state: Liveness) -> None:
    _engines[engine.sync_engine] = state

    def refuse_while_down(*_args: Any) -> None:
        if state.down:
            raise DatabaseUnreachable("PostgreSQL ne répond pas")

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        refuse_while_down()
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is not None:
            state.in_use[id(record)] = driver

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        state.in_use.pop(id(record), None)

    # Before a new connection is opened (it would wait for its connect timeout)…
    event.listen(engine.sync_engine, "do_connect", refuse_while_down)
    # …and before a pooled one is handed out (its ping would wait for the command timeout).
    event.listen(engine.sync_engine.pool, "checkout", checked_out, insert=True)
    event.listen(engine.sync_engine.pool, "checkin", checked_in)
    event.listen(engine.sync_engine.pool, "invalidate", lambda c, record, _e: checked_in(c, record))


async def watch(engine: AsyncEngine, dsn: str, *, every: float, patience: float) -> None:
    """Probe until cancelled (the API's lifespan runs it as a task)."""
    state = liveness_of(engine)
    probe: asyncpg.Connection | None = None
    try:
        while True:
            try:
                if probe is None:
                    probe = await asyncpg.connect(
                        dsn,
                        timeout=patience,
                        server_settings={"application_name": "maillon-api-probe"},
                    )
                await probe.fetchval("SELECT 1", timeout=patience)
            except Exception as exc:  # whatever it is, no answer: the probe itself never stops
                if not state.down:
                    log.warning("database_probe_failed", error=type(exc).__name__)
                state.mark_down()
                if probe is not None:
                    probe.terminate()
                    probe = None
            else:
                state.mark_up()
            await asyncio.sleep(every)
    finally:
        if probe is not None:
            probe.terminate()
