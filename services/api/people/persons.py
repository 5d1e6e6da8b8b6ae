"""Laying rows over people, in memory: the same for an intake's forms and an import's chunk
(decision 0014).

A row (:class:`ValidRow`) is one checked form or one checked line of a file. The stored
candidates named by the rows' phones and e-mails are read once (oldest first); then each row, in
order, is laid over the person its phone (first) or e-mail already names —
stored, or created by an earlier row of the file — or makes a new person. Laying a row over a
person fills blanks and completes lists, never overwrites (as ``POST /v1/candidates`` on a known
person). Where a person lives is decided once all their rows are read (:meth:`Person.settle`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.api.candidates.schemas import CandidateCreate
from services.api.candidates.service import search_name
from services.core.geo.qpv import QpvIndex
from services.core.geo.residence import QpvResidence, decide_qpv_residence
from services.core.ids import uuid7
from services.core.models.candidate import CandidateStatus, QpvMethod, QpvStatus

# Columns a row may fill on a person (``phone`` is stored as ``phone_e164``).
SCALARS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "phone_e164",
    "email",
    "commune_insee",
    "address",
    "sectors_worked_other",
    "sectors_wanted_other",
    "available_from",
    "hours_per_week",
    "mobility_radius_km",
    "has_driving_licence",
    "has_vehicle",
    "sex",
    "birth_year",
    "qpv_declared",
    "qpv_declared_code",
)
LISTS: tuple[str, ...] = ("sectors_worked", "sectors_wanted", "needs", "rome_wishes")
RESIDENCE: frozenset[str] = frozenset(
    {"commune_insee", "address", "lon", "lat", "qpv_declared", "qpv_declared_code"}
)
QPV_COLUMNS: tuple[str, ...] = (
    "qpv_status",
    "qpv_code",
    "qpv_method",
    "geocoding_score",
    "qpv_polygon_version",
    "qpv_checked_at",
    "qpv_near_boundary",
    "geocoding_due_at",
)
# What is read of a stored candidate to lay rows over it.
STORED_COLUMNS: tuple[str, ...] = (
    "id",
    *SCALARS,
    "search_name",
    "lon",
    "lat",
    *LISTS,
    *QPV_COLUMNS,
)
_POINT_METHODS = frozenset({QpvMethod.COORDINATES.value, QpvMethod.GEOCODED_ADDRESS.value})


@dataclass(frozen=True, slots=True)
class ValidRow:
    """A person as one checked form or file line names them (values already checked)."""

    line: int
    data: CandidateCreate
    # Where the row alone says the person lives (decision 0013), decided with the row when the
    # QPV polygons are at hand: the writer reuses it unless other rows change the place.
    residence: QpvResidence | None = None

    def contact_keys(self) -> list[str]:
        """How the person is found again: ``phone:+336…`` then ``email:…`` (as intakes)."""
        keys = []
        if self.data.phone:
            keys.append(f"phone:{self.data.phone}")
        if self.data.email:
            keys.append(f"email:{self.data.email}")
        return keys


def _row_values(row: ValidRow) -> dict[str, Any]:
    data = row.data
    values: dict[str, Any] = {
        name: getattr(data, "phone" if name == "phone_e164" else name) for name in SCALARS
    }
    for name in ("sex",):
        values[name] = values[name].value if values[name] is not None else None
    values["lon"], values["lat"] = data.lon, data.lat
    for name in LISTS:
        values[name] = [str(item) for item in getattr(data, name) or []]
    return values


@dataclass
class Person:
    """One candidate of the chunk: stored (``is_new`` false) or created by the file."""

    id: uuid.UUID
    is_new: bool
    values: dict[str, Any]
    lines: list[int] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)
    # The residence the first row decided, kept while no other row changes the place.
    residence: QpvResidence | None = None

    @classmethod
    def new(cls, row: ValidRow) -> Person:
        return cls(
            id=uuid7(),
            is_new=True,
            values=_row_values(row),
            lines=[row.line],
            residence=row.residence,
        )

    @classmethod
    def stored(cls, record: Mapping[str, Any]) -> Person:
        values = {name: record[name] for name in STORED_COLUMNS if name != "id"}
        for name in LISTS:
            values[name] = list(values[name] or [])
        return cls(id=record["id"], is_new=False, values=values)

    def contact_keys(self) -> list[str]:
        keys = []
        if self.values.get("phone_e164"):
            keys.append(f"phone:{self.values['phone_e164']}")
        if self.values.get("email"):
            keys.append(f"email:{self.values['email']}")
        return keys

    def absorb(self, row: ValidRow) -> None:
        """Lay a row over the person: blanks filled, lists completed, nothing overwritten."""
        self.lines.append(row.line)
        given = _row_values(row)
        values = self.values
        for name in SCALARS:
            if given[name] is not None and values[name] is None:
                values[name] = given[name]
                self.changed.add(name)
        if given["lon"] is not None and values["lon"] is None:
            values["lon"], values["lat"] = given["lon"], given["lat"]
            self.changed |= {"lon", "lat"}
        for name in LISTS:
            stored = values[name]
            extra = [item for item in given[name] if item not in stored]
            if extra:
                values[name] = [*stored, *extra]
                self.changed.add(name)

    def settle(self, qpv: QpvIndex | None, moment: datetime) -> None:
        """Names searchable, QPV residence decided (decision 0013), address queued for the
        geocoder. A stored person's residence is decided again only when a row changed where
        they live, and a point-based answer is never replaced by a commune-based one."""
        values = self.values
        if self.is_new or self.changed & {"first_name", "last_name"}:
            values["search_name"] = search_name(values["first_name"], values["last_name"])
            self.changed.add("search_name")
        if not self.is_new and not self.changed & RESIDENCE:
            return
        has_point = values["lon"] is not None and values["lat"] is not None
        if not self.is_new and not has_point and values.get("qpv_method") in _POINT_METHODS:
            return
        coordinates = (values["lon"], values["lat"]) if has_point else None
        residence = self.residence if self.is_new and not self.changed & RESIDENCE else None
        if qpv is None:
            values.update(
                qpv_status=QpvStatus.UNKNOWN.value,
                qpv_code=None,
                qpv_method=None,
                geocoding_score=None,
                qpv_polygon_version=None,
                qpv_checked_at=None,
                qpv_near_boundary=False,
            )
        else:
            residence = residence or decide_qpv_residence(
                qpv,
                coordinates=coordinates,
                commune_insee=values["commune_insee"],
                declared=values["qpv_declared"] is True,
            )
            values.update(
                qpv_status=residence.status.value,
                qpv_code=residence.code,
                qpv_method=residence.method.value if residence.method else None,
                geocoding_score=residence.score,
                qpv_polygon_version=residence.polygon_version,
                qpv_checked_at=residence.checked_at,
                qpv_near_boundary=residence.near_boundary,
            )
        # An address without a point waits for the geocoding job (decision 0013).
        values["geocoding_due_at"] = moment if values["address"] and not has_point else None
        self.changed |= set(QPV_COLUMNS)

    def new_candidate_values(self, moment: datetime) -> dict[str, Any]:
        """Every column of the new row (the others take their database default)."""
        return {
            **self.values,
            "id": self.id,
            "created_at": moment,
            "updated_at": moment,
            "last_activity_at": moment,
            "status": CandidateStatus.NEW.value,
            "geocoding_attempts": 0,
        }

    def field_names(self) -> list[str]:
        """The changed fields as the audit names them (``phone_e164``, never the number)."""
        return sorted(self.changed - set(QPV_COLUMNS) - {"search_name"})


@dataclass
class Resolution:
    people: list[Person]  # in order of first appearance
    rows: dict[int, Person]  # line → person


def resolve(rows: Sequence[ValidRow], stored: Iterable[Mapping[str, Any]]) -> Resolution:
    """Lay every row over the person it names (stored, or created earlier in the file)."""
    by_key: dict[str, Person] = {}
    people: list[Person] = []
    for record in stored:  # oldest first: the oldest record wins a shared number
        person = Person.stored(record)
        for key in person.contact_keys():
            by_key.setdefault(key, person)
    seen: set[uuid.UUID] = set()
    by_line: dict[int, Person] = {}
    for row in rows:
        found = next((by_key[key] for key in row.contact_keys() if key in by_key), None)
        if found is None:
            found = Person.new(row)
        else:
            found.absorb(row)
        if found.id not in seen:
            seen.add(found.id)
            people.append(found)
        for key in row.contact_keys():
            by_key.setdefault(key, found)
        by_line[row.line] = found
    return Resolution(people=people, rows=by_line)
