"""What a person did not say never earns more than the best declared answer (decision 0038,
issue 13): properties checked on the ranking's own SQL expressions, evaluated by PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from services.core.models.match_profile import DEFAULT_RADIUS_KM
from services.core.ranking.score import points_sql as _points
from services.core.ranking.score import weight_params as _weight_params
from services.core.ranking.weights import UNKNOWN_SHARE, Weights
from services.core.settings import Settings
from services.matching.statement_cache import fetch

TODAY = date(2026, 11, 23)
WEIGHTS = Weights.from_settings(Settings())
_SQL = f"""
SELECT {
    _points(
        strong="true",
        in_qpv="false",
        qpv_weight="0.0",
        available_from="CAST(:available_from AS date)",
        reference="CAST(:reference AS date)",
        candidate_hours="CAST(:hours AS integer)",
        offer_hours="CAST(:offer_hours AS float8)",
        km="CAST(:km AS float8)",
        radius="CAST(:radius AS integer)",
        eligible_until="CAST(NULL AS date)",
        eligibility_applies="false",
    )
}
"""

Person = dict[str, Any]


def _points_of(database_url: str, offer: dict[str, Any], people: list[Person]) -> list[Person]:
    """The availability and distance points of each person, as the ranking computes them."""

    async def run() -> list[Person]:
        connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        try:
            found = []
            for person in people:
                params = {**_weight_params(WEIGHTS, TODAY), **offer, **person}
                row = (await fetch(connection, _SQL, params))[0]
                found.append(dict(row))
            return found
        finally:
            await connection.close()

    return asyncio.run(run())


offers = st.fixed_dictionaries(
    {
        "reference": st.dates(TODAY, TODAY + timedelta(days=120)),
        "offer_hours": st.none() | st.integers(1, 48).map(float),
    }
)
declared = st.fixed_dictionaries(
    {
        "available_from": st.dates(TODAY - timedelta(days=400), TODAY + timedelta(days=400)),
        "hours": st.integers(1, 48),
        "radius": st.integers(0, 500),
    }
)


@pytest.fixture(scope="module")
def url(database_url: str) -> str:
    return database_url


@hypothesis_settings(max_examples=60, deadline=None)
# Distances as the ranking measures them (km_sql: never below 1e-7 km but 0): a subnormal
# float is no distance any point pair gives, and PostgreSQL refuses arithmetic that underflows.
@given(
    offer=offers,
    person=declared,
    km=st.floats(0, DEFAULT_RADIUS_KM, allow_nan=False).map(lambda km: round(km, 6)),
)
def test_an_unknown_answer_never_scores_above_the_best_declared_one(
    url: str, offer: dict[str, Any], person: Person, km: float
) -> None:
    reference: date = offer["reference"]
    best: Person = {"available_from": reference, "hours": 48, "radius": 500, "km": km}
    unknown: Person = {"available_from": None, "hours": None, "radius": None, "km": km}
    median: Person = {
        **best,
        "available_from": reference + timedelta(days=WEIGHTS.availability_decay_days // 2),
    }
    wide: Person = {**best, "radius": max(DEFAULT_RADIUS_KM, person["radius"])}
    cases = [
        best,
        unknown,
        {**person, "km": km},
        {**person, "km": km, "available_from": None},
        {**person, "km": km, "hours": None},
        median,
        wide,
        {**best, "available_from": None},
        {**best, "hours": None},
    ]
    best_p, unknown_p, mine, no_date, no_hours, median_p, wide_p, best_no_date, best_no_hours = (
        _points_of(url, offer, cases)
    )

    # Each unknown answer alone, and all of them: never above the best declared answers.
    assert unknown_p["availability_points"] <= best_p["availability_points"]
    assert unknown_p["distance_points"] <= best_p["distance_points"]
    assert no_date["availability_points"] <= best_p["availability_points"]
    assert no_hours["availability_points"] <= best_p["availability_points"]
    # Strictly below when the criterion weighs anything (the offer's hours known for hours).
    assert best_no_date["availability_points"] < best_p["availability_points"]
    if offer["offer_hours"] is not None:
        assert best_no_hours["availability_points"] < best_p["availability_points"]
    # An unknown date earns what a date half-way through the decay earns.
    assert best_no_date["availability_points"] == pytest.approx(
        median_p["availability_points"], abs=0.011
    )
    # An unknown radius never earns more than any declared radius at least as wide as the one
    # assumed for the reach, at the same distance; and half of what the assumed one earns.
    assert unknown_p["distance_points"] <= wide_p["distance_points"]
    default = WEIGHTS.distance * (1 - km / DEFAULT_RADIUS_KM)
    assert unknown_p["distance_points"] == pytest.approx(UNKNOWN_SHARE * default, abs=0.011)
    # Saying your own (any) answer never loses to saying nothing on a criterion where your
    # answer is the best one possible.
    if person["available_from"] <= reference:
        assert mine["availability_points"] >= no_date["availability_points"]
    if offer["offer_hours"] is None or person["hours"] >= offer["offer_hours"]:
        assert mine["availability_points"] >= no_hours["availability_points"]
