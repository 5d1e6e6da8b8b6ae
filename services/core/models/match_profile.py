"""What matching reads of a rankable candidate, kept by the database (docs/decisions/0016).

``match_profile`` holds one row per *rankable* candidate (status new/active, not anonymised nor
merged, located by coordinates or commune): the home point, the box the candidate can reach
(mobility radius around home, in degrees), the linked sectors, QPV residence, availability and
the validity of the best eligibility criterion. Triggers on ``candidate`` and
``eligibility_criterion`` (migration 0009) keep it current on every write path; the application
never writes it. A new candidate's row is queued in ``match_profile_pending`` by the insert
trigger and built by the matching worker before it ranks (``match_profile_flush``, migration
0018, decision 0037). One partial GiST index per tier (sector × wanted or only worked, decision
0073), covering every column the score reads, finds the candidates of a tier whose reach contains
the work site in one index-only scan.

``match_suggestion`` remembers each (offer, candidate) pair ever suggested, so a pair that leaves
an offer's list and comes back is not announced twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Date, DateTime, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import UserDefinedType
from sqlmodel import Field, SQLModel

from services.core.clock import now
from services.core.referentials.sectors import SectorCode

# Mobility radius of a candidate who gave none (also written in migration 0008's function).
DEFAULT_RADIUS_KM = 20


class Box(UserDefinedType[Any]):
    """PostgreSQL's core ``box`` type (two corners; here lon/lat degrees)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "BOX"


class Point(UserDefinedType[Any]):
    """PostgreSQL's core ``point`` type (here lon, lat in degrees)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "POINT"


# Columns the score and the tie-break read: carried by every tier index (index-only scans).
COVERED_COLUMNS = (
    "candidate_id",
    "home",
    "radius_km",
    "available_from",
    "hours_per_week",
    "eligible_until",
    "in_qpv",
)


@dataclass(frozen=True, slots=True)
class Tier:
    """The candidates of one sector, linked by wish or by experience only: each tier has its own
    partial GiST index (decisions 0016, 0073)."""

    sector: SectorCode
    wanted: bool

    @property
    def index_name(self) -> str:
        return f"ix_match_profile_{self.sector.value}_{'wanted' if self.wanted else 'worked'}"

    def predicate(self, alias: str = "") -> str:
        """The partial-index predicate; queries repeat it literally so the planner uses it."""
        sector = f"ARRAY['{SectorCode(self.sector).value}']::varchar(30)[]"
        return (
            f"{alias}sectors @> {sector}"
            f" AND {'' if self.wanted else 'NOT '}{alias}wanted @> {sector}"
        )


TIERS = tuple(Tier(sector, wanted) for sector in SectorCode for wanted in (True, False))


class MatchProfile(SQLModel, table=True):
    __tablename__ = "match_profile"
    __table_args__ = (
        *(
            Index(
                tier.index_name,
                "reach",
                postgresql_using="gist",
                postgresql_include=list(COVERED_COLUMNS),
                postgresql_where=text(tier.predicate()),
            )
            for tier in TIERS
        ),
        # Offers outside every sector are matched on the candidate's ROME wishes.
        Index(
            "ix_match_profile_rome_wishes",
            "rome_wishes",
            postgresql_using="gin",
            postgresql_where=text("cardinality(rome_wishes) > 0"),
        ),
    )

    candidate_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey(
                "candidate.id",
                ondelete="CASCADE",
                name="fk_match_profile_candidate_id_candidate",
            ),
            primary_key=True,
        )
    )
    # The box (lon/lat degrees) containing the circle of radius ``radius_km`` around ``home``.
    reach: Any = Field(sa_column=Column(Box(), nullable=False))
    # Coordinates, else the commune centroid: point(lon, lat).
    home: Any = Field(sa_column=Column(Point(), nullable=False))
    # The declared mobility radius; NULL when the person gave none (the reach then uses
    # ``DEFAULT_RADIUS_KM``, and the distance scores below a declared radius: decision 0038).
    radius_km: int | None = Field(default=None, sa_type=SmallInteger, nullable=True)
    # Every linked sector (wanted, worked, or the sector of a ROME wish).
    sectors: list[str] = Field(sa_type=ARRAY(String(30)), nullable=False)
    # The strong links: wanted sectors and the sectors of ROME wishes.
    wanted: list[str] = Field(sa_type=ARRAY(String(30)), nullable=False)
    rome_wishes: list[str] = Field(sa_type=ARRAY(String(5)), nullable=False)
    in_qpv: bool = Field(nullable=False)
    available_from: date | None = Field(default=None, sa_type=Date)
    hours_per_week: int | None = Field(default=None, sa_type=SmallInteger)
    # Latest expiry of a validated eligibility criterion ('infinity' when one never expires).
    eligible_until: date | None = Field(default=None, sa_type=Date)


class MatchProfilePending(SQLModel, table=True):
    """A new candidate whose profile is yet to be built (``match_profile_flush``)."""

    __tablename__ = "match_profile_pending"

    candidate_id: uuid.UUID = Field(primary_key=True)


class MatchSuggestion(SQLModel, table=True):
    """A pair announced once (``MatchSuggested``); never announced again."""

    __tablename__ = "match_suggestion"

    offer_id: uuid.UUID = Field(foreign_key="offer.id", primary_key=True, ondelete="CASCADE")
    candidate_id: uuid.UUID = Field(
        foreign_key="candidate.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    suggested_at: datetime = Field(
        default_factory=now, sa_type=DateTime(timezone=True), nullable=False
    )
