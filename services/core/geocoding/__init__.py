"""Addresses to coordinates through the national address service (BAN).

See docs/decisions/0013-geocoding-and-qpv-residence.md.
"""

from __future__ import annotations

from services.core.geocoding.ban import BanGeocoder
from services.core.geocoding.base import (
    GeocodeQuery,
    Geocoder,
    GeocodeResult,
    GeocoderUnavailable,
)

__all__ = ["BanGeocoder", "GeocodeQuery", "GeocodeResult", "Geocoder", "GeocoderUnavailable"]
