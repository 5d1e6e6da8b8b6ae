-- candidates_by_contact: Takes the contact keys' advisory locks (sorted, as POST /v1/candidates
-- takes them), then reads and locks the people those phones and e-mails name, oldest first
-- (decisions 0030, 0033). Called by services/api/people/store.py.
-- Current text installed by migration 0015 (2026-11-23-0500_contact_lookup_without_join.py).

CREATE OR REPLACE FUNCTION candidates_by_contact(phones text[], emails text[]) RETURNS SETOF candidate
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off
AS $fn$
BEGIN
  PERFORM count(pg_advisory_xact_lock(hashtextextended('maillon:contact:' || k, 0)))
  FROM (
    SELECT k FROM (
      SELECT 'phone:' || v FROM unnest(phones) AS p(v)
      UNION SELECT 'email:' || v FROM unnest(emails) AS e(v)
    ) AS keys(k)
    ORDER BY k
  ) AS ordered;

  RETURN QUERY
  SELECT c.* FROM candidate AS c
  WHERE c.id = ANY(ARRAY(
    SELECT p.id FROM candidate AS p WHERE p.phone_e164 = ANY(phones)
    UNION SELECT e.id FROM candidate AS e WHERE e.email = ANY(emails)
  ))
  ORDER BY c.created_at, c.id
  FOR UPDATE;
END
$fn$;
