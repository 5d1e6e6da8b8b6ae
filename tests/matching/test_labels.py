"""The labels read from a ranking's shared tables are the sentences of ``explain`` for each row's
own values: the tables are keyed by what a sentence shows (days late up to the decay, whole
kilometres, an expiry only when it is shown), and two rows with different sentences never share
an entry."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from services.core.models.contract import QpvPriority
from services.core.ranking import explain
from services.core.ranking.weights import Weights
from services.core.referentials.sectors import SectorCode
from services.core.settings import Settings
from services.matching.labels import Labels, Side

TODAY = date(2026, 11, 23)

rows = st.fixed_dictionaries(
    {
        "strong": st.booleans(),
        "in_qpv": st.booleans(),
        "available_from": st.none()
        | st.dates(TODAY - timedelta(days=40), TODAY + timedelta(days=120)),
        "hours_per_week": st.none() | st.integers(1, 48),
        "km": st.floats(0, 60, allow_nan=False),
        "radius_km": st.none() | st.integers(1, 60),
        "eligible_until": st.none()
        | st.just(date.max)
        | st.dates(TODAY - timedelta(days=30), TODAY + timedelta(days=400)),
    }
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(rows, min_size=1, max_size=60),
    sector=st.none() | st.sampled_from(list(SectorCode)),
    is_npnru=st.booleans(),
    qpv_priority=st.none() | st.sampled_from(list(QpvPriority)),
    start=st.none() | st.dates(TODAY - timedelta(days=10), TODAY + timedelta(days=60)),
    offer_hours=st.none() | st.sampled_from([Decimal("17.5"), Decimal("35"), Decimal("24")]),
    applies=st.booleans(),
)
def test_every_label_is_the_sentence_of_the_rows_own_values(
    rows: list[dict[str, Any]],
    sector: SectorCode | None,
    is_npnru: bool,
    qpv_priority: QpvPriority | None,
    start: date | None,
    offer_hours: Decimal | None,
    applies: bool,
) -> None:
    weights = Weights.from_settings(Settings())
    reference = max(start, TODAY) if start is not None else TODAY
    side = Side(
        labels=Labels(weights, TODAY),
        sector=sector,
        rome_code="F1703",
        is_npnru=is_npnru,
        qpv_priority=qpv_priority,
        reference=reference,
        has_start_date=start is not None,
        offer_hours=offer_hours,
        eligibility_applies=applies,
    )
    for row in rows:
        expected = (
            explain.sector_label(strong=row["strong"], sector=sector, rome_code="F1703"),
            explain.qpv_label(in_qpv=row["in_qpv"], is_npnru=is_npnru, qpv_priority=qpv_priority),
            explain.availability_label(
                available_from=row["available_from"],
                reference=reference,
                has_start_date=start is not None,
                decay_days=weights.availability_decay_days,
                candidate_hours=row["hours_per_week"],
                offer_hours=offer_hours,
            ),
            explain.distance_label(km=row["km"], radius_km=row["radius_km"]),
            explain.eligibility_label(
                applies=applies,
                eligible_until=row["eligible_until"],
                today=TODAY,
            ),
        )
        assert side.row_labels(row) == expected
