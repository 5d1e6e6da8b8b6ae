"""The French labels of a ranking's rows, built when first read (decision 0031).

Sentences shared by a whole ranking (sector, QPV) are built once per distinct value; the ones
that differ from row to row (availability, distance, eligibility) recur across every ranking of
the process, so each is built once (``lru_cache``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from services.core.models.contract import QpvPriority
from services.core.ranking import explain
from services.core.ranking.weights import Weights
from services.core.referentials.sectors import SectorCode


class Labels:
    """What the labels of one ranking call share: the decay and the day, and the sector and
    QPV sentences built once per distinct value."""

    def __init__(self, weights: Weights, day: date) -> None:
        self.decay_days = weights.availability_decay_days
        self.day = day
        self._known: dict[tuple[Any, ...], str] = {}

    def _remembered(self, key: tuple[Any, ...], build: Callable[[], str]) -> str:
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = build()
        return found

    def sector(self, strong: bool, sector: SectorCode | None, rome_code: str) -> str:
        return self._remembered(
            ("sector", strong, sector, rome_code),
            lambda: explain.sector_label(strong=strong, sector=sector, rome_code=rome_code),
        )

    def qpv(self, in_qpv: bool, is_npnru: bool, qpv_priority: QpvPriority | str | None) -> str:
        return self._remembered(
            ("qpv", in_qpv, is_npnru, qpv_priority),
            lambda: explain.qpv_label(in_qpv=in_qpv, is_npnru=is_npnru, qpv_priority=qpv_priority),
        )


# The sentences that differ from row to row, by what they show: the same few thousand recur
# across every ranking of the process, so each is built once.


@lru_cache(maxsize=8192)
def _availability_sentence(
    late: int,
    has_start_date: bool,
    decay_days: int,
    candidate_hours: int | None,
    offer_hours: Decimal | float | None,
) -> str:
    """``late``: days from the reference to the availability, 0 when available by then, at most
    ``decay_days`` (one sentence beyond it); -1 when the person gave no date."""
    return explain.availability_label(
        available_from=date.min + timedelta(days=late) if late >= 0 else None,
        reference=date.min,
        has_start_date=has_start_date,
        decay_days=decay_days,
        candidate_hours=candidate_hours,
        offer_hours=offer_hours,
    )


@lru_cache(maxsize=8192)
def _distance_sentence(whole_km: int, radius_km: int | None) -> str:
    """``whole_km``: the distance rounded as the sentence shows it, -1 under 1 km."""
    return explain.distance_label(km=float(whole_km) if whole_km >= 1 else 0.0, radius_km=radius_km)


@lru_cache(maxsize=8192)
def _eligibility_sentence(applies: bool, shown: date | bool) -> str:
    """``shown``: the expiry of a current validation when the offer asks for one (the sentence
    shows it), else whether a validation is current."""
    until = shown if isinstance(shown, date) else (date.max if shown else None)
    return explain.eligibility_label(applies=applies, eligible_until=until, today=date.min)


@dataclass(frozen=True, slots=True)
class Side:
    """What the labels of one ranking's rows share: the offer's side, or for an offer ranked for
    a candidate, that offer's (one per row)."""

    labels: Labels
    sector: SectorCode | None
    rome_code: str
    is_npnru: bool
    qpv_priority: QpvPriority | str | None
    reference: date
    has_start_date: bool
    offer_hours: Decimal | float | None
    eligibility_applies: bool

    # The sector and QPV sentences of this side: two values each.
    _sector: dict[bool, str] = field(default_factory=dict)
    _qpv: dict[bool, str] = field(default_factory=dict)

    def row_labels(self, row: Any) -> tuple[str, ...]:
        """The five labels of one ranked row (both directions), in criterion order."""
        labels = self.labels
        strong = row["strong"]
        sector = self._sector.get(strong)
        if sector is None:
            sector = self._sector[strong] = labels.sector(strong, self.sector, self.rome_code)
        in_qpv = row["in_qpv"]
        qpv = self._qpv.get(in_qpv)
        if qpv is None:
            qpv = self._qpv[in_qpv] = labels.qpv(in_qpv, self.is_npnru, self.qpv_priority)
        available_from: date | None = row["available_from"]
        late = -1 if available_from is None else (available_from - self.reference).days
        if late < 0 and available_from is not None:
            late = 0
        elif late > labels.decay_days:
            late = labels.decay_days
        km: float = row["km"]
        until: date | None = row["eligible_until"]
        valid = until is not None and until >= labels.day
        applies = self.eligibility_applies
        return (
            sector,
            qpv,
            _availability_sentence(
                late, self.has_start_date, labels.decay_days, row["hours_per_week"],
                self.offer_hours,
            ),
            _distance_sentence(round(km) if km >= 1 else -1, row["radius_km"]),
            _eligibility_sentence(applies, until if valid and applies and until else valid),
        )  # fmt: skip


def offer_labels(labels: Labels, row: Any) -> tuple[str, ...]:
    """The labels of an offer ranked for a candidate: the offer's side is the row's own, made
    when the labels are first read."""
    side = Side(
        labels=labels,
        sector=SectorCode(row["sector"]) if row["sector"] is not None else None,
        rome_code=row["rome_code"],
        is_npnru=row["is_npnru"],
        qpv_priority=row["qpv_priority"],
        reference=row["reference"],
        has_start_date=row["start_date"] is not None,
        offer_hours=row["offer_hours"],
        eligibility_applies=row["requires_eligibility"] or row["has_contract"],
    )
    return side.row_labels(row)
