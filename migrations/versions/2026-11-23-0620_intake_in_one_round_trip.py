"""people_write and intake_new_person: an intake naming someone new in one round trip

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-23 06:20:00+00:00

``people_write`` is the statement an intake request writes everything with (decision 0028), kept
in the database: one JSON array per table, an empty array writes nothing. ``intake_new_person``
serves the common case of a form naming nobody known (decision 0036): it takes the contact keys'
locks as ``candidates_by_contact`` does, then, with a snapshot taken after them, writes only if
no living person has those keys (the same statement, without the updates' part), and says
whether it wrote. Called alone, outside any
transaction, it is the whole intake in one round trip, committed on return.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The text each statement installs, frozen here as it ran (decision 0068): a later change is a
# later migration embedding its own text; the current text lives in
# services/api/people/sql/.

# One JSON array a table, the columns as the writer sends them. Foreign keys are checked at the end
# of the statement: intakes may name the candidates inserted beside them.
PEOPLE_WRITE = """
CREATE FUNCTION people_write(
  candidates jsonb, updates jsonb, shares jsonb, intakes jsonb, events jsonb, audits jsonb
) RETURNS void LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off AS $fn$
BEGIN
  WITH new_candidates AS (INSERT INTO candidate (id, created_at, updated_at, first_name, last_name, phone_e164, email, commune_insee, address, sectors_worked_other, sectors_wanted_other, available_from, hours_per_week, mobility_radius_km, has_driving_licence, has_vehicle, sex, birth_year, search_name, lon, lat, sectors_worked, sectors_wanted, needs, rome_wishes, qpv_status, qpv_code, qpv_method, geocoding_score, qpv_polygon_version, qpv_checked_at, qpv_near_boundary, geocoding_due_at, geocoding_attempts, status, last_activity_at) SELECT id, created_at, updated_at, first_name, last_name, phone_e164, email, commune_insee, address, sectors_worked_other, sectors_wanted_other, available_from, hours_per_week, mobility_radius_km, has_driving_licence, has_vehicle, sex, birth_year, search_name, lon, lat, sectors_worked, sectors_wanted, needs, rome_wishes, qpv_status, qpv_code, qpv_method, geocoding_score, qpv_polygon_version, qpv_checked_at, qpv_near_boundary, geocoding_due_at, geocoding_attempts, status, last_activity_at FROM jsonb_populate_recordset(NULL::candidate, candidates)),
  updated AS (UPDATE candidate AS c SET first_name = u.first_name, last_name = u.last_name, phone_e164 = u.phone_e164, email = u.email, commune_insee = u.commune_insee, address = u.address, sectors_worked_other = u.sectors_worked_other, sectors_wanted_other = u.sectors_wanted_other, available_from = u.available_from, hours_per_week = u.hours_per_week, mobility_radius_km = u.mobility_radius_km, has_driving_licence = u.has_driving_licence, has_vehicle = u.has_vehicle, sex = u.sex, birth_year = u.birth_year, search_name = u.search_name, lon = u.lon, lat = u.lat, sectors_worked = u.sectors_worked, sectors_wanted = u.sectors_wanted, needs = u.needs, rome_wishes = u.rome_wishes, qpv_status = u.qpv_status, qpv_code = u.qpv_code, qpv_method = u.qpv_method, geocoding_score = u.geocoding_score, qpv_polygon_version = u.qpv_polygon_version, qpv_checked_at = u.qpv_checked_at, qpv_near_boundary = u.qpv_near_boundary, geocoding_due_at = u.geocoding_due_at, updated_at = u.updated_at, last_activity_at = u.updated_at FROM jsonb_populate_recordset(NULL::candidate, updates) AS u WHERE c.id = u.id),
  new_shares AS (INSERT INTO candidate_share (candidate_id, organisation_id, reason, created_at) SELECT candidate_id, organisation_id, reason, created_at FROM jsonb_populate_recordset(NULL::candidate_share, shares)),
  new_intakes AS (INSERT INTO intake (id, created_at, updated_at, candidate_id, organisation_id, source, place_organisation_id, deposit_date, collected_on, batch_id, answers, consent_given, consent_text_version, consent_at, entered_by_user_id, entered_by_api_key_id) SELECT id, created_at, updated_at, candidate_id, organisation_id, source, place_organisation_id, deposit_date, collected_on, batch_id, answers, consent_given, consent_text_version, consent_at, entered_by_user_id, entered_by_api_key_id FROM jsonb_populate_recordset(NULL::intake, intakes)),
  new_events AS (INSERT INTO outbox_event (id, type, payload, occurred_at, request_id, publish_attempts) SELECT id, type, payload, occurred_at, request_id, publish_attempts FROM jsonb_populate_recordset(NULL::outbox_event, events))
  INSERT INTO audit_entry (id, occurred_at, actor_type, actor_id, organisation_id, action, resource_type, resource_id, request_id, details) SELECT id, occurred_at, actor_type, actor_id, organisation_id, action, resource_type, resource_id, request_id, details FROM jsonb_populate_recordset(NULL::audit_entry, audits);
END
$fn$
"""

# The contact keys' locks as ``candidates_by_contact`` takes them, then the write without the
# updates: ``candidate``'s update (its indexes opened, its statement trigger fired for no row) is
# not even set up.
INTAKE_NEW_PERSON = """
CREATE FUNCTION intake_new_person(
  phones text[], emails text[], candidates jsonb, shares jsonb, intakes jsonb, events jsonb,
  audits jsonb
) RETURNS boolean LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off AS $fn$
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
  ) OR EXISTS (
    SELECT 1 FROM candidate AS c
    WHERE c.email = ANY(emails) AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
  ) THEN
    RETURN false;
  END IF;
  WITH new_candidates AS (INSERT INTO candidate (id, created_at, updated_at, first_name, last_name, phone_e164, email, commune_insee, address, sectors_worked_other, sectors_wanted_other, available_from, hours_per_week, mobility_radius_km, has_driving_licence, has_vehicle, sex, birth_year, search_name, lon, lat, sectors_worked, sectors_wanted, needs, rome_wishes, qpv_status, qpv_code, qpv_method, geocoding_score, qpv_polygon_version, qpv_checked_at, qpv_near_boundary, geocoding_due_at, geocoding_attempts, status, last_activity_at) SELECT id, created_at, updated_at, first_name, last_name, phone_e164, email, commune_insee, address, sectors_worked_other, sectors_wanted_other, available_from, hours_per_week, mobility_radius_km, has_driving_licence, has_vehicle, sex, birth_year, search_name, lon, lat, sectors_worked, sectors_wanted, needs, rome_wishes, qpv_status, qpv_code, qpv_method, geocoding_score, qpv_polygon_version, qpv_checked_at, qpv_near_boundary, geocoding_due_at, geocoding_attempts, status, last_activity_at FROM jsonb_populate_recordset(NULL::candidate, candidates)),
  new_shares AS (INSERT INTO candidate_share (candidate_id, organisation_id, reason, created_at) SELECT candidate_id, organisation_id, reason, created_at FROM jsonb_populate_recordset(NULL::candidate_share, shares)),
  new_intakes AS (INSERT INTO intake (id, created_at, updated_at, candidate_id, organisation_id, source, place_organisation_id, deposit_date, collected_on, batch_id, answers, consent_given, consent_text_version, consent_at, entered_by_user_id, entered_by_api_key_id) SELECT id, created_at, updated_at, candidate_id, organisation_id, source, place_organisation_id, deposit_date, collected_on, batch_id, answers, consent_given, consent_text_version, consent_at, entered_by_user_id, entered_by_api_key_id FROM jsonb_populate_recordset(NULL::intake, intakes)),
  new_events AS (INSERT INTO outbox_event (id, type, payload, occurred_at, request_id, publish_attempts) SELECT id, type, payload, occurred_at, request_id, publish_attempts FROM jsonb_populate_recordset(NULL::outbox_event, events))
  INSERT INTO audit_entry (id, occurred_at, actor_type, actor_id, organisation_id, action, resource_type, resource_id, request_id, details) SELECT id, occurred_at, actor_type, actor_id, organisation_id, action, resource_type, resource_id, request_id, details FROM jsonb_populate_recordset(NULL::audit_entry, audits);
  RETURN true;
END
$fn$
"""


def upgrade() -> None:
    op.execute(PEOPLE_WRITE)
    op.execute(INTAKE_NEW_PERSON)


def downgrade() -> None:
    op.execute("DROP FUNCTION intake_new_person(text[], text[], jsonb, jsonb, jsonb, jsonb, jsonb)")
    op.execute("DROP FUNCTION people_write(jsonb, jsonb, jsonb, jsonb, jsonb, jsonb)")
