"""new candidates' match profiles queued by the insert trigger, built by the matching worker

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-23 06:40:00+00:00

Inserting one profile opens and locks ``match_profile``'s 66 indexes and prepares the predicates
of its 64 GiST tiers: on an intake of one form, most of PostgreSQL's time (decision 0037). The
insert trigger now queues the new candidates' ids in ``match_profile_pending``; the matching
worker builds their profiles in batches (``match_profile_flush``, through ``match_profile_sync``)
before it ranks anything. Changes keep going through ``match_profile_sync`` at once.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SETTINGS = (
    "SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off"
)
_QUEUE = f"""
CREATE OR REPLACE FUNCTION match_profile_candidate_inserted() RETURNS trigger LANGUAGE plpgsql
{_SETTINGS} AS $fn$
BEGIN
  INSERT INTO match_profile_pending (candidate_id)
  SELECT id FROM new_rows
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$fn$
"""
# Batches of ``batch`` ids taken with SKIP LOCKED: two workers flushing at once build different
# profiles, neither waits. A candidate gone meanwhile, or not rankable, simply gets none.
_FLUSH = f"""
CREATE FUNCTION match_profile_flush(batch integer DEFAULT 5000) RETURNS integer
LANGUAGE plpgsql VOLATILE {_SETTINGS} AS $fn$
DECLARE
  ids uuid[];
  built integer := 0;
BEGIN
  LOOP
    WITH taken AS (
      DELETE FROM match_profile_pending
      WHERE candidate_id = ANY(ARRAY(
        SELECT q.candidate_id FROM match_profile_pending AS q
        ORDER BY q.candidate_id LIMIT batch FOR UPDATE SKIP LOCKED
      ))
      RETURNING candidate_id
    )
    SELECT array_agg(candidate_id) INTO ids FROM taken;
    EXIT WHEN ids IS NULL;
    PERFORM match_profile_sync(ids);
    built := built + cardinality(ids);
  END LOOP;
  RETURN built;
END
$fn$
"""


def upgrade() -> None:
    op.execute(
        "CREATE TABLE match_profile_pending ("
        "candidate_id UUID NOT NULL, CONSTRAINT pk_match_profile_pending PRIMARY KEY (candidate_id))"
    )
    op.execute(_FLUSH)
    op.execute(_QUEUE)


def downgrade() -> None:
    # The profiles queued are built, and revision 0016's trigger builds them again at insert.
    op.execute("SELECT match_profile_flush()")
    op.execute(_revision_0016()._INSERTED)
    op.execute("DROP FUNCTION match_profile_flush(integer)")
    op.execute("DROP TABLE match_profile_pending")


def _revision_0016() -> ModuleType:
    path = Path(__file__).with_name("2026-11-23-0600_profiles_from_new_rows.py")
    spec = importlib.util.spec_from_file_location("maillon_migration_0016", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
