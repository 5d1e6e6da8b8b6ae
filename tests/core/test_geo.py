"""Commune names and great-circle distances."""

from __future__ import annotations

import pytest

from services.core.geo.communes import normalise_name, parent_commune
from services.core.geo.distance import bounding_box, haversine_km


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        ("L'Abergement-Clémenciat", "l abergement clemenciat"),
        ("Œuilly", "oeuilly"),
        ("Saint-Denis", "saint denis"),
        ("  Les Abymes ", "les abymes"),
        ("Paris 18e Arrondissement", "paris 18e arrondissement"),
    ],
)
def test_normalise_name(name: str, normalised: str) -> None:
    assert normalise_name(name) == normalised


def test_arrondissements_belong_to_their_city() -> None:
    assert parent_commune("75118") == "75056"
    assert parent_commune("69381") == "69123"
    assert parent_commune("13216") == "13055"
    assert parent_commune("93066") == "93066"
    assert parent_commune("2A004") == "2A004"


def test_haversine_km() -> None:
    paris, lyon = (2.3470, 48.8589), (4.8351, 45.7580)
    assert haversine_km(*paris, *lyon) == pytest.approx(392.0, abs=1.0)
    assert haversine_km(*paris, *paris) == 0.0
    # One degree of latitude, anywhere.
    assert haversine_km(55.45, -21.0, 55.45, -20.0) == pytest.approx(111.195, abs=0.01)


@pytest.mark.parametrize(("lon", "lat"), [(2.35, 48.85), (55.45, -20.9), (-52.33, 4.93)])
def test_bounding_box_holds_the_circle(lon: float, lat: float) -> None:
    min_lon, min_lat, max_lon, max_lat = bounding_box(lon, lat, 10.0)
    for corner_lon, corner_lat in ((min_lon, lat), (max_lon, lat), (lon, min_lat), (lon, max_lat)):
        assert haversine_km(lon, lat, corner_lon, corner_lat) >= 10.0 - 1e-9
