-- match_profile_sync: Upserts the match profile of each rankable candidate among `ids` and
-- deletes the others' (decisions 0016, 0030, 0033, 0035, 0038). Called by
-- match_profile_candidate_updated, match_profile_flush and services/matching/profiles.py
-- (build_profile_of).
-- Current text installed by migration 0030 (2026-12-07-0345_function_text_laid_out.py).
--
-- Candidates and communes are read one index probe per id whatever the statistics say (a hash
-- join over a whole table would make a small write cost a full scan). The reach box uses the
-- declared radius or 20 km, widened in longitude with the cosine of its most poleward latitude
-- so that it always contains the circle (the ranking then checks the exact distance); radius_km
-- stays NULL when the person gave none (decision 0038). A sector is linked when named in the
-- lists or by a ROME wish: the wishes are joined as one upper-case string, each preceded by a
-- comma, so a sector's ROME prefixes are one regular expression.

CREATE OR REPLACE FUNCTION match_profile_sync(ids uuid[]) RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off
AS $fn$
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
  c.mobility_radius_km,
  array_remove(ARRAY[
    CASE WHEN c.sectors_wanted @> '{administrative}' OR c.sectors_worked @> '{administrative}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(M12|M14|M15|M16)')
      THEN 'administrative' END,
    CASE WHEN c.sectors_wanted @> '{cleaning}' OR c.sectors_worked @> '{cleaning}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(K22|K23)')
      THEN 'cleaning' END,
    CASE WHEN c.sectors_wanted @> '{construction}' OR c.sectors_worked @> '{construction}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(F)')
      THEN 'construction' END,
    CASE WHEN c.sectors_wanted @> '{green_spaces}' OR c.sectors_worked @> '{green_spaces}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(A12)')
      THEN 'green_spaces' END,
    CASE WHEN c.sectors_wanted @> '{hospitality}' OR c.sectors_worked @> '{hospitality}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(G14|G15|G16|G17|G18)')
      THEN 'hospitality' END,
    CASE WHEN c.sectors_wanted @> '{industry}' OR c.sectors_worked @> '{industry}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(H)')
      THEN 'industry' END,
    CASE WHEN c.sectors_wanted @> '{logistics}' OR c.sectors_worked @> '{logistics}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N11|N12|N13)')
      THEN 'logistics' END,
    CASE WHEN c.sectors_wanted @> '{transport}' OR c.sectors_worked @> '{transport}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N2|N3|N4)')
      THEN 'transport' END
  ]::varchar(30)[], NULL),
  array_remove(ARRAY[
    CASE WHEN c.sectors_wanted @> '{administrative}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(M12|M14|M15|M16)')
      THEN 'administrative' END,
    CASE WHEN c.sectors_wanted @> '{cleaning}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(K22|K23)')
      THEN 'cleaning' END,
    CASE WHEN c.sectors_wanted @> '{construction}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(F)')
      THEN 'construction' END,
    CASE WHEN c.sectors_wanted @> '{green_spaces}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(A12)')
      THEN 'green_spaces' END,
    CASE WHEN c.sectors_wanted @> '{hospitality}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(G14|G15|G16|G17|G18)')
      THEN 'hospitality' END,
    CASE WHEN c.sectors_wanted @> '{industry}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(H)')
      THEN 'industry' END,
    CASE WHEN c.sectors_wanted @> '{logistics}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N11|N12|N13)')
      THEN 'logistics' END,
    CASE WHEN c.sectors_wanted @> '{transport}'
      OR (cardinality(c.rome_wishes) > 0
          AND (',' || upper(array_to_string(c.rome_wishes, ','))) ~ ',(N2|N3|N4)')
      THEN 'transport' END
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
$fn$;
