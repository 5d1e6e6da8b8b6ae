"""candidate.qpv_declared and qpv_declared_code; people_write and intake_new_person write them

Revision ID: 0022
Revises: 0023
Create Date: 2026-12-07 03:20:00+00:00

What a person says of their residence (decision 0047) is kept beside the QPV decision, which it
never makes (decision 0013): ``qpv_declared`` (null when nothing was said) and the quartier they
name, checked against the QPV referential. An intake now records a residence (address, point,
declaration): the two functions an intake writes with (migration 0017) insert and update the two
new columns too, as the writer sends them (tests/core/test_people_write.py compares them).
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision_0017() -> ModuleType:
    """Revision 0017, whose statements are written again here with the new columns."""
    path = Path(__file__).with_name("2026-11-23-0620_intake_in_one_round_trip.py")
    spec = importlib.util.spec_from_file_location("maillon_migration_0017", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _revision_0021() -> ModuleType:
    """Revision 0021, whose ``intake_new_person`` (among shared people) is the one written again."""
    path = Path(__file__).with_name("2026-12-07-0300_intake_new_person_among_shared.py")
    spec = importlib.util.spec_from_file_location("maillon_migration_0021", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_0017 = _revision_0017()
_0021 = _revision_0021()
_OLD_COLUMNS: tuple[str, ...] = _0017.CANDIDATE_COLUMNS
_AFTER = _OLD_COLUMNS.index("birth_year") + 1
# The writer's column lists (services/api/candidates/bulk/writer.py), frozen here: the two new
# columns close the scalars a row may fill.
CANDIDATE_COLUMNS = (
    *_OLD_COLUMNS[:_AFTER],
    "qpv_declared",
    "qpv_declared_code",
    *_OLD_COLUMNS[_AFTER:],
)
UPDATED_COLUMNS = CANDIDATE_COLUMNS[3:35]  # first_name … geocoding_due_at


def _update(columns: Sequence[str]) -> str:
    return (
        "UPDATE candidate AS c SET "  # noqa: S608  (constants)
        + ", ".join(f"{name} = u.{name}" for name in columns)
        + ", updated_at = u.updated_at, last_activity_at = u.updated_at "
        "FROM jsonb_populate_recordset(NULL::candidate, updates) AS u WHERE c.id = u.id"
    )


def _functions(candidate_columns: Sequence[str], updated_columns: Sequence[str]) -> list[str]:
    """``people_write`` (0017) and ``intake_new_person`` (0021), written with these column lists."""
    old_write = {updates: _0017._write(updates) for updates in (True, False)}
    saved = (_0017.CANDIDATE_COLUMNS, _0017._UPDATE)
    _0017.CANDIDATE_COLUMNS, _0017._UPDATE = tuple(candidate_columns), _update(updated_columns)
    try:
        new_write = {updates: _0017._write(updates) for updates in (True, False)}
    finally:
        _0017.CANDIDATE_COLUMNS, _0017._UPDATE = saved
    statements = []
    for source, updates in ((_0017.PEOPLE_WRITE, True), (_0021.INTAKE_NEW_PERSON, False)):
        assert old_write[updates] in source
        statement = source.replace(old_write[updates], new_write[updates])
        statements.append(statement.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    return statements


def upgrade() -> None:
    op.add_column("candidate", sa.Column("qpv_declared", sa.Boolean(), nullable=True))
    op.add_column("candidate", sa.Column("qpv_declared_code", sa.String(10), nullable=True))
    for statement in _functions(CANDIDATE_COLUMNS, UPDATED_COLUMNS):
        op.execute(statement)


def downgrade() -> None:
    for statement in _functions(_OLD_COLUMNS, _0017.UPDATED_COLUMNS):
        op.execute(statement)
    op.drop_column("candidate", "qpv_declared_code")
    op.drop_column("candidate", "qpv_declared")
