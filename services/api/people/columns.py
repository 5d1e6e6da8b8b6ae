"""The columns the people writer fills, table by table: one list each, in one place.

The import writes them with ``COPY``, an intake request through ``people_write`` /
``intake_new_person`` (migration 0017, whose frozen copies of these lists
tests/core/test_people_write.py compares with the functions of the migrated database). A table
written whole takes its columns from its model; ``candidate`` is written from what a row may
say of a person (:mod:`.persons`), the database filling the rest.
"""

from __future__ import annotations

from sqlmodel import SQLModel

from services.api.people.persons import LISTS, QPV_COLUMNS, SCALARS
from services.core.events import OUTBOX_COLUMNS
from services.core.models.audit import AuditEntry
from services.core.models.candidate import CandidateShare
from services.core.models.intake import Intake


def every_column(model: type[SQLModel]) -> tuple[str, ...]:
    """The columns of ``model``'s table, in the table's order."""
    return tuple(model.__table__.columns.keys())  # type: ignore[attr-defined]


# What a row may change on a stored person.
UPDATED_COLUMNS: tuple[str, ...] = (*SCALARS, "search_name", "lon", "lat", *LISTS, *QPV_COLUMNS)
# Every column of a new candidate; the database fills the rest (generated search vector, server
# defaults, what only later steps set: referents, retention, erasure, merging).
NEW_COLUMNS: tuple[str, ...] = (
    "id",
    "created_at",
    "updated_at",
    *UPDATED_COLUMNS,
    "geocoding_attempts",
    "status",
    "last_activity_at",
)
SHARE_COLUMNS: tuple[str, ...] = every_column(CandidateShare)
INTAKE_COLUMNS: tuple[str, ...] = every_column(Intake)
AUDIT_COLUMNS: tuple[str, ...] = every_column(AuditEntry)
EVENT_COLUMNS: tuple[str, ...] = OUTBOX_COLUMNS
# Columns of JSON values (sent to ``COPY`` as text).
JSON_COLUMNS = frozenset({"payload", "details", "answers"})
