-- match_profile_candidate_inserted: After an INSERT into candidate, the new candidates' ids are
-- queued in match_profile_pending; the matching worker builds their profiles before it ranks
-- anything (match_profile_flush, decision 0037).
-- Current text installed by migration 0018 (2026-11-23-0640_profiles_built_by_matching.py).

CREATE OR REPLACE FUNCTION match_profile_candidate_inserted() RETURNS trigger
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off
AS $fn$
BEGIN
  INSERT INTO match_profile_pending (candidate_id)
  SELECT id FROM new_rows
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER match_profile_on_insert AFTER INSERT ON candidate
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION match_profile_candidate_inserted();
