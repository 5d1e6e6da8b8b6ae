-- people_write: Everything an intake writes, in one statement: one JSON array per table, an
-- empty array writes nothing (decision 0028). The column lists are the writer's
-- (services/api/people/columns.py; tests/core/test_people_write.py compares them). Called by
-- services/api/people/store.py.
-- Current text installed by migration 0030 (2026-12-07-0345_function_text_laid_out.py).
--
-- Foreign keys are checked at the end of the statement: intakes may name the candidates inserted
-- beside them.

CREATE OR REPLACE FUNCTION people_write(
  candidates jsonb, updates jsonb, shares jsonb, intakes jsonb, events jsonb, audits jsonb
) RETURNS void
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off
AS $fn$
BEGIN
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
  updated AS (
    UPDATE candidate AS c SET first_name = u.first_name, last_name = u.last_name,
      phone_e164 = u.phone_e164, email = u.email, commune_insee = u.commune_insee,
      address = u.address, sectors_worked_other = u.sectors_worked_other,
      sectors_wanted_other = u.sectors_wanted_other, available_from = u.available_from,
      hours_per_week = u.hours_per_week, mobility_radius_km = u.mobility_radius_km,
      has_driving_licence = u.has_driving_licence, has_vehicle = u.has_vehicle, sex = u.sex,
      birth_year = u.birth_year, qpv_declared = u.qpv_declared,
      qpv_declared_code = u.qpv_declared_code, search_name = u.search_name, lon = u.lon,
      lat = u.lat, sectors_worked = u.sectors_worked, sectors_wanted = u.sectors_wanted,
      needs = u.needs, rome_wishes = u.rome_wishes, qpv_status = u.qpv_status,
      qpv_code = u.qpv_code, qpv_method = u.qpv_method, geocoding_score = u.geocoding_score,
      qpv_polygon_version = u.qpv_polygon_version, qpv_checked_at = u.qpv_checked_at,
      qpv_near_boundary = u.qpv_near_boundary, geocoding_due_at = u.geocoding_due_at,
      updated_at = u.updated_at, last_activity_at = u.updated_at
    FROM jsonb_populate_recordset(NULL::candidate, updates) AS u
    WHERE c.id = u.id
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
END
$fn$;
