-- match_profile_flush: Builds the queued profiles in batches of `batch` ids and returns how many
-- it built; never waits on a writer: candidates being written stay queued for the next flush
-- (decision 0037). Called by services/matching/profiles.py (build_queued_profiles) before every
-- ranking job.
-- Current text installed by migration 0018 (2026-11-23-0640_profiles_built_by_matching.py).
--
-- Batches of `batch` ids are taken with SKIP LOCKED: two workers flushing at once build
-- different profiles, neither waits. The flush never waits on a writer either: a candidate that
-- another transaction is writing (locked FOR UPDATE / NO KEY UPDATE: an intake, an import, a
-- change) is put back in the queue for the next flush, and the others are locked against writers
-- until the flush's transaction ends. A writer takes the candidate before its profile, so no
-- writer can hold the profile the flush builds, and no cycle of waits can form. A candidate gone
-- meanwhile, or not rankable, simply gets no profile.

CREATE OR REPLACE FUNCTION match_profile_flush(batch integer DEFAULT 5000) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off
AS $fn$
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
$fn$;
