"""matching profile of rankable candidates, kept by triggers; suggestion ledger

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 22:50:00+00:00

See docs/decisions/0016-matching-ranking.md. ``match_profile`` holds what the ranking reads of
each rankable candidate; statement-level triggers on ``candidate`` and a row trigger on
``eligibility_criterion`` keep it current, whatever the write path.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose (a later change of the mapping is a later migration).
SECTORS = (
    "construction",
    "logistics",
    "green_spaces",
    "hospitality",
    "industry",
    "cleaning",
    "transport",
    "administrative",
)
ROME_PREFIXES = (
    ("F", "construction"),
    ("N11", "logistics"),
    ("N12", "logistics"),
    ("N13", "logistics"),
    ("A12", "green_spaces"),
    ("G14", "hospitality"),
    ("G15", "hospitality"),
    ("G16", "hospitality"),
    ("G17", "hospitality"),
    ("G18", "hospitality"),
    ("H", "industry"),
    ("K22", "cleaning"),
    ("K23", "cleaning"),
    ("N2", "transport"),
    ("N3", "transport"),
    ("N4", "transport"),
    ("M12", "administrative"),
    ("M14", "administrative"),
    ("M15", "administrative"),
    ("M16", "administrative"),
)
DEFAULT_RADIUS_KM = 20
COVERED = (
    "candidate_id",
    "home",
    "radius_km",
    "available_from",
    "hours_per_week",
    "eligible_until",
)
# One index per (sector, wanted or only worked, QPV resident or not, with a validated
# eligibility criterion or not): the ranking reads the tiers in the order of their best possible
# score and stops when no lower tier can compete.
TIERS = tuple(
    (sector, wanted, qpv, eligible)
    for sector in SECTORS
    for wanted in (True, False)
    for qpv in (True, False)
    for eligible in (True, False)
)


def tier_index(sector: str, wanted: bool, qpv: bool, eligible: bool) -> tuple[str, str]:
    link = "wanted" if wanted else "worked"
    name = (
        f"ix_match_profile_{sector}_{link}_{'qpv' if qpv else 'other'}"
        f"_{'elig' if eligible else 'none'}"
    )
    where = (
        f"sectors @> ARRAY['{sector}']::varchar(30)[]"
        f" AND {'' if wanted else 'NOT '}wanted @> ARRAY['{sector}']::varchar(30)[]"
        f" AND {'' if qpv else 'NOT '}in_qpv"
        f" AND eligible_until IS {'NOT ' if eligible else ''}NULL"
    )
    return name, where


# Columns of ``candidate`` the profile depends on (an update touching none of them is ignored).
WATCHED = (
    "lon",
    "lat",
    "commune_insee",
    "status",
    "anonymised_at",
    "merged_into_id",
    "sectors_wanted",
    "sectors_worked",
    "rome_wishes",
    "qpv_status",
    "available_from",
    "hours_per_week",
    "mobility_radius_km",
)

_PREFIX_VALUES = ", ".join(f"('{prefix}', '{sector}')" for prefix, sector in ROME_PREFIXES)

# Upsert the profile of each rankable candidate among ``ids``; delete the others' profiles.
# Candidates and communes are read one index probe per id whatever the statistics say (a hash
# join over a whole table would make a small write cost a full scan). The reach box is widened
# in longitude with the cosine of its most poleward latitude, so it
# always contains the circle; the ranking then checks the exact distance.
SYNC_FUNCTION = f"""
CREATE FUNCTION match_profile_sync(ids uuid[]) RETURNS void LANGUAGE sql AS $fn$
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
        JOIN (VALUES {_PREFIX_VALUES}) AS w(prefix, sector) ON starts_with(upper(x.wish), w.prefix)
    ) AS linked(s) ORDER BY s
  )::varchar(30)[],
  ARRAY(
    SELECT DISTINCT s FROM (
      SELECT unnest(c.sectors_wanted)
      UNION SELECT w.sector FROM unnest(c.rome_wishes) AS x(wish)
        JOIN (VALUES {_PREFIX_VALUES}) AS w(prefix, sector) ON starts_with(upper(x.wish), w.prefix)
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
  SELECT coalesce(c.mobility_radius_km, {DEFAULT_RADIUS_KM})::float8 AS km
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
"""  # noqa: S608  (built from this file's constants)

_CHANGED = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in WATCHED)

TRIGGER_FUNCTIONS = (
    """
CREATE FUNCTION match_profile_candidate_inserted() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM match_profile_sync(ARRAY(SELECT id FROM new_rows));
  RETURN NULL;
END
$fn$
""",
    f"""
CREATE FUNCTION match_profile_candidate_updated() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  changed uuid[];
BEGIN
  changed := ARRAY(
    SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {_CHANGED}
  );
  IF cardinality(changed) > 0 THEN
    PERFORM match_profile_sync(changed);
  END IF;
  RETURN NULL;
END
$fn$
""",  # noqa: S608  (built from this file's constants)
    """
CREATE FUNCTION match_profile_eligibility_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  UPDATE match_profile p
  SET eligible_until = (
    SELECT max(coalesce(e.expires_on, 'infinity'::date)) FROM eligibility_criterion e
    WHERE e.candidate_id = p.candidate_id AND e.validated_on IS NOT NULL
  )
  WHERE p.candidate_id IN (
    CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.candidate_id END,
    CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.candidate_id END
  );
  RETURN NULL;
END
$fn$
""",
)

TRIGGERS = (
    """CREATE TRIGGER match_profile_on_insert AFTER INSERT ON candidate
       REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION match_profile_candidate_inserted()""",
    """CREATE TRIGGER match_profile_on_update AFTER UPDATE ON candidate
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION match_profile_candidate_updated()""",
    """CREATE TRIGGER match_profile_on_eligibility
       AFTER INSERT OR UPDATE OR DELETE ON eligibility_criterion
       FOR EACH ROW EXECUTE FUNCTION match_profile_eligibility_changed()""",
)


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE match_profile (
            candidate_id UUID NOT NULL,
            reach BOX NOT NULL,
            home POINT NOT NULL,
            radius_km SMALLINT NOT NULL,
            sectors VARCHAR(30)[] NOT NULL,
            wanted VARCHAR(30)[] NOT NULL,
            rome_wishes VARCHAR(5)[] NOT NULL,
            in_qpv BOOLEAN NOT NULL,
            available_from DATE,
            hours_per_week SMALLINT,
            eligible_until DATE,
            CONSTRAINT pk_match_profile PRIMARY KEY (candidate_id),
            CONSTRAINT fk_match_profile_candidate_id_candidate FOREIGN KEY (candidate_id)
                REFERENCES candidate (id) ON DELETE CASCADE
        )
        """
    )
    for sector, wanted, qpv, eligible in TIERS:
        name, where = tier_index(sector, wanted, qpv, eligible)
        op.execute(
            f"CREATE INDEX {name} ON match_profile USING gist (reach) "
            f"INCLUDE ({', '.join(COVERED)}) WHERE {where}"
        )
    op.create_index(
        "ix_match_profile_rome_wishes",
        "match_profile",
        ["rome_wishes"],
        postgresql_using="gin",
        postgresql_where=sa.text("cardinality(rome_wishes) > 0"),
    )
    op.create_table(
        "match_suggestion",
        sa.Column("offer_id", sa.Uuid(), nullable=False),
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("suggested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidate.id"],
            name=op.f("fk_match_suggestion_candidate_id_candidate"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offer.id"],
            name=op.f("fk_match_suggestion_offer_id_offer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("offer_id", "candidate_id", name=op.f("pk_match_suggestion")),
    )
    op.create_index(
        op.f("ix_match_suggestion_candidate_id"),
        "match_suggestion",
        ["candidate_id"],
        unique=False,
    )
    op.create_index(
        "ix_offer_open_site",
        "offer",
        [sa.text("point(lon, lat)")],
        postgresql_using="gist",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.execute(SYNC_FUNCTION)
    for statement in (*TRIGGER_FUNCTIONS, *TRIGGERS):
        op.execute(statement)
    # Candidates already stored.
    op.execute("SELECT match_profile_sync(ARRAY(SELECT id FROM candidate))")


def downgrade() -> None:
    op.execute("DROP TRIGGER match_profile_on_eligibility ON eligibility_criterion")
    op.execute("DROP TRIGGER match_profile_on_update ON candidate")
    op.execute("DROP TRIGGER match_profile_on_insert ON candidate")
    op.execute("DROP FUNCTION match_profile_eligibility_changed()")
    op.execute("DROP FUNCTION match_profile_candidate_updated()")
    op.execute("DROP FUNCTION match_profile_candidate_inserted()")
    op.execute("DROP FUNCTION match_profile_sync(uuid[])")
    op.drop_index("ix_offer_open_site", table_name="offer")
    op.drop_index(op.f("ix_match_suggestion_candidate_id"), table_name="match_suggestion")
    op.drop_table("match_suggestion")
    op.drop_table("match_profile")
