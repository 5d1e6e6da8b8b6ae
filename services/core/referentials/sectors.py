"""The eight sectors of the borne form and their ROME v4 prefixes (product.md §4.2).

The mapping works both ways: an offer's ROME code gives its sector, a candidate's sectors give
ROME prefixes. A prefix is a grand domaine (``F``) or a domaine professionnel (``N11``); a ROME
code outside every sector (``J``, health…) has no sector and is matched on the code itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SectorCode(StrEnum):
    CONSTRUCTION = "construction"
    LOGISTICS = "logistics"
    GREEN_SPACES = "green_spaces"
    HOSPITALITY = "hospitality"
    INDUSTRY = "industry"
    CLEANING = "cleaning"
    TRANSPORT = "transport"
    ADMINISTRATIVE = "administrative"


@dataclass(frozen=True, slots=True)
class Sector:
    code: SectorCode
    label: str  # exactly as printed on the form
    rome_prefixes: tuple[str, ...]


SECTORS: tuple[Sector, ...] = (
    Sector(SectorCode.CONSTRUCTION, "BÂTIMENT ET TRAVAUX PUBLICS", ("F",)),
    Sector(SectorCode.LOGISTICS, "LOGISTIQUE", ("N11", "N12", "N13")),
    Sector(SectorCode.GREEN_SPACES, "ESPACES VERTS", ("A12",)),
    Sector(
        SectorCode.HOSPITALITY,
        "RESTAURATION / HÔTELLERIE",
        ("G14", "G15", "G16", "G17", "G18"),
    ),
    Sector(SectorCode.INDUSTRY, "INDUSTRIE", ("H",)),
    Sector(SectorCode.CLEANING, "NETTOYAGE", ("K22", "K23")),
    Sector(SectorCode.TRANSPORT, "TRANSPORT", ("N2", "N3", "N4")),
    Sector(SectorCode.ADMINISTRATIVE, "ADMINISTRATIF", ("M12", "M14", "M15", "M16")),
)

_BY_CODE: dict[SectorCode, Sector] = {sector.code: sector for sector in SECTORS}
# Longest prefixes first, so a more precise prefix would win if two ever overlapped.
_PREFIXES: tuple[tuple[str, SectorCode], ...] = tuple(
    sorted(
        ((prefix, sector.code) for sector in SECTORS for prefix in sector.rome_prefixes),
        key=lambda item: -len(item[0]),
    )
)


def get_sector(code: SectorCode | str) -> Sector:
    """The sector for ``code``; ``ValueError`` for an unknown code."""
    return _BY_CODE[SectorCode(code)]


def sector_for_rome(code: str) -> SectorCode | None:
    """The sector of a ROME fiche (``F1701``) or domaine (``F17``); ``None`` outside every sector.

    A bare grand domaine letter only has a sector when the whole domaine maps to it (``F``, ``H``).
    """
    code = code.strip().upper()
    if not code:
        return None
    for prefix, sector in _PREFIXES:
        if code.startswith(prefix):
            return sector
    return None


def rome_prefixes(sector: SectorCode | str) -> tuple[str, ...]:
    """The ROME prefixes a sector covers, e.g. ``("N11", "N12", "N13")`` for logistics."""
    return get_sector(sector).rome_prefixes
