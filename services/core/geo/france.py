"""Is a point in France? A coarse check of client coordinates, before anything is stored.

One bounding box per piece of territory, drawn a little wider than its coastline (WGS84 lon/lat):
the check catches swapped coordinates, a zero point or a typo sending a work site to the Atlantic,
not a point a few kilometres over a border. Besides the regions, the boxes cover
Saint-Pierre-et-Miquelon, Saint-Barthélemy and Saint-Martin, so the centre point of every commune
of a department or of these collectivities passes, and the Tahiti–Moorea area of French Polynesia,
where the 2024 QPV list has 88 quartiers (QN987…): a person living there must not be refused.
The rest of the Pacific collectivities and the TAAF (codes 98x), under their own labour law, are
outside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Box:
    name: str
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def contains(self, lon: float, lat: float) -> bool:
        return self.min_lon <= lon <= self.max_lon and self.min_lat <= lat <= self.max_lat


FRANCE_BOXES: tuple[Box, ...] = (
    Box("France métropolitaine", -5.3, 42.3, 8.3, 51.15),
    Box("Corse", 8.5, 41.3, 9.6, 43.05),
    Box("Guadeloupe", -61.85, 15.8, -60.95, 16.55),
    Box("Martinique", -61.25, 14.35, -60.8, 14.9),
    Box("Guyane", -54.65, 2.1, -51.6, 5.8),
    Box("La Réunion", 55.2, -21.4, 55.85, -20.85),
    Box("Mayotte", 44.95, -13.05, 45.35, -12.6),
    Box("Saint-Pierre-et-Miquelon", -56.45, 46.7, -56.1, 47.15),
    Box("Saint-Barthélemy", -62.95, 17.85, -62.75, 17.97),
    Box("Saint-Martin", -63.2, 18.0, -62.95, 18.13),
    Box("Polynésie française (Tahiti, Moorea)", -150.0, -17.95, -149.1, -17.4),
)


def territory_of_point(lon: float, lat: float) -> str | None:
    """The name of the box holding the point, or ``None`` outside France."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    for box in FRANCE_BOXES:
        if box.contains(lon, lat):
            return box.name
    return None


def in_france(lon: float, lat: float) -> bool:
    return territory_of_point(lon, lat) is not None
