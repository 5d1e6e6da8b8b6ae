"""The statement intakes write with lives in the database (``people_write`` and, without the
updates, ``intake_new_person``; migration 0017): it writes every column the writer sends, no
more, no fewer."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.candidates.bulk import writer


@pytest.mark.parametrize("function", ["people_write", "intake_new_person"])
async def test_the_functions_write_the_columns_the_writer_sends(
    db_session: AsyncSession, function: str
) -> None:
    definition = await db_session.scalar(
        text("SELECT pg_get_functiondef(CAST(:function AS regproc))"), {"function": function}
    )
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
    if function == "intake_new_person":  # new people only
        assert update is None
        return
    assert update is not None
    assigned = tuple(part.split("=")[0].strip() for part in update.group(1).split(","))
    assert assigned == (*writer.UPDATED_COLUMNS, "updated_at", "last_activity_at")
