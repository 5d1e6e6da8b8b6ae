"""ANRU (NPNRU) shares: the part of the hours worked on an operation realised in insertion, against
5 % for investment works and 10 % for *gestion urbaine de proximité* (product.md §2, §8.6)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.core.models.obligation import AnruFamily

ANRU_THRESHOLD_PERCENT: dict[AnruFamily, Decimal] = {
    AnruFamily.INVESTMENT: Decimal(5),
    AnruFamily.GUP: Decimal(10),
}


@dataclass(frozen=True)
class AnruShare:
    family: AnruFamily
    insertion_hours: Decimal
    hours_worked: Decimal
    threshold_percent: Decimal
    # None while no hours worked are declared: nothing to compare.
    share_percent: Decimal | None
    met: bool | None


def anru_share(
    family: AnruFamily, insertion_hours: Decimal, hours_worked: Decimal
) -> AnruShare | None:
    """The share for an ``investment`` or ``gup`` obligation; None for the other families.

    Compared exactly (insertion × 100 ≥ threshold × worked): 4.9 % is not 5 %, 5.0 % is.
    """
    threshold = ANRU_THRESHOLD_PERCENT.get(family)
    if threshold is None:
        return None
    if hours_worked <= 0:
        return AnruShare(family, insertion_hours, hours_worked, threshold, None, None)
    share = (insertion_hours * 100 / hours_worked).quantize(Decimal("0.01"))
    met = insertion_hours * 100 >= threshold * hours_worked
    return AnruShare(family, insertion_hours, hours_worked, threshold, share, met)
