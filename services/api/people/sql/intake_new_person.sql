-- intake_new_person: A form naming nobody known among the caller's organisations' people,
-- written in one round trip (decisions 0036, 0044): the contact keys' locks, then, if no such
-- person has those keys, the write of people_write without its updates; says whether it wrote.
-- Called by services/api/people/store.py.
-- Current text installed by migration 0030 (2026-12-07-0345_function_text_laid_out.py).
--
-- The contact keys' locks are taken as candidates_by_contact takes them; the check that follows
-- is a new statement, with a snapshot taken after them. Among the people shared with
-- `organisations`, the share's primary key (candidate_id, organisation_id) answers for each
-- living person found by a key. Without updates, candidate's update (its indexes opened, its
-- statement trigger fired for no row) is not even set up.

CREATE OR REPLACE FUNCTION intake_new_person(
  phones text[], emails text[], organisations uuid[], candidates jsonb, shares jsonb,
  intakes jsonb, events jsonb, audits jsonb
) RETURNS boolean
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
  -- A new statement, a new snapshot: whoever held a key before us has committed by now.
  IF EXISTS (
    SELECT 1 FROM candidate AS c
    WHERE c.phone_e164 = ANY(phones) AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
      AND EXISTS (
        SELECT 1 FROM candidate_share AS s
        WHERE s.candidate_id = c.id AND s.organisation_id = ANY(organisations)
      )
  ) OR EXISTS (
    SELECT 1 FROM candidate AS c
    WHERE c.email = ANY(emails) AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
      AND EXISTS (
        SELECT 1 FROM candidate_share AS s
        WHERE s.candidate_id = c.id AND s.organisation_id = ANY(organisations)
      )
  ) THEN
    RETURN false;
  END IF;
  WITH new_candidates AS (
    INSERT INTO candidate (
      id, created_at, updated_at, first_name, last_name, phone_e164, email, commune_insee, address,
      sectors_worked_other, sectors_wanted_other, available_from, hours_per_week,
      mobility_radius_km, has_driving_licence, has_vehicle, sex, birth_year, qpv_declared,
      qpv_declared_code, search_name, lon, lat, sectors_worked, sectors_wanted, needs, rome_wishes,
      qpv_status, qpv_code, qpv_method, geocoding_score, qpv_polygon_version, qpv_checked_at,
      qpv_near_boundary, geocoding_due_at, geocoding_attempts, status, last_activity_at
    )
    SELECT
      id, created_at, updated_at, first_name, last_name, phone_e164, email, commune_insee, address,
      sectors_worked_other, sectors_wanted_other, available_from, hours_per_week,
      mobility_radius_km, has_driving_licence, has_vehicle, sex, birth_year, qpv_declared,
      qpv_declared_code, search_name, lon, lat, sectors_worked, sectors_wanted, needs, rome_wishes,
      qpv_status, qpv_code, qpv_method, geocoding_score, qpv_polygon_version, qpv_checked_at,
      qpv_near_boundary, geocoding_due_at, geocoding_attempts, status, last_activity_at
    FROM jsonb_populate_recordset(NULL::candidate, candidates)
  ),
  new_shares AS (
    INSERT INTO candidate_share (
      candidate_id, organisation_id, reason, created_at
    )
    SELECT
      candidate_id, organisation_id, reason, created_at
    FROM jsonb_populate_recordset(NULL::candidate_share, shares)
  ),
  new_intakes AS (
    INSERT INTO intake (
      id, created_at, updated_at, candidate_id, organisation_id, source, place_organisation_id,
      deposit_date, collected_on, batch_id, answers, consent_given, consent_text_version,
      consent_at, entered_by_user_id, entered_by_api_key_id
    )
    SELECT
      id, created_at, updated_at, candidate_id, organisation_id, source, place_organisation_id,
      deposit_date, collected_on, batch_id, answers, consent_given, consent_text_version,
      consent_at, entered_by_user_id, entered_by_api_key_id
    FROM jsonb_populate_recordset(NULL::intake, intakes)
  ),
  new_events AS (
    INSERT INTO outbox_event (
      id, type, payload, occurred_at, request_id, publish_attempts
    )
    SELECT
      id, type, payload, occurred_at, request_id, publish_attempts
    FROM jsonb_populate_recordset(NULL::outbox_event, events)
  )
  INSERT INTO audit_entry (
    id, occurred_at, actor_type, actor_id, organisation_id, action, resource_type, resource_id,
    request_id, details
  )
  SELECT
    id, occurred_at, actor_type, actor_id, organisation_id, action, resource_type, resource_id,
    request_id, details
  FROM jsonb_populate_recordset(NULL::audit_entry, audits);
  RETURN true;
END
$fn$;
