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

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The text each statement installs, frozen here as it ran (decision 0068): a later change is a
# later migration embedding its own text; the current text lives in
# services/matching/sql/.

# match_profile_sync computing the sector lists one expression per sector.
SYNC = """
CREATE OR REPLACE FUNCTION match_profile_sync(ids uuid[]) RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off AS $fn$
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
  array_remove(ARRAY[
    CASE WHEN c.sectors_wanted @> '{administrative}' OR c.sectors_worked @> '{administrative}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(M12|M14|M15|M16)') THEN 'administrative' END,
    CASE WHEN c.sectors_wanted @> '{cleaning}' OR c.sectors_worked @> '{cleaning}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(K22|K23)') THEN 'cleaning' END,
    CASE WHEN c.sectors_wanted @> '{construction}' OR c.sectors_worked @> '{construction}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(F)') THEN 'construction' END,
    CASE WHEN c.sectors_wanted @> '{green_spaces}' OR c.sectors_worked @> '{green_spaces}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(A12)') THEN 'green_spaces' END,
    CASE WHEN c.sectors_wanted @> '{hospitality}' OR c.sectors_worked @> '{hospitality}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(G14|G15|G16|G17|G18)') THEN 'hospitality' END,
    CASE WHEN c.sectors_wanted @> '{industry}' OR c.sectors_worked @> '{industry}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(H)') THEN 'industry' END,
    CASE WHEN c.sectors_wanted @> '{logistics}' OR c.sectors_worked @> '{logistics}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N11|N12|N13)') THEN 'logistics' END,
    CASE WHEN c.sectors_wanted @> '{transport}' OR c.sectors_worked @> '{transport}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N2|N3|N4)') THEN 'transport' END
  ]::varchar(30)[], NULL),
  array_remove(ARRAY[
    CASE WHEN c.sectors_wanted @> '{administrative}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(M12|M14|M15|M16)') THEN 'administrative' END,
    CASE WHEN c.sectors_wanted @> '{cleaning}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(K22|K23)') THEN 'cleaning' END,
    CASE WHEN c.sectors_wanted @> '{construction}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(F)') THEN 'construction' END,
    CASE WHEN c.sectors_wanted @> '{green_spaces}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(A12)') THEN 'green_spaces' END,
    CASE WHEN c.sectors_wanted @> '{hospitality}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(G14|G15|G16|G17|G18)') THEN 'hospitality' END,
    CASE WHEN c.sectors_wanted @> '{industry}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(H)') THEN 'industry' END,
    CASE WHEN c.sectors_wanted @> '{logistics}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N11|N12|N13)') THEN 'logistics' END,
    CASE WHEN c.sectors_wanted @> '{transport}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N2|N3|N4)') THEN 'transport' END
  ]::varchar(30)[], NULL),
  CASE WHEN cardinality(c.rome_wishes) = 0 THEN '{}'::varchar(5)[] ELSE
    ARRAY(SELECT DISTINCT upper(x.wish) FROM unnest(c.rome_wishes) AS x(wish) ORDER BY 1)
      ::varchar(5)[] END,
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

# The insert trigger making the new rows' profiles itself.
INSERTED = """
CREATE OR REPLACE FUNCTION match_profile_candidate_inserted() RETURNS trigger LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off AS $fn$
BEGIN
INSERT INTO match_profile (
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
  array_remove(ARRAY[
    CASE WHEN c.sectors_wanted @> '{administrative}' OR c.sectors_worked @> '{administrative}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(M12|M14|M15|M16)') THEN 'administrative' END,
    CASE WHEN c.sectors_wanted @> '{cleaning}' OR c.sectors_worked @> '{cleaning}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(K22|K23)') THEN 'cleaning' END,
    CASE WHEN c.sectors_wanted @> '{construction}' OR c.sectors_worked @> '{construction}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(F)') THEN 'construction' END,
    CASE WHEN c.sectors_wanted @> '{green_spaces}' OR c.sectors_worked @> '{green_spaces}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(A12)') THEN 'green_spaces' END,
    CASE WHEN c.sectors_wanted @> '{hospitality}' OR c.sectors_worked @> '{hospitality}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(G14|G15|G16|G17|G18)') THEN 'hospitality' END,
    CASE WHEN c.sectors_wanted @> '{industry}' OR c.sectors_worked @> '{industry}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(H)') THEN 'industry' END,
    CASE WHEN c.sectors_wanted @> '{logistics}' OR c.sectors_worked @> '{logistics}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N11|N12|N13)') THEN 'logistics' END,
    CASE WHEN c.sectors_wanted @> '{transport}' OR c.sectors_worked @> '{transport}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N2|N3|N4)') THEN 'transport' END
  ]::varchar(30)[], NULL),
  array_remove(ARRAY[
    CASE WHEN c.sectors_wanted @> '{administrative}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(M12|M14|M15|M16)') THEN 'administrative' END,
    CASE WHEN c.sectors_wanted @> '{cleaning}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(K22|K23)') THEN 'cleaning' END,
    CASE WHEN c.sectors_wanted @> '{construction}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(F)') THEN 'construction' END,
    CASE WHEN c.sectors_wanted @> '{green_spaces}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(A12)') THEN 'green_spaces' END,
    CASE WHEN c.sectors_wanted @> '{hospitality}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(G14|G15|G16|G17|G18)') THEN 'hospitality' END,
    CASE WHEN c.sectors_wanted @> '{industry}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(H)') THEN 'industry' END,
    CASE WHEN c.sectors_wanted @> '{logistics}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N11|N12|N13)') THEN 'logistics' END,
    CASE WHEN c.sectors_wanted @> '{transport}'
      OR (cardinality(c.rome_wishes) > 0 AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N2|N3|N4)') THEN 'transport' END
  ]::varchar(30)[], NULL),
  CASE WHEN cardinality(c.rome_wishes) = 0 THEN '{}'::varchar(5)[] ELSE
    ARRAY(SELECT DISTINCT upper(x.wish) FROM unnest(c.rome_wishes) AS x(wish) ORDER BY 1)
      ::varchar(5)[] END,
  c.qpv_status = 'in_qpv',
  c.available_from,
  c.hours_per_week,
  NULL::date
FROM new_rows AS c
LEFT JOIN LATERAL (
  SELECT commune.lon, commune.lat FROM commune
  WHERE c.lon IS NULL AND commune.insee = c.commune_insee LIMIT 1
) AS m ON true
CROSS JOIN LATERAL (
  SELECT coalesce(c.lon, m.lon) AS lon, coalesce(c.lat, m.lat) AS lat
) AS h
CROSS JOIN LATERAL (
  SELECT coalesce(c.mobility_radius_km, 20)::float8 AS km
) AS r
WHERE c.status IN ('new', 'active')
  AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
  AND h.lon IS NOT NULL AND h.lat IS NOT NULL;
RETURN NULL;
END
$fn$
"""

# The insert trigger as revision 0009 made it.
INSERTED_BEFORE = """
CREATE OR REPLACE FUNCTION match_profile_candidate_inserted() RETURNS trigger LANGUAGE plpgsql
AS $fn$
BEGIN
  PERFORM match_profile_sync(ARRAY(SELECT id FROM new_rows));
  RETURN NULL;
END
$fn$
"""

# match_profile_sync as revisions 0012 and 0014 left it.
SYNC_BEFORE = """
CREATE OR REPLACE FUNCTION match_profile_sync(ids uuid[]) RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off AS $fn$
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


def upgrade() -> None:
    op.execute(SYNC)
    op.execute(INSERTED)


def downgrade() -> None:
    op.execute(INSERTED_BEFORE)
    op.execute(SYNC_BEFORE)
