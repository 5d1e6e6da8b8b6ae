"""match profiles of new candidates made from the inserted rows; sectors without subqueries

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 06:00:00+00:00

A new candidate's profile was made by ``match_profile_sync``, written for changes: it looked for
a profile to delete, read the candidate again by its id, looked its eligibility up and upserted.
None of that applies to a row just inserted (no profile, no criterion can exist yet): the insert
trigger now makes the profiles straight from the statement's new rows. Both functions compute
the sector lists with one expression per sector instead of three subqueries of unions, sorts
and joins, which PostgreSQL set up again at every statement (decision 0035): same lists — the
eight sectors, sorted, each once — for every value the API accepts.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision_0009() -> ModuleType:
    """Revision 0009, whose sectors, ROME prefixes and functions' text this one starts from."""
    path = Path(__file__).with_name("2026-11-22-2250_matching_profile.py")
    spec = importlib.util.spec_from_file_location("maillon_migration_0009", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_0009 = _revision_0009()
_SETTINGS = (
    "SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off"
)
_SYNC_SQL_HEAD = "CREATE FUNCTION match_profile_sync(ids uuid[]) RETURNS void LANGUAGE sql AS $fn$"
_SYNC_HEAD = (
    "CREATE OR REPLACE FUNCTION match_profile_sync(ids uuid[]) RETURNS void LANGUAGE plpgsql "
    f"{_SETTINGS} AS $fn$\nBEGIN"
)
# The candidate's ROME wishes as one upper-case string, each preceded by a comma (a ROME code is
# letters and digits): a sector's prefixes are then one regular expression.
_WISHES = "(',' || upper(array_to_string(c.rome_wishes, ',')))"


def _sectors(*lists: str) -> str:
    """The sectors named in ``lists`` (columns of ``c``) or by a ROME wish, sorted, each once."""
    prefixes: dict[str, list[str]] = {}
    for prefix, sector in _0009.ROME_PREFIXES:
        prefixes.setdefault(sector, []).append(prefix)
    cases = []
    for sector in sorted(_0009.SECTORS):
        named = " OR ".join(f"c.{name} @> '{{{sector}}}'" for name in lists)
        wished = f"{_WISHES} ~ ',({'|'.join(prefixes[sector])})'"
        cases.append(
            f"CASE WHEN {named}\n      OR (cardinality(c.rome_wishes) > 0 AND {wished})"
            f" THEN '{sector}' END"
        )
    return "array_remove(ARRAY[\n    " + ",\n    ".join(cases) + "\n  ]::varchar(30)[], NULL)"


# The three lists as revision 0009 computes them (its function's text, from the sectors' list up
# to the QPV flag), and as this one does.
_SYNC_TEXT: str = _0009.SYNC_FUNCTION
_OLD_LISTS = _SYNC_TEXT[
    _SYNC_TEXT.index("  ARRAY(\n    SELECT DISTINCT s FROM (") : _SYNC_TEXT.index("  c.qpv_status = 'in_qpv',")
]
_LISTS = f"""  {_sectors("sectors_wanted", "sectors_worked")},
  {_sectors("sectors_wanted")},
  CASE WHEN cardinality(c.rome_wishes) = 0 THEN '{{}}'::varchar(5)[] ELSE
    ARRAY(SELECT DISTINCT upper(x.wish) FROM unnest(c.rome_wishes) AS x(wish) ORDER BY 1)
      ::varchar(5)[] END,
"""


def _sync(lists: str) -> str:
    """``match_profile_sync`` in PL/pgSQL (revision 0012) computing the lists with ``lists``."""
    text: str = _0009.SYNC_FUNCTION
    assert _SYNC_SQL_HEAD in text and _OLD_LISTS in text
    body = text.rstrip().removesuffix("$fn$").replace(_SYNC_SQL_HEAD, _SYNC_HEAD)
    return body.replace(_OLD_LISTS, lists) + "END\n$fn$"


def _profile_select() -> str:
    """The sync function's ``SELECT`` of the profiles (its list of columns, up to ``FROM``)."""
    text: str = _0009.SYNC_FUNCTION
    start = text.index("SELECT\n  c.id,")
    return text[start : text.index("FROM (SELECT DISTINCT x.id", start)]


_ELIGIBILITY = """(SELECT max(coalesce(e.expires_on, 'infinity'::date)) FROM eligibility_criterion e
   WHERE e.candidate_id = c.id AND e.validated_on IS NOT NULL)"""
# No criterion can name a candidate before its row exists.
_INSERTED = f"""
CREATE OR REPLACE FUNCTION match_profile_candidate_inserted() RETURNS trigger LANGUAGE plpgsql
{_SETTINGS} AS $fn$
BEGIN
INSERT INTO match_profile (
  candidate_id, reach, home, radius_km, sectors, wanted, rome_wishes, in_qpv,
  available_from, hours_per_week, eligible_until
)
{_profile_select().replace(_OLD_LISTS, _LISTS).replace(_ELIGIBILITY, "NULL::date")}FROM new_rows AS c
LEFT JOIN LATERAL (
  SELECT commune.lon, commune.lat FROM commune
  WHERE c.lon IS NULL AND commune.insee = c.commune_insee LIMIT 1
) AS m ON true
CROSS JOIN LATERAL (
  SELECT coalesce(c.lon, m.lon) AS lon, coalesce(c.lat, m.lat) AS lat
) AS h
CROSS JOIN LATERAL (
  SELECT coalesce(c.mobility_radius_km, {_0009.DEFAULT_RADIUS_KM})::float8 AS km
) AS r
WHERE c.status IN ('new', 'active')
  AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
  AND h.lon IS NOT NULL AND h.lat IS NOT NULL;
RETURN NULL;
END
$fn$
"""  # noqa: S608  (built from constants)
_INSERTED_BEFORE = """
CREATE OR REPLACE FUNCTION match_profile_candidate_inserted() RETURNS trigger LANGUAGE plpgsql
AS $fn$
BEGIN
  PERFORM match_profile_sync(ARRAY(SELECT id FROM new_rows));
  RETURN NULL;
END
$fn$
"""


def upgrade() -> None:
    assert _OLD_LISTS in _profile_select() and _ELIGIBILITY in _profile_select()
    op.execute(_sync(_LISTS))
    op.execute(_INSERTED)


def downgrade() -> None:
    op.execute(_INSERTED_BEFORE)
    op.execute(_sync(_OLD_LISTS))
