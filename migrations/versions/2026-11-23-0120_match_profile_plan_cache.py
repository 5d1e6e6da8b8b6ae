"""match_profile_sync in PL/pgSQL with one generic plan per connection

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 01:20:00+00:00

The function the ``candidate`` triggers call was an SQL function: PostgreSQL plans its two
statements again at every call, about 1.5 ms of the 2 ms a new candidate cost (decision 0030).
The same statements in PL/pgSQL are planned once per connection and kept (a generic plan: the
array of ids takes any size through the same index probes).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The text each statement installs, frozen here as it ran (decision 0068): a later change is a
# later migration embedding its own text; the current text lives in
# services/matching/sql/.

# match_profile_sync in PL/pgSQL, planned once per connection.
SYNC_PLPGSQL = """
CREATE OR REPLACE FUNCTION match_profile_sync(ids uuid[]) RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $fn$
BEGIN
DELETE FROM match_profile p
WHERE p.candidate_id = ANY(ARRAY(
  SELECT x.id FROM unnest(ids) AS x(id)
  WHERE NOT coalesce((
    SELECT true FROM candidate c
    WHERE c.id = x.id
      AND c.status IN ('new', 'active')
      AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
      AND (c.lon IS NOT NULL
           OR (SELECT true FROM commune m WHERE m.insee = c.commune_insee LIMIT 1))
    LIMIT 1
  ), false)
));
INSERT INTO match_profile AS p (
  candidate_id, reach, home, radius_km, sectors, wanted, rome_wishes, in_qpv,
  available_from, hours_per_week, eligible_until
)
SELECT
  c.id,
  box(
    point(h.lon - r.km / (111.195 * cos(radians(least(89.0, abs(h.lat) + r.km / 111.195)))),
          h.lat - r.km / 111.195),
    point(h.lon + r.km / (111.195 * cos(radians(least(89.0, abs(h.lat) + r.km / 111.195)))),
          h.lat + r.km / 111.195)
  ),
  point(h.lon, h.lat),
  r.km,
  ARRAY(
    SELECT DISTINCT s FROM (
      SELECT unnest(c.sectors_wanted) UNION SELECT unnest(c.sectors_worked)
      UNION SELECT w.sector FROM unnest(c.rome_wishes) AS x(wish)
        JOIN (VALUES ('F', 'construction'), ('N11', 'logistics'), ('N12', 'logistics'), ('N13', 'logistics'), ('A12', 'green_spaces'), ('G14', 'hospitality'), ('G15', 'hospitality'), ('G16', 'hospitality'), ('G17', 'hospitality'), ('G18', 'hospitality'), ('H', 'industry'), ('K22', 'cleaning'), ('K23', 'cleaning'), ('N2', 'transport'), ('N3', 'transport'), ('N4', 'transport'), ('M12', 'administrative'), ('M14', 'administrative'), ('M15', 'administrative'), ('M16', 'administrative')) AS w(prefix, sector) ON starts_with(upper(x.wish), w.prefix)
    ) AS linked(s) ORDER BY s
  )::varchar(30)[],
  ARRAY(
    SELECT DISTINCT s FROM (
      SELECT unnest(c.sectors_wanted)
      UNION SELECT w.sector FROM unnest(c.rome_wishes) AS x(wish)
        JOIN (VALUES ('F', 'construction'), ('N11', 'logistics'), ('N12', 'logistics'), ('N13', 'logistics'), ('A12', 'green_spaces'), ('G14', 'hospitality'), ('G15', 'hospitality'), ('G16', 'hospitality'), ('G17', 'hospitality'), ('G18', 'hospitality'), ('H', 'industry'), ('K22', 'cleaning'), ('K23', 'cleaning'), ('N2', 'transport'), ('N3', 'transport'), ('N4', 'transport'), ('M12', 'administrative'), ('M14', 'administrative'), ('M15', 'administrative'), ('M16', 'administrative')) AS w(prefix, sector) ON starts_with(upper(x.wish), w.prefix)
    ) AS strong(s) ORDER BY s
  )::varchar(30)[],
  ARRAY(SELECT DISTINCT upper(x.wish) FROM unnest(c.rome_wishes) AS x(wish) ORDER BY 1)
    ::varchar(5)[],
  c.qpv_status = 'in_qpv',
  c.available_from,
  c.hours_per_week,
  (SELECT max(coalesce(e.expires_on, 'infinity'::date)) FROM eligibility_criterion e
   WHERE e.candidate_id = c.id AND e.validated_on IS NOT NULL)
FROM (SELECT DISTINCT x.id FROM unnest(ids) AS x(id)) AS x
CROSS JOIN LATERAL (
  SELECT * FROM candidate WHERE candidate.id = x.id LIMIT 1  -- one index probe per id
) AS c
LEFT JOIN LATERAL (
  SELECT commune.lon, commune.lat FROM commune WHERE commune.insee = c.commune_insee LIMIT 1
) AS m ON true
CROSS JOIN LATERAL (
  SELECT coalesce(c.lon, m.lon) AS lon, coalesce(c.lat, m.lat) AS lat
) AS h
CROSS JOIN LATERAL (
  SELECT coalesce(c.mobility_radius_km, 20)::float8 AS km
) AS r
WHERE c.status IN ('new', 'active')
  AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
  AND h.lon IS NOT NULL AND h.lat IS NOT NULL
ON CONFLICT (candidate_id) DO UPDATE SET
  reach = excluded.reach, home = excluded.home, radius_km = excluded.radius_km,
  sectors = excluded.sectors, wanted = excluded.wanted, rome_wishes = excluded.rome_wishes,
  in_qpv = excluded.in_qpv, available_from = excluded.available_from,
  hours_per_week = excluded.hours_per_week, eligible_until = excluded.eligible_until
WHERE NOT (p.reach ~= excluded.reach AND p.home ~= excluded.home)
   OR (p.radius_km, p.sectors, p.wanted, p.rome_wishes, p.in_qpv, p.available_from,
       p.hours_per_week, p.eligible_until)
      IS DISTINCT FROM
      (excluded.radius_km, excluded.sectors, excluded.wanted, excluded.rome_wishes,
       excluded.in_qpv, excluded.available_from, excluded.hours_per_week,
       excluded.eligible_until);
END
$fn$"""

# match_profile_sync as revision 0009 made it (an SQL function).
SYNC_SQL = """
CREATE OR REPLACE FUNCTION match_profile_sync(ids uuid[]) RETURNS void LANGUAGE sql AS $fn$
DELETE FROM match_profile p
WHERE p.candidate_id = ANY(ARRAY(
  SELECT x.id FROM unnest(ids) AS x(id)
  WHERE NOT coalesce((
    SELECT true FROM candidate c
    WHERE c.id = x.id
      AND c.status IN ('new', 'active')
      AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
      AND (c.lon IS NOT NULL
           OR (SELECT true FROM commune m WHERE m.insee = c.commune_insee LIMIT 1))
    LIMIT 1
  ), false)
));
INSERT INTO match_profile AS p (
  candidate_id, reach, home, radius_km, sectors, wanted, rome_wishes, in_qpv,
  available_from, hours_per_week, eligible_until
)
SELECT
  c.id,
  box(
    point(h.lon - r.km / (111.195 * cos(radians(least(89.0, abs(h.lat) + r.km / 111.195)))),
          h.lat - r.km / 111.195),
    point(h.lon + r.km / (111.195 * cos(radians(least(89.0, abs(h.lat) + r.km / 111.195)))),
          h.lat + r.km / 111.195)
  ),
  point(h.lon, h.lat),
  r.km,
  ARRAY(
    SELECT DISTINCT s FROM (
      SELECT unnest(c.sectors_wanted) UNION SELECT unnest(c.sectors_worked)
      UNION SELECT w.sector FROM unnest(c.rome_wishes) AS x(wish)
        JOIN (VALUES ('F', 'construction'), ('N11', 'logistics'), ('N12', 'logistics'), ('N13', 'logistics'), ('A12', 'green_spaces'), ('G14', 'hospitality'), ('G15', 'hospitality'), ('G16', 'hospitality'), ('G17', 'hospitality'), ('G18', 'hospitality'), ('H', 'industry'), ('K22', 'cleaning'), ('K23', 'cleaning'), ('N2', 'transport'), ('N3', 'transport'), ('N4', 'transport'), ('M12', 'administrative'), ('M14', 'administrative'), ('M15', 'administrative'), ('M16', 'administrative')) AS w(prefix, sector) ON starts_with(upper(x.wish), w.prefix)
    ) AS linked(s) ORDER BY s
  )::varchar(30)[],
  ARRAY(
    SELECT DISTINCT s FROM (
      SELECT unnest(c.sectors_wanted)
      UNION SELECT w.sector FROM unnest(c.rome_wishes) AS x(wish)
        JOIN (VALUES ('F', 'construction'), ('N11', 'logistics'), ('N12', 'logistics'), ('N13', 'logistics'), ('A12', 'green_spaces'), ('G14', 'hospitality'), ('G15', 'hospitality'), ('G16', 'hospitality'), ('G17', 'hospitality'), ('G18', 'hospitality'), ('H', 'industry'), ('K22', 'cleaning'), ('K23', 'cleaning'), ('N2', 'transport'), ('N3', 'transport'), ('N4', 'transport'), ('M12', 'administrative'), ('M14', 'administrative'), ('M15', 'administrative'), ('M16', 'administrative')) AS w(prefix, sector) ON starts_with(upper(x.wish), w.prefix)
    ) AS strong(s) ORDER BY s
  )::varchar(30)[],
  ARRAY(SELECT DISTINCT upper(x.wish) FROM unnest(c.rome_wishes) AS x(wish) ORDER BY 1)
    ::varchar(5)[],
  c.qpv_status = 'in_qpv',
  c.available_from,
  c.hours_per_week,
  (SELECT max(coalesce(e.expires_on, 'infinity'::date)) FROM eligibility_criterion e
   WHERE e.candidate_id = c.id AND e.validated_on IS NOT NULL)
FROM (SELECT DISTINCT x.id FROM unnest(ids) AS x(id)) AS x
CROSS JOIN LATERAL (
  SELECT * FROM candidate WHERE candidate.id = x.id LIMIT 1  -- one index probe per id
) AS c
LEFT JOIN LATERAL (
  SELECT commune.lon, commune.lat FROM commune WHERE commune.insee = c.commune_insee LIMIT 1
) AS m ON true
CROSS JOIN LATERAL (
  SELECT coalesce(c.lon, m.lon) AS lon, coalesce(c.lat, m.lat) AS lat
) AS h
CROSS JOIN LATERAL (
  SELECT coalesce(c.mobility_radius_km, 20)::float8 AS km
) AS r
WHERE c.status IN ('new', 'active')
  AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
  AND h.lon IS NOT NULL AND h.lat IS NOT NULL
ON CONFLICT (candidate_id) DO UPDATE SET
  reach = excluded.reach, home = excluded.home, radius_km = excluded.radius_km,
  sectors = excluded.sectors, wanted = excluded.wanted, rome_wishes = excluded.rome_wishes,
  in_qpv = excluded.in_qpv, available_from = excluded.available_from,
  hours_per_week = excluded.hours_per_week, eligible_until = excluded.eligible_until
WHERE NOT (p.reach ~= excluded.reach AND p.home ~= excluded.home)
   OR (p.radius_km, p.sectors, p.wanted, p.rome_wishes, p.in_qpv, p.available_from,
       p.hours_per_week, p.eligible_until)
      IS DISTINCT FROM
      (excluded.radius_km, excluded.sectors, excluded.wanted, excluded.rome_wishes,
       excluded.in_qpv, excluded.available_from, excluded.hours_per_week,
       excluded.eligible_until);
$fn$
"""


def upgrade() -> None:
    op.execute(SYNC_PLPGSQL)


def downgrade() -> None:
    # Changing a function's language needs CREATE OR REPLACE, which keeps the triggers.
    op.execute(SYNC_SQL)
    op.execute("ALTER FUNCTION match_profile_sync(uuid[]) RESET plan_cache_mode")
