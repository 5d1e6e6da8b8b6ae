"""new candidates' match profiles queued by the insert trigger, built by the matching worker

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-23 06:40:00+00:00

Inserting one profile opens and locks ``match_profile``'s 66 indexes and prepares the predicates
of its 64 GiST tiers: on an intake of one form, most of PostgreSQL's time (decision 0037). The
insert trigger now queues the new candidates' ids in ``match_profile_pending``; the matching
worker builds their profiles in batches (``match_profile_flush``, through ``match_profile_sync``)
before it ranks anything. Changes keep going through ``match_profile_sync`` at once. The flush
never waits on a writer: candidates being written stay queued; the others are locked as a
writer locks them, and a criterion's change now takes the candidate's lock first, so that it
is never lost between a queued candidate and its profile.
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

def _revision_0016() -> ModuleType:
    path = Path(__file__).with_name("2026-11-23-0600_profiles_from_new_rows.py")
    spec = importlib.util.spec_from_file_location("maillon_migration_0016", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
# profiles, neither waits. The flush never waits on a writer either: a candidate that another
# transaction is writing (locked FOR UPDATE / NO KEY UPDATE: an intake, an import, a change) is
# put back in the queue for the next flush, and the others are locked against writers until the
# flush's transaction ends — a writer takes the candidate before its profile, so no writer can
# hold the profile the flush builds, and no cycle of waits can form. A candidate gone meanwhile,
# or not rankable, simply gets no profile.
_FLUSH = f"""
CREATE FUNCTION match_profile_flush(batch integer DEFAULT 5000) RETURNS integer
LANGUAGE plpgsql VOLATILE {_SETTINGS} AS $fn$
DECLARE
  ids uuid[];
  locked uuid[];
  skipped uuid[];
  busy uuid[] := '{{}}';
  built integer := 0;
BEGIN
  LOOP
    WITH taken AS (
      DELETE FROM match_profile_pending
      WHERE candidate_id = ANY(ARRAY(
        SELECT q.candidate_id FROM match_profile_pending AS q
        WHERE q.candidate_id <> ALL(busy)
        ORDER BY q.candidate_id LIMIT batch FOR UPDATE SKIP LOCKED
      ))
      RETURNING candidate_id
    )
    SELECT array_agg(candidate_id) INTO ids FROM taken;
    EXIT WHEN ids IS NULL;
    locked := ARRAY(
      SELECT c.id FROM candidate AS c WHERE c.id = ANY(ids)
      ORDER BY c.id FOR NO KEY UPDATE SKIP LOCKED
    );
    skipped := ARRAY(
      SELECT c.id FROM candidate AS c WHERE c.id = ANY(ids) AND c.id <> ALL(locked)
    );
    INSERT INTO match_profile_pending (candidate_id)
    SELECT x.id FROM unnest(skipped) AS x(id)
    ON CONFLICT DO NOTHING;
    busy := busy || skipped;
    PERFORM match_profile_sync(locked);
    built := built + cardinality(locked);
  END LOOP;
  RETURN built;
END
$fn$
"""


# A criterion's change reaches the profile once the candidate is locked as a writer locks it: a
# flush building the profile meanwhile is waited for (and the profile then updated), or, if the
# change came first, the flush leaves the candidate queued and reads the criterion once stored.
_ELIGIBILITY_BEFORE: str = _revision_0016()._0009.TRIGGER_FUNCTIONS[2].replace(
    "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1
)
_ELIGIBILITY = _ELIGIBILITY_BEFORE.replace(
    "BEGIN\n",
    """BEGIN
  PERFORM 1 FROM candidate AS c
  WHERE c.id IN (
    CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.candidate_id END,
    CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.candidate_id END
  )
  ORDER BY c.id
  FOR NO KEY UPDATE;
""",
    1,
)


def upgrade() -> None:
    op.execute(
        "CREATE TABLE match_profile_pending ("
        "candidate_id UUID NOT NULL, CONSTRAINT pk_match_profile_pending PRIMARY KEY (candidate_id))"
    )
    op.execute(_FLUSH)
    op.execute(_QUEUE)
    op.execute(_ELIGIBILITY)


def downgrade() -> None:
    # The profiles queued are built, and revision 0016's trigger builds them again at insert.
    op.execute("SELECT match_profile_flush()")
    op.execute(_revision_0016()._INSERTED)
    op.execute(_ELIGIBILITY_BEFORE)
    op.execute("DROP FUNCTION match_profile_flush(integer)")
    op.execute("DROP TABLE match_profile_pending")
