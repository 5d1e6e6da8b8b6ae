"""The borne sectors and their ROME prefixes (product.md §4.2)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.models import RomeFiche
from services.core.referentials.sectors import (
    SECTORS,
    SectorCode,
    get_sector,
    rome_prefixes,
    sector_for_rome,
)


@pytest.mark.parametrize(
    ("code", "sector"),
    [
        ("F17", SectorCode.CONSTRUCTION),
        ("F1701", SectorCode.CONSTRUCTION),
        ("N1101", SectorCode.LOGISTICS),
        ("N1301", SectorCode.LOGISTICS),
        ("A1203", SectorCode.GREEN_SPACES),
        ("G1602", SectorCode.HOSPITALITY),
        ("H2909", SectorCode.INDUSTRY),
        ("K2204", SectorCode.CLEANING),
        ("k2303", SectorCode.CLEANING),
        ("N4101", SectorCode.TRANSPORT),
        ("N2102", SectorCode.TRANSPORT),
        ("M1602", SectorCode.ADMINISTRATIVE),
        ("J1102", None),  # health: outside every sector
        ("M1301", None),  # management: M13 is not administratif
        ("N", None),  # a bare letter shared by two sectors
        ("", None),
    ],
)
def test_sector_for_rome(code: str, sector: SectorCode | None) -> None:
    assert sector_for_rome(code) == sector


def test_the_eight_sectors_carry_the_labels_of_the_form() -> None:
    assert [(s.code.value, s.label) for s in SECTORS] == [
        ("construction", "BÂTIMENT ET TRAVAUX PUBLICS"),
        ("logistics", "LOGISTIQUE"),
        ("green_spaces", "ESPACES VERTS"),
        ("hospitality", "RESTAURATION / HÔTELLERIE"),
        ("industry", "INDUSTRIE"),
        ("cleaning", "NETTOYAGE"),
        ("transport", "TRANSPORT"),
        ("administrative", "ADMINISTRATIF"),
    ]
    assert rome_prefixes("logistics") == ("N11", "N12", "N13")
    assert rome_prefixes(SectorCode.ADMINISTRATIVE) == ("M12", "M14", "M15", "M16")
    assert get_sector("cleaning").label == "NETTOYAGE"
    with pytest.raises(ValueError, match="plumbing"):
        get_sector("plumbing")


@pytest.mark.usefixtures("reference_data")
async def test_every_prefix_matches_real_fiches_and_round_trips(db_session: AsyncSession) -> None:
    codes = list((await db_session.execute(select(col(RomeFiche.code)))).scalars())
    for sector in SECTORS:
        for prefix in sector.rome_prefixes:
            matching = [code for code in codes if code.startswith(prefix)]
            assert matching, f"{prefix} ({sector.code}) matches no ROME fiche"
            assert {sector_for_rome(code) for code in matching} == {sector.code}
