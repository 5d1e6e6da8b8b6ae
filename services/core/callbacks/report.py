"""The quarterly callback report (product.md §6), computed in SQL (decision 0021).

For the intakes deposited in a quarter, per organisation that received them and per borne site
(``place_organisation_id``), and in total: forms deposited; callback cases opened; people
reached (within the three attempts); reached within the 30 days — over the cases whose window
has closed only; unreachable; outcomes by kind; median days from deposit to first attempt.

Two aggregate queries (intakes; cases by days to first attempt), each one parallel pass over the
rows of the quarter grouped by (organisation, site) (both tables are indexed on
``deposit_date``), summed here into the organisations', sites' and total rows; the cases carry
copies of their intake's organisation, site and deposit date, so no join is needed; the median
comes from a histogram of whole days.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.models.callback import CALLBACK_OUTCOME_LABELS, CallbackOutcome
from services.core.models.organisation import Organisation

_QUARTER = re.compile(r"^([1-9]\d{3})-Q([1-4])$")


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, value: str) -> Quarter:
        """``2026-Q3`` → the third quarter of 2026; ValueError otherwise."""
        found = _QUARTER.match(value.strip().upper())
        if found is None:
            raise ValueError("trimestre attendu sous la forme AAAA-Qn, par exemple 2026-Q3")
        return cls(int(found.group(1)), int(found.group(2)))

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        if self.number == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * self.number + 1, 1) - timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def label(self) -> str:
        return f"T{self.number} {self.year}"


class Level(StrEnum):
    TOTAL = "total"
    ORGANISATION = "organisation"
    SITE = "site"


LEVEL_LABELS: dict[Level, str] = {
    Level.TOTAL: "Total",
    Level.ORGANISATION: "Organisation",
    Level.SITE: "Lieu de dépôt",
}

OUTCOMES: tuple[CallbackOutcome, ...] = tuple(CallbackOutcome)


@dataclass
class Figures:
    """The numbers of one row."""

    forms_deposited: int = 0
    cases_opened: int = 0
    people_reached: int = 0
    windows_closed: int = 0
    reached_within_30_days: int = 0
    unreachable: int = 0
    still_open: int = 0
    outcomes: dict[CallbackOutcome, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    median_days_to_first_attempt: float | None = None


@dataclass
class Row:
    level: Level
    organisation_id: uuid.UUID | None  # the organisation, or the site; None: total, or no site
    name: str | None
    figures: Figures


@dataclass
class Report:
    quarter: Quarter
    as_of: datetime
    total: Row
    organisations: list[Row]
    sites: list[Row]

    def rows(self) -> list[Row]:
        return [self.total, *self.organisations, *self.sites]


# -- the queries -------------------------------------------------------------------------

_SCOPE = "AND {column} = ANY(:scope)"

# Both queries count by the finest key — (organisation, site), and whole days to the first
# attempt for the cases — and the organisations', sites' and total rows are summed here from
# those rows (a site belongs to one organisation: a few per site and day): PostgreSQL aggregates
# a plain GROUP BY in parallel, which it does not do for GROUPING SETS (the report over a
# million intakes and cases on two cores: 1.9 s with grouping sets, 1.1–1.2 s so).
# The days give each row's median (an ordered-set aggregate would sort the quarter per level).
# Only constants of this module are laid into the text; values are bound parameters.
_INTAKES = """
SELECT organisation_id, place_organisation_id, count(*) AS forms
FROM intake
WHERE deposit_date BETWEEN :start AND :end {scope}
GROUP BY organisation_id, place_organisation_id
"""

_OUTCOME_COLUMNS = ",\n       ".join(
    f"count(*) FILTER (WHERE outcome = '{outcome.value}') AS outcome_{outcome.value}"
    for outcome in OUTCOMES
)

_CASES = f"""
SELECT received_by_organisation_id, place_organisation_id,
       (first_attempt_at AT TIME ZONE 'Europe/Paris')::date - deposit_date AS days,
       count(*) AS cases_opened,
       count(reached_at) AS people_reached,
       count(*) FILTER (WHERE due_at <= :as_of) AS windows_closed,
       count(*) FILTER (WHERE due_at <= :as_of AND reached_at < due_at) AS reached_within,
       count(*) FILTER (WHERE status = 'open') AS still_open,
       {_OUTCOME_COLUMNS}
FROM callback_case
WHERE deposit_date BETWEEN :start AND :end {{scope}}
GROUP BY 1, 2, 3
"""  # noqa: S608

_SUMMED = ("cases_opened", "people_reached", "windows_closed", "still_open")


def median(histogram: dict[int, int]) -> float | None:
    """The median of values given as {value: how many}, as ``percentile_cont(0.5)``."""
    total = sum(histogram.values())
    if total == 0:
        return None
    wanted = [(total - 1) // 2, total // 2]  # the middle one, or the middle two
    found: list[int] = []
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        while len(found) < 2 and wanted[len(found)] < seen:
            found.append(value)
    return (found[0] + found[1]) / 2


_LEVELS = (Level.TOTAL, Level.ORGANISATION, Level.SITE)


def _key(
    level: Level, organisation: uuid.UUID | None, place: uuid.UUID | None
) -> tuple[Level, uuid.UUID | None]:
    if level is Level.TOTAL:
        return level, None
    return level, organisation if level is Level.ORGANISATION else place


async def callback_report(
    session: AsyncSession,
    quarter: Quarter,
    as_of: datetime,
    *,
    organisation_ids: Collection[uuid.UUID] | None = None,
) -> Report:
    """The report over the intakes received by ``organisation_ids`` (None: every one)."""
    params: dict[str, Any] = {"start": quarter.start, "end": quarter.end, "as_of": as_of}
    intake_scope = case_scope = ""
    if organisation_ids is not None:
        params["scope"] = sorted(organisation_ids)
        intake_scope = _SCOPE.format(column="organisation_id")
        case_scope = _SCOPE.format(column="received_by_organisation_id")
    rows: dict[tuple[Level, uuid.UUID | None], Figures] = {(Level.TOTAL, None): Figures()}
    histograms: dict[tuple[Level, uuid.UUID | None], dict[int, int]] = {}

    def keys(organisation: uuid.UUID | None, place: uuid.UUID | None) -> list[tuple[Level, Any]]:
        """The total's, the organisation's and the site's rows a fine row counts in."""
        return [_key(level, organisation, place) for level in _LEVELS]

    intakes = await session.execute(text(_INTAKES.format(scope=intake_scope)), params)
    for organisation, place, forms in intakes:
        for key in keys(organisation, place):
            rows.setdefault(key, Figures()).forms_deposited += forms
    cases = await session.execute(text(_CASES.format(scope=case_scope)), params)
    for row in cases.mappings():
        for key in keys(row["received_by_organisation_id"], row["place_organisation_id"]):
            f = rows.setdefault(key, Figures())
            for name in _SUMMED:
                setattr(f, name, getattr(f, name) + row[name])
            f.reached_within_30_days += row["reached_within"]
            for outcome in OUTCOMES:
                f.outcomes[outcome] += row[f"outcome_{outcome.value}"]
            f.unreachable = f.outcomes[CallbackOutcome.UNREACHABLE]
            if row["days"] is not None:
                histogram = histograms.setdefault(key, {})
                histogram[row["days"]] = histogram.get(row["days"], 0) + row["cases_opened"]
    for key, histogram in histograms.items():
        rows[key].median_days_to_first_attempt = median(histogram)

    ids = {key for level, key in rows if key is not None}
    names: dict[uuid.UUID, str] = {}
    if ids:
        found = await session.execute(
            select(col(Organisation.id), col(Organisation.name)).where(
                col(Organisation.id).in_(ids)
            )
        )
        names = {row[0]: row[1] for row in found}

    def listed(level: Level) -> list[Row]:
        chosen = [
            Row(level, key, names.get(key) if key else None, value)
            for (row_level, key), value in rows.items()
            if row_level is level
        ]
        return sorted(chosen, key=lambda r: (r.name is None, r.name or "", str(r.organisation_id)))

    return Report(
        quarter=quarter,
        as_of=as_of,
        total=Row(Level.TOTAL, None, None, rows[(Level.TOTAL, None)]),
        organisations=listed(Level.ORGANISATION),
        sites=listed(Level.SITE),
    )


# -- flat tables (CSV, XLSX) -------------------------------------------------------------------

COLUMNS: tuple[tuple[str, str], ...] = (
    ("level", "Niveau"),
    ("organisation_id", "Identifiant"),
    ("name", "Organisation ou lieu de dépôt"),
    ("forms_deposited", "CV et formulaires déposés"),
    ("cases_opened", "Rappels ouverts"),
    ("people_reached", "Personnes jointes"),
    ("windows_closed", "Délais de 30 jours échus"),
    ("reached_within_30_days", "Jointes sous 30 jours (délais échus)"),
    ("unreachable", "Injoignables"),
    ("still_open", "Rappels encore ouverts"),
    *(
        (f"outcome_{outcome.value}", f"Suite : {CALLBACK_OUTCOME_LABELS[outcome]}")
        for outcome in OUTCOMES
        if outcome is not CallbackOutcome.UNREACHABLE
    ),
    ("median_days_to_first_attempt", "Délai médian avant la première tentative (jours)"),
)


def flat(row: Row) -> dict[str, str | int | float | None]:
    f = row.figures
    values: dict[str, str | int | float | None] = {
        "level": LEVEL_LABELS[row.level],
        "organisation_id": str(row.organisation_id) if row.organisation_id else None,
        "name": row.name,
        "forms_deposited": f.forms_deposited,
        "cases_opened": f.cases_opened,
        "people_reached": f.people_reached,
        "windows_closed": f.windows_closed,
        "reached_within_30_days": f.reached_within_30_days,
        "unreachable": f.unreachable,
        "still_open": f.still_open,
        "median_days_to_first_attempt": f.median_days_to_first_attempt,
    }
    for outcome, count in f.outcomes.items():
        if outcome is not CallbackOutcome.UNREACHABLE:
            values[f"outcome_{outcome.value}"] = count
    return values
