"""The score of a (candidate, offer) pair as SQL expressions (product.md §5, decisions 0016 and
0038): the ranking's statements (``services/matching/queries.py``) and the explanation of one
pair (the API) write the same expressions, so a pair gets the same points whoever asks."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.core.models.match_profile import DEFAULT_RADIUS_KM
from services.core.ranking.weights import UNKNOWN_SHARE, Weights


def km_sql(home: str, site_lon: str, site_lat: str) -> str:
    """Distance in km between ``home`` (a point: lon, lat) and the site: equirectangular
    approximation, within 0.1 % of the great circle at the radii used (≤ 500 km).

    Each gap is taken as at least 1e-9° (0.1 mm): PostgreSQL refuses a product that underflows
    (``value out of range: underflow``), and one stored point must never fail a whole ranking."""
    dlat = f"greatest(abs({home}[1] - {site_lat}), 1e-9)"
    dlon = f"greatest(abs({home}[0] - {site_lon}), 1e-9)"
    return (
        f"6371.0088 * sqrt(power(radians({dlat}), 2) + "
        f"power(cos(radians(({home}[1] + {site_lat}) / 2)) * radians({dlon}), 2))"
    )


def day_sql(value: str) -> str:
    """A date brought within years 1000–3000 before any arithmetic: a stored ``infinity`` (what
    a driver writes for year 9999) or an absurd year must not fail the ranking of everyone else
    (issue 14); beyond the decay window every such date scores the same anyway."""
    return f"least(greatest({value}, DATE '1000-01-01'), DATE '3000-01-01')"


def reach_km(radius: str) -> str:
    """The radius within which a person is ranked: the declared one, else the default."""
    return f"coalesce({radius}, {DEFAULT_RADIUS_KM})"


def offer_points_sql(contract: str) -> str:
    """:func:`points_sql` of a profile ``p`` for an offer ``o`` of the contract ``contract``
    (outer joined), the reference day ``r.reference`` and the distance ``d.km``: the statement
    ranking offers for one person and the explanation of one pair write the same points."""
    return points_sql(
        strong="(o.sector IS NULL OR p.wanted @> CAST(ARRAY[o.sector] AS varchar(30)[]))",
        in_qpv="p.in_qpv",
        qpv_weight=(
            f"CASE WHEN coalesce({contract}.is_npnru, false)"
            f" OR {contract}.qpv_priority IN ('preferred', 'required')"
            " THEN CAST(:w_qpv_priority AS float8) ELSE CAST(:w_qpv AS float8) END"
        ),
        available_from="p.available_from",
        reference="r.reference",
        candidate_hours="p.hours_per_week",
        offer_hours="CAST(o.hours_per_week AS float8)",
        km="d.km",
        radius="p.radius_km",
        eligible_until="p.eligible_until",
        eligibility_applies="(o.requires_eligibility OR o.contract_id IS NOT NULL)",
    )


def points_sql(
    *,
    strong: str,
    in_qpv: str,
    qpv_weight: str,
    available_from: str,
    reference: str,
    candidate_hours: str,
    offer_hours: str,
    km: str,
    radius: str,
    eligible_until: str,
    eligibility_applies: str,
) -> str:
    """The five ``*_points`` columns, each rounded to the hundredth. What the person did not
    give earns :data:`UNKNOWN_SHARE` of the best a declared value earns (decision 0038): an
    unknown availability date, unknown weekly hours (when the offer states its own), an unknown
    radius (the distance scored against the default radius)."""
    return f"""
    round(100 * CASE WHEN {strong} THEN CAST(:w_sector AS float8)
                     ELSE CAST(:w_sector_experience AS float8) END) / 100 AS sector_points,
    round(100 * CASE WHEN {in_qpv} THEN {qpv_weight} ELSE 0 END) / 100 AS qpv_points,
    round(100 * (
        CAST(:w_availability AS float8) * CASE WHEN {available_from} IS NULL THEN {UNKNOWN_SHARE}
            ELSE greatest(0.0, 1.0 - greatest(0, {day_sql(available_from)} - {day_sql(reference)})
                                     / CAST(:decay_days AS float8)) END
        + CAST(:w_hours AS float8) * CASE WHEN {offer_hours} IS NULL THEN 1.0
            WHEN {candidate_hours} IS NULL THEN {UNKNOWN_SHARE}
            WHEN {candidate_hours} >= {offer_hours} THEN 1.0 ELSE 0.0 END
    )) / 100 AS availability_points,
    round(100 * CAST(:w_distance AS float8) * CASE
        WHEN {radius} IS NULL
            THEN {UNKNOWN_SHARE} * greatest(0.0, 1.0 - {km} / {DEFAULT_RADIUS_KM})
        WHEN {radius} <= 0 THEN 1.0
        ELSE greatest(0.0, 1.0 - {km} / {radius}) END) / 100 AS distance_points,
    round(100 * CASE WHEN {eligibility_applies} AND {eligible_until} >= CAST(:today AS date)
                     THEN CAST(:w_eligibility AS float8) ELSE 0 END) / 100 AS eligibility_points
    """


SCORE_SQL = (
    "s.sector_points + s.qpv_points + s.availability_points + s.distance_points"
    " + s.eligibility_points"
)


def weight_params(weights: Weights, today: date) -> dict[str, Any]:
    return {
        "w_sector": weights.sector,
        "w_sector_experience": weights.sector_experience,
        "w_qpv": weights.qpv,
        "w_qpv_priority": weights.qpv_priority,
        "w_availability": weights.availability,
        "decay_days": weights.availability_decay_days,
        "w_hours": weights.hours,
        "w_distance": weights.distance,
        "w_eligibility": weights.eligibility,
        "today": today,
    }
