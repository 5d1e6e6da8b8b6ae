-- match_profile_candidate_updated: After an UPDATE of candidate, the profiles of the rows whose
-- ranked columns changed are made again at once (match_profile_sync); an update touching none of
-- them costs nothing more (decision 0016).
-- Current text installed by migration 0030 (2026-12-07-0345_function_text_laid_out.py).

CREATE OR REPLACE FUNCTION match_profile_candidate_updated() RETURNS trigger
LANGUAGE plpgsql
AS $fn$
DECLARE
  changed uuid[];
BEGIN
  changed := ARRAY(
    SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE o.lon IS DISTINCT FROM n.lon
       OR o.lat IS DISTINCT FROM n.lat
       OR o.commune_insee IS DISTINCT FROM n.commune_insee
       OR o.status IS DISTINCT FROM n.status
       OR o.anonymised_at IS DISTINCT FROM n.anonymised_at
       OR o.merged_into_id IS DISTINCT FROM n.merged_into_id
       OR o.sectors_wanted IS DISTINCT FROM n.sectors_wanted
       OR o.sectors_worked IS DISTINCT FROM n.sectors_worked
       OR o.rome_wishes IS DISTINCT FROM n.rome_wishes
       OR o.qpv_status IS DISTINCT FROM n.qpv_status
       OR o.available_from IS DISTINCT FROM n.available_from
       OR o.hours_per_week IS DISTINCT FROM n.hours_per_week
       OR o.mobility_radius_km IS DISTINCT FROM n.mobility_radius_km
  );
  IF cardinality(changed) > 0 THEN
    PERFORM match_profile_sync(changed);
  END IF;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER match_profile_on_update AFTER UPDATE ON candidate
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION match_profile_candidate_updated();
