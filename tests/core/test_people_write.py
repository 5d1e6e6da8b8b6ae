"""The statement intakes write with lives in the database (``people_write`` and, without the
updates, ``intake_new_person``; migration 0017): it writes every column the writer sends, no
more, no fewer."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.people import columns
from services.core.models.candidate import Candidate


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
        "candidate": columns.NEW_COLUMNS,
        "candidate_share": columns.SHARE_COLUMNS,
        "intake": columns.INTAKE_COLUMNS,
        "outbox_event": columns.EVENT_COLUMNS,
        "audit_entry": columns.AUDIT_COLUMNS,
    }
    update = re.search(r"UPDATE candidate AS c SET (.*?) FROM", definition, re.S)
    if function == "intake_new_person":  # new people only
        assert update is None
        return
    assert update is not None
    assigned = tuple(part.split("=")[0].strip() for part in update.group(1).split(","))
    assert assigned == (*columns.UPDATED_COLUMNS, "updated_at", "last_activity_at")


def test_a_new_candidate_leaves_to_the_database_only_what_no_row_says() -> None:
    """A column added to ``candidate`` is either written by the people writer (and then by the
    functions above, through a migration) or named here as left to the database."""
    left_to_the_database = {
        "search_vector",  # generated
        "referent_organisation_id",
        "referent_prescriber_id",
        "retention_warned_at",
        "anonymised_at",
        "merged_into_id",
    }
    table = columns.every_column(Candidate)
    assert len(set(columns.NEW_COLUMNS)) == len(columns.NEW_COLUMNS)
    assert set(columns.NEW_COLUMNS) == set(table) - left_to_the_database
    assert set(columns.UPDATED_COLUMNS) < set(columns.NEW_COLUMNS)
