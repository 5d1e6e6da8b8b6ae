"""``import_candidates``: read, check and write a CSV file of candidates, chunk by chunk.

Each chunk of valid rows (1,000 by default: two advisory locks a row must fit PostgreSQL's lock
table beside the running requests) is written in its own transaction; a refused row never
reaches the database. People created by an earlier chunk are found again by the next ones, so
running the same file twice creates nobody twice. One audit entry sums the import up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.candidates.bulk.rows import (
    FileRefused,
    Referentials,
    RowError,
    ValidRow,
    check_row,
    read_rows,
)
from services.api.candidates.bulk.writer import ChunkResult, write_chunk
from services.core import audit
from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.geo.qpv import QpvIndex, load_qpv_index
from services.core.ids import uuid7
from services.core.models.geo import Commune
from services.core.models.organisation import Organisation
from services.core.models.referentials import RomeFiche
from services.core.security.principal import Principal

DEFAULT_CHUNK_ROWS = 1_000
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
    shared: int = 0  # stored people newly shared with the organisation
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
    return Referentials(communes=communes, rome_codes=rome)


async def qpv_if_loaded(session: AsyncSession) -> QpvIndex | None:
    index = await load_qpv_index(session)
    return index if len(index) else None


async def import_candidates(
    sessionmaker: SessionMaker,
    source: Iterable[bytes],
    organisation_id: uuid.UUID,
    *,
    actor: Principal | None = None,
    request_id: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> ImportReport:
    """Import the CSV ``source`` (blocks of bytes) for ``organisation_id``.

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
        qpv = await qpv_if_loaded(session)

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
        chunk.clear()

    for item in read_rows(source):
        report.rows += 1
        if isinstance(item, RowError):
            report.refused.append(item)
            continue
        checked = check_row(*item, known)
        if isinstance(checked, RowError):
            report.refused.append(checked)
            continue
        chunk.append(checked)
        if len(chunk) >= chunk_rows:
            await flush()
    await flush()

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
