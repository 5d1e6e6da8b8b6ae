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

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The text each statement installs, frozen here as it ran (decision 0068): a later change is a
# later migration embedding its own text; the current text lives in
# services/matching/sql/.

# Batches of ``batch`` ids taken with SKIP LOCKED: two workers flushing at once build different
# profiles, neither waits. The flush never waits on a writer either: a candidate that another
# transaction is writing (locked FOR UPDATE / NO KEY UPDATE: an intake, an import, a change) is put
# back in the queue for the next flush, and the others are locked against writers until the flush's
# transaction ends — a writer takes the candidate before its profile, so no writer can hold the
# profile the flush builds, and no cycle of waits can form. A candidate gone meanwhile, or not
# rankable, simply gets no profile.
FLUSH = """
CREATE FUNCTION match_profile_flush(batch integer DEFAULT 5000) RETURNS integer
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off AS $fn$
DECLARE
  ids uuid[];
  locked uuid[];
  skipped uuid[];
  busy uuid[] := '{}';
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

# The insert trigger queueing the new candidates' ids.
QUEUE = """
CREATE OR REPLACE FUNCTION match_profile_candidate_inserted() RETURNS trigger LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off AS $fn$
BEGIN
  INSERT INTO match_profile_pending (candidate_id)
  SELECT id FROM new_rows
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$fn$
"""

# A criterion's change reaches the profile once the candidate is locked as a writer locks it.
ELIGIBILITY = """
CREATE OR REPLACE FUNCTION match_profile_eligibility_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM 1 FROM candidate AS c
  WHERE c.id IN (
    CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.candidate_id END,
    CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.candidate_id END
  )
  ORDER BY c.id
  FOR NO KEY UPDATE;
  UPDATE match_profile p
  SET eligible_until = (
    SELECT max(coalesce(e.expires_on, 'infinity'::date)) FROM eligibility_criterion e
    WHERE e.candidate_id = p.candidate_id AND e.validated_on IS NOT NULL
  )
  WHERE p.candidate_id IN (
    CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.candidate_id END,
    CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.candidate_id END
  );
  RETURN NULL;
END
$fn$
"""

# The insert trigger as revision 0016 made it.
INSERTED_BEFORE = """
CREATE OR REPLACE FUNCTION match_profile_candidate_inserted() RETURNS trigger LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off AS $fn$
BEGIN
INSERT INTO match_profile (
  candidate_id, reach, home, radius_km, sectors, wanted, rome_wishes, in_qpv,
  available_from, hours_per_week, eligible_until
)
SELECT
  c.id,
  box(
    point(h.lon - r.km / (111.195 * cos(radians(least(89.0, abs(h.lat) + r.km / 111.195)))),
          h.lat - r.km / 111.195),
    point(h.lon + r.km / (111.195 * cos(radians(least(89.0, abs(h.lat) + r.km / 111.195)))),
          h.lat + r.km / 111.195)
  ),
  point(h.lon, h.lat),
  r.km,
  array_remove(ARRAY[
    CASE WHEN c.sectors_wanted @> '{administrative}' OR c.sectors_worked @> '{administrative}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(M12|M14|M15|M16)') THEN 'administrative' END,
    CASE WHEN c.sectors_wanted @> '{cleaning}' OR c.sectors_worked @> '{cleaning}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(K22|K23)') THEN 'cleaning' END,
    CASE WHEN c.sectors_wanted @> '{construction}' OR c.sectors_worked @> '{construction}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(F)') THEN 'construction' END,
    CASE WHEN c.sectors_wanted @> '{green_spaces}' OR c.sectors_worked @> '{green_spaces}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(A12)') THEN 'green_spaces' END,
    CASE WHEN c.sectors_wanted @> '{hospitality}' OR c.sectors_worked @> '{hospitality}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(G14|G15|G16|G17|G18)') THEN 'hospitality' END,
    CASE WHEN c.sectors_wanted @> '{industry}' OR c.sectors_worked @> '{industry}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(H)') THEN 'industry' END,
    CASE WHEN c.sectors_wanted @> '{logistics}' OR c.sectors_worked @> '{logistics}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N11|N12|N13)') THEN 'logistics' END,
    CASE WHEN c.sectors_wanted @> '{transport}' OR c.sectors_worked @> '{transport}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N2|N3|N4)') THEN 'transport' END
  ]::varchar(30)[], NULL),
  array_remove(ARRAY[
    CASE WHEN c.sectors_wanted @> '{administrative}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(M12|M14|M15|M16)') THEN 'administrative' END,
    CASE WHEN c.sectors_wanted @> '{cleaning}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(K22|K23)') THEN 'cleaning' END,
    CASE WHEN c.sectors_wanted @> '{construction}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(F)') THEN 'construction' END,
    CASE WHEN c.sectors_wanted @> '{green_spaces}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(A12)') THEN 'green_spaces' END,
    CASE WHEN c.sectors_wanted @> '{hospitality}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(G14|G15|G16|G17|G18)') THEN 'hospitality' END,
    CASE WHEN c.sectors_wanted @> '{industry}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(H)') THEN 'industry' END,
    CASE WHEN c.sectors_wanted @> '{logistics}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N11|N12|N13)') THEN 'logistics' END,
    CASE WHEN c.sectors_wanted @> '{transport}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N2|N3|N4)') THEN 'transport' END
  ]::varchar(30)[], NULL),
  CASE WHEN cardinality(c.rome_wishes) = 0 THEN '{}'::varchar(5)[] ELSE
    ARRAY(SELECT DISTINCT upper(x.wish) FROM unnest(c.rome_wishes) AS x(wish) ORDER BY 1)
      ::varchar(5)[] END,
  c.qpv_status = 'in_qpv',
  c.available_from,
  c.hours_per_week,
  NULL::date
FROM new_rows AS c
LEFT JOIN LATERAL (
  SELECT commune.lon, commune.lat FROM commune
  WHERE c.lon IS NULL AND commune.insee = c.commune_insee LIMIT 1
) AS m ON true
CROSS JOIN LATERAL (
  SELECT coalesce(c.lon, m.lon) AS lon, coalesce(c.lat, m.lat) AS lat
) AS h
CROSS JOIN LATERAL (
  SELECT coalesce(c.mobility_radius_km, 20)::float8 AS km
) AS r
WHERE c.status IN ('new', 'active')
  AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
  AND h.lon IS NOT NULL AND h.lat IS NOT NULL;
RETURN NULL;
END
$fn$
"""

# The criterion trigger as revision 0009 made it.
ELIGIBILITY_BEFORE = """
CREATE OR REPLACE FUNCTION match_profile_eligibility_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  UPDATE match_profile p
  SET eligible_until = (
    SELECT max(coalesce(e.expires_on, 'infinity'::date)) FROM eligibility_criterion e
    WHERE e.candidate_id = p.candidate_id AND e.validated_on IS NOT NULL
  )
  WHERE p.candidate_id IN (
    CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.candidate_id END,
    CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.candidate_id END
  );
  RETURN NULL;
END
$fn$
"""


def upgrade() -> None:
    op.execute(
        "CREATE TABLE match_profile_pending ("
        "candidate_id UUID NOT NULL, CONSTRAINT pk_match_profile_pending PRIMARY KEY (candidate_id))"
    )
    op.execute(FLUSH)
    op.execute(QUEUE)
    op.execute(ELIGIBILITY)


def downgrade() -> None:
    # The profiles queued are built, and revision 0016's trigger builds them again at insert.
    op.execute("SELECT match_profile_flush()")
    op.execute(INSERTED_BEFORE)
    op.execute(ELIGIBILITY_BEFORE)
    op.execute("DROP FUNCTION match_profile_flush(integer)")
    op.execute("DROP TABLE match_profile_pending")
