"""match_profile_sync in PL/pgSQL with one generic plan per connection

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 01:20:00+00:00

The function the ``candidate`` triggers call was an SQL function: PostgreSQL plans its two
statements again at every call, about 1.5 ms of the 2 ms a new candidate cost (decision 0030).
The same statements in PL/pgSQL are planned once per connection and kept (a generic plan: the
array of ids takes any size through the same index probes).
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQL_HEAD = "CREATE FUNCTION match_profile_sync(ids uuid[]) RETURNS void LANGUAGE sql AS $fn$"
_PLPGSQL_HEAD = (
    "CREATE OR REPLACE FUNCTION match_profile_sync(ids uuid[]) RETURNS void LANGUAGE plpgsql "
    "SET plan_cache_mode = force_generic_plan AS $fn$\nBEGIN"
)


def _sql_function() -> str:
    """The function as revision 0009 made it (its own text: both stay the same statements)."""
    path = Path(__file__).with_name("2026-11-22-2250_matching_profile.py")
    spec = importlib.util.spec_from_file_location("maillon_migration_0009", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.SYNC_FUNCTION
    assert _SQL_HEAD in text and text.rstrip().endswith("$fn$")
    return text


def upgrade() -> None:
    text = _sql_function()
    body = text.rstrip().removesuffix("$fn$")
    op.execute(body.replace(_SQL_HEAD, _PLPGSQL_HEAD) + "END\n$fn$")


def downgrade() -> None:
    # Changing a function's language needs CREATE OR REPLACE, which keeps the triggers.
    op.execute(_sql_function().replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute("ALTER FUNCTION match_profile_sync(uuid[]) RESET plan_cache_mode")
