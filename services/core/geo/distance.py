"""Great-circle distances, for matching candidates to work sites."""

from __future__ import annotations

import math

# IUGG mean Earth radius: haversine on it is within 0.5 % of the ellipsoid distance in France.
EARTH_RADIUS_KM = 6371.0088
_KM_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_KM / 180


def haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Distance in kilometres between two WGS84 points, given as (lon, lat) like GeoJSON."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(lon: float, lat: float, radius_km: float) -> tuple[float, float, float, float]:
    """``(min_lon, min_lat, max_lon, max_lat)`` of a box holding every point within ``radius_km``.

    A cheap pre-filter (an index range in SQL) before the exact :func:`haversine_km`. Near the
    poles the box widens to every longitude.
    """
    dlat = radius_km / _KM_PER_DEGREE_LAT
    # Degrees of longitude shrink towards the poles: size the box at its most poleward edge.
    poleward = min(89.9, abs(lat) + dlat)
    dlon = min(180.0, dlat / math.cos(math.radians(poleward)))
    return (lon - dlon, max(-90.0, lat - dlat), lon + dlon, min(90.0, lat + dlat))
