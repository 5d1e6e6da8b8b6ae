"""The statement intakes write with lives in the database (``people_write``, migration 0017):
it writes every column the writer sends, no more, no fewer."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.candidates.bulk import writer


async def test_people_write_writes_the_columns_the_writer_sends(db_session: AsyncSession) -> None:
    definition = await db_session.scalar(text("SELECT pg_get_functiondef('people_write'::regproc)"))
    assert definition is not None
    inserted = {
        table: tuple(column.strip() for column in columns.split(","))
        for table, columns in re.findall(r"INSERT INTO (\w+) \(([^)]*)\)", definition)
    }
    assert inserted == {
        "candidate": writer.NEW_COLUMNS,
        "candidate_share": writer.SHARE_COLUMNS,
        "intake": writer.INTAKE_COLUMNS,
        "outbox_event": writer.EVENT_COLUMNS,
        "audit_entry": writer.AUDIT_COLUMNS,
    }
    update = re.search(r"UPDATE candidate AS c SET (.*?) FROM", definition, re.S)
    assert update is not None
    assigned = tuple(part.split("=")[0].strip() for part in update.group(1).split(","))
    assert assigned == (*writer.UPDATED_COLUMNS, "updated_at", "last_activity_at")
