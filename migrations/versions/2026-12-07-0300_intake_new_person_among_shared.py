"""intake_new_person: somebody known only to another organisation does not count

Revision ID: 0021
Revises: 0018
Create Date: 2026-12-07 03:00:00+00:00

A phone or an e-mail must not open another organisation's record (decision 0044): a form finds a
person again only among the candidates already shared with the caller's organisations. The one
round trip of decision 0036 now says "somebody known" only of such a person, so that a form
naming somebody held elsewhere is written at once, as for somebody new, instead of falling back
to the locked read (which would not find them either, one round trip later). The function takes
the organisations as its third argument; the contact keys' locks, the snapshot taken after them
and the write are unchanged.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The text each statement installs, frozen here as it ran (decision 0068): a later change is a
# later migration embedding its own text; the current text lives in
# services/api/people/sql/.

# Among the candidates shared with ``organisations``: the share's primary key (candidate_id,
# organisation_id) answers for each living person found by a key.
INTAKE_NEW_PERSON = """
CREATE FUNCTION intake_new_person(
  phones text[], emails text[], organisations uuid[], candidates jsonb, shares jsonb,
  intakes jsonb, events jsonb, audits jsonb
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
      AND EXISTS (SELECT 1 FROM candidate_share AS s WHERE s.candidate_id = c.id AND s.organisation_id = ANY(organisations))
  ) OR EXISTS (
    SELECT 1 FROM candidate AS c
    WHERE c.email = ANY(emails) AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
      AND EXISTS (SELECT 1 FROM candidate_share AS s WHERE s.candidate_id = c.id AND s.organisation_id = ANY(organisations))
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

# intake_new_person as revision 0017 made it.
INTAKE_NEW_PERSON_BEFORE = """
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

_OLD = "intake_new_person(text[], text[], jsonb, jsonb, jsonb, jsonb, jsonb)"
_NEW = "intake_new_person(text[], text[], uuid[], jsonb, jsonb, jsonb, jsonb, jsonb)"


def upgrade() -> None:
    # Dropped, not overloaded: one function of the name, as the writer and its tests name it.
    op.execute(f"DROP FUNCTION {_OLD}")
    op.execute(INTAKE_NEW_PERSON)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {_NEW}")
    op.execute(INTAKE_NEW_PERSON_BEFORE)
