"""match_profile: 16 partial GiST indexes (sector × wanted or only worked) instead of 64

Revision ID: 0033
Revises: 0026
Create Date: 2026-12-07 03:55:00+00:00

The 64 tiers (sector × wanted or worked × QPV resident or not × eligibility criterion or not,
decision 0016) become 16: sector × wanted or only worked, each covering the columns the score
reads, QPV residence included, so that a tier stays one index-only scan. Measured side by side
on the same data (decision 0073, ``python -m bench.indexes``): P1 and P2 hold at 100,000 and
1,000,000 candidates with the same results, the indexes are built in less time, and building
or changing a profile costs less. The statements that read them
(``services/matching/queries.py``) write the same predicates.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0033"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

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
COVERED = "candidate_id, home, radius_km, available_from, hours_per_week, eligible_until"


def _sector(sector: str) -> str:
    return f"ARRAY['{sector}']::varchar(30)[]"


def _by_link() -> list[tuple[str, str, str]]:
    """The 16 indexes of this revision: name, covered columns, predicate."""
    return [
        (
            f"ix_match_profile_{sector}_{'wanted' if wanted else 'worked'}",
            f"{COVERED}, in_qpv",
            f"sectors @> {_sector(sector)}"
            f" AND {'' if wanted else 'NOT '}wanted @> {_sector(sector)}",
        )
        for sector in SECTORS
        for wanted in (True, False)
    ]


def _tiers() -> list[tuple[str, str, str]]:
    """The 64 indexes of revision 0009."""
    return [
        (
            f"ix_match_profile_{sector}_{'wanted' if wanted else 'worked'}"
            f"_{'qpv' if qpv else 'other'}_{'elig' if eligible else 'none'}",
            COVERED,
            f"sectors @> {_sector(sector)}"
            f" AND {'' if wanted else 'NOT '}wanted @> {_sector(sector)}"
            f" AND {'' if qpv else 'NOT '}in_qpv"
            f" AND eligible_until IS {'NOT ' if eligible else ''}NULL",
        )
        for sector in SECTORS
        for wanted in (True, False)
        for qpv in (True, False)
        for eligible in (True, False)
    ]


def _replace(old: list[tuple[str, str, str]], new: list[tuple[str, str, str]]) -> None:
    for name, _, _ in old:
        op.execute(f"DROP INDEX {name}")
    for name, covered, where in new:
        op.execute(
            f"CREATE INDEX {name} ON match_profile USING gist (reach) INCLUDE ({covered})"
            f" WHERE {where}"
        )
    op.execute("ANALYZE match_profile")


def upgrade() -> None:
    _replace(_tiers(), _by_link())


def downgrade() -> None:
    _replace(_by_link(), _tiers())
