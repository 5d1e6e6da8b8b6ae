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

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns each table is written with, as the writer sends them (frozen here: a later change
# of the lists is a later migration; tests/core/test_people_write.py compares them).
CANDIDATE_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "first_name",
    "last_name",
    "phone_e164",
    "email",
    "commune_insee",
    "address",
    "sectors_worked_other",
    "sectors_wanted_other",
    "available_from",
    "hours_per_week",
    "mobility_radius_km",
    "has_driving_licence",
    "has_vehicle",
    "sex",
    "birth_year",
    "search_name",
    "lon",
    "lat",
    "sectors_worked",
    "sectors_wanted",
    "needs",
    "rome_wishes",
    "qpv_status",
    "qpv_code",
    "qpv_method",
    "geocoding_score",
    "qpv_polygon_version",
    "qpv_checked_at",
    "qpv_near_boundary",
    "geocoding_due_at",
    "geocoding_attempts",
    "status",
    "last_activity_at",
)
UPDATED_COLUMNS = CANDIDATE_COLUMNS[3:33]  # first_name … geocoding_due_at
SHARE_COLUMNS = ("candidate_id", "organisation_id", "reason", "created_at")
INTAKE_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "candidate_id",
    "organisation_id",
    "source",
    "place_organisation_id",
    "deposit_date",
    "collected_on",
    "batch_id",
    "answers",
    "consent_given",
    "consent_text_version",
    "consent_at",
    "entered_by_user_id",
    "entered_by_api_key_id",
)
EVENT_COLUMNS = ("id", "type", "payload", "occurred_at", "request_id", "publish_attempts")
AUDIT_COLUMNS = (
    "id",
    "occurred_at",
    "actor_type",
    "actor_id",
    "organisation_id",
    "action",
    "resource_type",
    "resource_id",
    "request_id",
    "details",
)


def _revision_0015() -> ModuleType:
    """Revision 0015, whose contact keys' locks ``intake_new_person`` takes the same way."""
    path = Path(__file__).with_name("2026-11-23-0500_contact_lookup_without_join.py")
    spec = importlib.util.spec_from_file_location("maillon_migration_0015", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_SETTINGS = (
    "SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off"
)


def _insert(table: str, columns: Sequence[str], rows: str) -> str:
    names = ", ".join(columns)
    return (
        f"INSERT INTO {table} ({names}) SELECT {names} "  # noqa: S608  (constants)
        f"FROM jsonb_populate_recordset(NULL::{table}, {rows})"
    )


_UPDATE = (
    "UPDATE candidate AS c SET "  # noqa: S608  (constants)
    + ", ".join(f"{name} = u.{name}" for name in UPDATED_COLUMNS)
    + ", updated_at = u.updated_at, last_activity_at = u.updated_at "
    "FROM jsonb_populate_recordset(NULL::candidate, updates) AS u WHERE c.id = u.id"
)


def _write(updates: bool) -> str:
    """The statement writing one JSON array a table, the people found again's updates or not.

    Foreign keys are checked at the end of the statement: intakes may name the candidates
    inserted beside them. Without updates, ``candidate``'s update (its indexes opened, its
    statement trigger fired for no row) is not even set up.
    """
    updated = f"  updated AS ({_UPDATE}),\n" if updates else ""
    return f"""WITH new_candidates AS ({_insert("candidate", CANDIDATE_COLUMNS, "candidates")}),
{updated}  new_shares AS ({_insert("candidate_share", SHARE_COLUMNS, "shares")}),
  new_intakes AS ({_insert("intake", INTAKE_COLUMNS, "intakes")}),
  new_events AS ({_insert("outbox_event", EVENT_COLUMNS, "events")})
  {_insert("audit_entry", AUDIT_COLUMNS, "audits")};"""


PEOPLE_WRITE = f"""
CREATE FUNCTION people_write(
  candidates jsonb, updates jsonb, shares jsonb, intakes jsonb, events jsonb, audits jsonb
) RETURNS void LANGUAGE plpgsql VOLATILE {_SETTINGS} AS $fn$
BEGIN
  {_write(updates=True)}
END
$fn$
"""
# "BEGIN", then the contact keys' locks, as ``candidates_by_contact`` takes them.
_KEY_LOCKS: str = _revision_0015()._LOCKS.lstrip("\n")
INTAKE_NEW_PERSON = f"""
CREATE FUNCTION intake_new_person(
  phones text[], emails text[], candidates jsonb, shares jsonb, intakes jsonb, events jsonb,
  audits jsonb
) RETURNS boolean LANGUAGE plpgsql VOLATILE {_SETTINGS} AS $fn$
{_KEY_LOCKS}  -- A new statement, a new snapshot: whoever held a key before us has committed by now.
  IF EXISTS (
    SELECT 1 FROM candidate AS c
    WHERE c.phone_e164 = ANY(phones) AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
  ) OR EXISTS (
    SELECT 1 FROM candidate AS c
    WHERE c.email = ANY(emails) AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
  ) THEN
    RETURN false;
  END IF;
  {_write(updates=False)}
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
