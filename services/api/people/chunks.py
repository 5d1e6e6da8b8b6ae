"""An import's chunk of rows written: the people found again, laid over and planned as for
intakes (:mod:`.store`, :mod:`.plan`), then written with ``COPY``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence, Set
from datetime import datetime
from typing import Any

from services.api.people.persons import ValidRow
from services.api.people.plan import ChunkResult, plan_people
from services.api.people.store import copy_writes, find_people
from services.core.geo.qpv import QpvIndex
from services.core.models.candidate import ShareReason


async def write_chunk(
    connection: Any,
    rows: Sequence[ValidRow],
    *,
    organisation_id: uuid.UUID,
    import_id: uuid.UUID,
    qpv: QpvIndex | None,
    moment: datetime,
    request_id: str | None,
    actor: tuple[str, uuid.UUID | None],
    created_earlier: Set[uuid.UUID] = frozenset(),
) -> ChunkResult:
    """Write ``rows`` on ``connection`` (asyncpg, inside the caller's transaction)."""
    found = await find_people(connection, rows, organisation_id)
    writes = plan_people(
        found,
        organisation_id=organisation_id,
        qpv=qpv,
        moment=moment,
        request_id=request_id,
        link_reason=ShareReason.CREATED,
        audit_context={"import_id": str(import_id)},
        actor=actor,
        created_earlier=created_earlier,
    )
    await copy_writes(connection, writes, moment)
    return writes.result
