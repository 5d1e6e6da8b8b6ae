-- match_profile_eligibility_changed: After a write of eligibility_criterion, the candidate's
-- profile gets its new eligibility, once the candidate is locked as a writer locks it, so that a
-- flush building the profile meanwhile never loses the change (decision 0037).
-- Current text installed by migration 0018 (2026-11-23-0640_profiles_built_by_matching.py).
--
-- A flush building the profile meanwhile is waited for (and the profile then updated), or, if
-- the change came first, the flush leaves the candidate queued and reads the criterion once
-- stored.

CREATE OR REPLACE FUNCTION match_profile_eligibility_changed() RETURNS trigger
LANGUAGE plpgsql
AS $fn$
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
$fn$;

CREATE TRIGGER match_profile_on_eligibility
  AFTER INSERT OR UPDATE OR DELETE ON eligibility_criterion
  FOR EACH ROW EXECUTE FUNCTION match_profile_eligibility_changed();
