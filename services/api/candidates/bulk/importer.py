"""``import_candidates``: read, check and write a CSV file of candidates, chunk by chunk.

Each chunk of valid rows (1,000 by default: two advisory locks a row must fit PostgreSQL's lock
table beside the running requests) is written in its own transaction; a refused row never
reaches the database. People created by an earlier chunk are found again by the next ones, so
running the same file twice creates nobody twice. Only the people already shared with the
organisation are found again (decision 0044): a row naming somebody another organisation holds
creates the organisation's own record. One audit entry sums the import up.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.candidates.bulk.parallel import QpvRows, check_in_worker, checking_pool
from services.api.candidates.bulk.rows import (
    FileRefused,
    Referentials,
    RowError,
    check_rows,
    read_rows,
)
from services.api.candidates.bulk.statistics import Statistics
from services.api.people.chunks import write_chunk
from services.api.people.persons import ValidRow
from services.api.people.plan import ChunkResult
from services.core import audit
from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.geo.qpv import build_qpv_index
from services.core.ids import uuid7
from services.core.models.geo import Commune, Qpv
from services.core.models.organisation import Organisation
from services.core.models.referentials import RomeFiche
from services.core.referentials.store import DatasetKind, DatasetVersion, current_dataset
from services.core.security.principal import Principal

DEFAULT_CHUNK_ROWS = 1_000
CHECK_BLOCK_ROWS = 500  # rows sent to a worker process at a time
NOT_STORED = (
    "non enregistrée : la base de données a refusé le lot de lignes {first}–{last} ; relancez "
    "l'import (les personnes déjà importées seront retrouvées, pas créées deux fois)"
)


class ImportRefused(FileRefused):
    """The import cannot start (unknown organisation…); French message."""


@dataclass
class ImportReport:
    import_id: uuid.UUID
    rows: int = 0  # data lines read (blank lines aside)
    created: int = 0  # new candidates
    linked: int = 0  # rows laid over a stored person (shared, blanks filled)
    updated: int = 0  # stored people whose profile changed
    # Stored people newly shared with the organisation: none since decision 0044 (people are
    # found among the organisation's own); kept in the report's fields.
    shared: int = 0
    duplicates: int = 0  # rows laid over a person created earlier in the file
    refused: list[RowError] = field(default_factory=list)
    # The people this import created: found again by a later chunk, they are duplicates of the
    # file, not people known before.
    created_ids: set[uuid.UUID] = field(default_factory=set)

    def add(self, chunk: ChunkResult) -> None:
        self.created_ids.update(chunk.created_ids)
        self.created += chunk.created
        self.linked += chunk.linked
        self.updated += chunk.updated
        self.shared += chunk.shared
        self.duplicates += chunk.duplicates

    def summary(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "linked": self.linked,
            "updated": self.updated,
            "shared": self.shared,
            "duplicates": self.duplicates,
            "refused": len(self.refused),
        }


async def load_referentials(session: AsyncSession) -> Referentials:
    communes = frozenset(await session.scalars(select(col(Commune.insee))))
    rome = frozenset(await session.scalars(select(col(RomeFiche.code))))
    qpv_codes = frozenset(await session.scalars(select(col(Qpv.code))))
    return Referentials(communes=communes, rome_codes=rome, qpv_codes=qpv_codes)


async def qpv_polygons(session: AsyncSession) -> tuple[QpvRows, DatasetVersion | None]:
    """The stored QPV polygons as :func:`build_qpv_index` takes them (none when not imported)."""
    result = await session.execute(
        select(col(Qpv.code), col(Qpv.name), col(Qpv.insee_codes), col(Qpv.geometry)).order_by(
            col(Qpv.code)
        )
    )
    rows = [(r[0], r[1], r[2], r[3]) for r in result.all()]
    return rows, await current_dataset(session, DatasetKind.QPV)


def _blocks(
    items: Iterator[tuple[int, dict[str, str]] | RowError], size: int
) -> Iterator[list[tuple[int, dict[str, str]] | RowError]]:
    block: list[tuple[int, dict[str, str]] | RowError] = []
    for item in items:
        block.append(item)
        if len(block) >= size:
            yield block
            block = []
    if block:
        yield block


async def import_candidates(
    sessionmaker: SessionMaker,
    source: Iterable[bytes],
    organisation_id: uuid.UUID,
    *,
    actor: Principal | None = None,
    request_id: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    workers: int = 0,
) -> ImportReport:
    """Import the CSV ``source`` (blocks of bytes) for ``organisation_id``.

    ``workers`` > 0 checks rows in that many worker processes (:mod:`.parallel`) while this one
    writes; 0 checks them here.

    :class:`FileRefused` when the file cannot be read at all (nothing is written then, as long
    as the problem is in the header; a broken quote further down stops the import there).
    """
    async with sessionmaker() as session:
        active = await session.scalar(
            select(col(Organisation.is_active)).where(col(Organisation.id) == organisation_id)
        )
        if not active:
            raise ImportRefused("organisation inconnue ou désactivée")
        known = await load_referentials(session)
        polygons, dataset = await qpv_polygons(session)
    qpv = await asyncio.to_thread(build_qpv_index, polygons, dataset) if polygons else None

    statistics = Statistics(sessionmaker)
    await statistics.start()
    report = ImportReport(import_id=uuid7())
    actor_key = (actor.kind, actor.id) if actor is not None else ("system", None)
    chunk: list[ValidRow] = []

    async def flush() -> None:
        if not chunk:
            return
        try:
            async with sessionmaker() as session:
                # asyncpg itself, for COPY: its own transaction (SQLAlchemy never sees one).
                raw = await (await session.connection()).get_raw_connection()
                connection = raw.driver_connection
                assert connection is not None
                async with connection.transaction():
                    result = await write_chunk(
                        connection,
                        chunk,
                        organisation_id=organisation_id,
                        import_id=report.import_id,
                        qpv=qpv,
                        moment=now(),
                        request_id=request_id,
                        actor=actor_key,
                        created_earlier=report.created_ids,
                    )
        except (asyncpg.PostgresError, DBAPIError):
            reason = NOT_STORED.format(first=chunk[0].line, last=chunk[-1].line)
            report.refused.extend(RowError(row.line, (reason,)) for row in chunk)
        else:
            report.add(result)
            statistics.written(result.created)
        chunk.clear()

    async def take(checked: list[ValidRow | RowError]) -> None:
        for item in checked:
            report.rows += 1
            if isinstance(item, RowError):
                report.refused.append(item)
                continue
            chunk.append(item)
            if len(chunk) >= chunk_rows:
                await flush()

    blocks = _blocks(read_rows(source), CHECK_BLOCK_ROWS)
    if workers <= 0:
        for block in blocks:
            await take(check_rows(block, known, qpv))
    else:
        # Workers check the next blocks while this process writes; results taken in order.
        loop = asyncio.get_running_loop()
        with checking_pool(workers, known, polygons, dataset) as pool:
            pending: deque[asyncio.Future[list[ValidRow | RowError]]] = deque()
            for block in blocks:
                pending.append(loop.run_in_executor(pool, check_in_worker, block))
                if len(pending) > 2 * workers:
                    await take(await pending.popleft())
            while pending:
                await take(await pending.popleft())
    await flush()
    await statistics.finish()

    async with unit_of_work(sessionmaker) as session:
        entry = audit.record(
            session,
            actor,
            "import",
            "candidate_import",
            report.import_id,
            request_id=request_id,
            details={"organisation_id": str(organisation_id), **report.summary()},
        )
        entry.organisation_id = organisation_id
    report.refused.sort(key=lambda error: error.line)
    return report
