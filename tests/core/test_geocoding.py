"""The BAN client against a real local HTTP server standing in for the national service."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from services.core.geo.qpv import QpvIndex
from services.core.geo.residence import (
    CoordinatesOutsideFrance,
    LocatedResidence,
    QpvMethod,
    QpvStatus,
    ResidenceInput,
    decide_qpv_residence,
    locate_residence,
    locate_residences,
)
from services.core.geocoding import BanGeocoder, GeocodeQuery, GeocoderUnavailable
from services.core.settings import Settings
from tests.core.fake_ban import FakeBan, Place, running_fake_ban

GOUTTE_DOR = Place(2.3535, 48.8865, 0.96, "12 Rue Léon 75018 Paris", "75118", "75018")
VAGUE = Place(2.36, 48.93, 0.5, "Saint-Denis", "93066", "93200", kind="municipality")


@pytest.fixture
async def fake_ban() -> AsyncIterator[FakeBan]:
    async with running_fake_ban() as fake:
        fake.places = {"12 rue leon": GOUTTE_DOR, "quelque part": VAGUE}
        yield fake


@pytest.fixture
async def geocoder(fake_ban: FakeBan) -> AsyncIterator[BanGeocoder]:
    async with BanGeocoder(
        fake_ban.url, timeout_seconds=0.3, connect_timeout_seconds=0.3, retry_delay_seconds=0
    ) as client:
        yield client


def test_settings_defaults() -> None:
    settings = Settings(environment="test")
    assert settings.geocoder_url == "https://data.geopf.fr/geocodage/search"
    assert settings.geocoder_min_score == 0.8
    geocoder = BanGeocoder.from_settings(settings)
    assert (geocoder.url, geocoder.min_score, geocoder.concurrency, geocoder.tries) == (
        "https://data.geopf.fr/geocodage/search",
        0.8,
        8,
        2,
    )


async def test_found_and_trusted(geocoder: BanGeocoder, fake_ban: FakeBan) -> None:
    result = await geocoder.geocode("12  rue Leon", citycode="75118", postcode="75018")
    assert result is not None
    assert (result.lon, result.lat, result.score, result.trusted) == (2.3535, 48.8865, 0.96, True)
    assert (result.citycode, result.postcode, result.result_type) == (
        "75118",
        "75018",
        "housenumber",
    )
    assert result.label == "12 Rue Léon 75018 Paris"
    assert fake_ban.requests == [
        {
            "q": "12 rue Leon",
            "limit": "1",
            "index": "address",
            "citycode": "75118",
            "postcode": "75018",
        }
    ]


async def test_low_score_is_not_trusted(geocoder: BanGeocoder) -> None:
    result = await geocoder.geocode("quelque part")
    assert result is not None
    assert (result.score, result.trusted) == (0.5, False)


async def test_no_match(geocoder: BanGeocoder, fake_ban: FakeBan) -> None:
    assert await geocoder.geocode("nulle part") is None
    assert await geocoder.geocode("12 rue leon", citycode="93066") is None
    # Too short for the BAN: not even sent.
    assert await geocoder.geocode(" a ") is None
    assert await geocoder.geocode("--- ---") is None
    assert len(fake_ban.requests) == 2


async def test_server_error_retried_then_unavailable(
    geocoder: BanGeocoder, fake_ban: FakeBan
) -> None:
    fake_ban.mode = "fail"
    with pytest.raises(GeocoderUnavailable, match="HTTP 500"):
        await geocoder.geocode("12 rue leon")
    assert len(fake_ban.requests) == 2  # two tries
    fake_ban.mode = "ok"
    assert await geocoder.geocode("12 rue leon") is not None


async def test_hanging_server_times_out(geocoder: BanGeocoder, fake_ban: FakeBan) -> None:
    fake_ban.mode = "hang"
    started = time.monotonic()
    with pytest.raises(GeocoderUnavailable, match="délai dépassé"):
        await geocoder.geocode("12 rue leon")
    assert time.monotonic() - started < 2.0  # two tries of 0.3 s
    assert len(fake_ban.requests) == 2


async def test_garbage_and_unreachable(geocoder: BanGeocoder, fake_ban: FakeBan) -> None:
    fake_ban.mode = "garbage"
    with pytest.raises(GeocoderUnavailable, match="illisible"):
        await geocoder.geocode("12 rue leon")
    async with running_fake_ban() as gone:
        url = gone.url
    async with BanGeocoder(url, retry_delay_seconds=0) as closed:
        with pytest.raises(GeocoderUnavailable, match="injoignable"):
            await closed.geocode("12 rue leon")


async def test_batch_with_bounded_concurrency(fake_ban: FakeBan) -> None:
    fake_ban.places = {
        f"{n} rue leon": Place(2.35, 48.88 + n / 10_000, 0.9, f"{n} Rue Léon", "75118", "75018")
        for n in range(50)
    }
    fake_ban.delay = 0.1
    queries = [GeocodeQuery(f"{n} rue leon", citycode="75118") for n in range(50)]
    queries.append(GeocodeQuery("nulle part"))
    async with BanGeocoder(fake_ban.url, concurrency=8, retry_delay_seconds=0) as geocoder:
        results = await geocoder.geocode_many(queries)
    assert len(fake_ban.requests) == 51
    assert fake_ban.max_in_flight == 8
    assert results[-1] is None
    for n, result in enumerate(results[:50]):
        assert result is not None and not isinstance(result, GeocoderUnavailable)
        assert result.lat == pytest.approx(48.88 + n / 10_000)  # in the order asked
        assert result.trusted


async def test_batch_when_the_service_is_down(fake_ban: FakeBan) -> None:
    fake_ban.mode = "fail"
    queries = [GeocodeQuery(f"{n} rue leon") for n in range(50)]
    async with BanGeocoder(fake_ban.url, concurrency=4, retry_delay_seconds=0) as geocoder:
        results = await geocoder.geocode_many(queries)
    assert all(isinstance(result, GeocoderUnavailable) for result in results)
    # The first outage stops the batch: only the requests already under way were sent.
    assert len(fake_ban.requests) <= 4 * 2


async def test_address_through_the_fake_geocoder_decides_residence(
    geocoder: BanGeocoder, qpv_index: QpvIndex
) -> None:
    result = await geocoder.geocode("12 rue leon", citycode="75118")
    residence = decide_qpv_residence(qpv_index, geocoded=result, commune_insee="75118")
    assert (residence.status, residence.code, residence.method, residence.score) == (
        QpvStatus.IN_QPV,
        "QN07511M",
        QpvMethod.GEOCODED_ADDRESS,
        0.96,
    )


async def test_a_batch_of_forms_in_one_pass(
    geocoder: BanGeocoder, fake_ban: FakeBan, qpv_index: QpvIndex
) -> None:
    forms = [
        ResidenceInput(address="12 rue leon", postcode="75018", commune_insee="75056"),
        ResidenceInput(coordinates=(2.3316, 48.8719), address="12 rue leon"),  # point wins
        ResidenceInput(address="quelque part", commune_insee="93066"),  # score 0.5
        ResidenceInput(address="nulle part", commune_insee="01001"),
        ResidenceInput(commune_insee="93066", declared=True),
        ResidenceInput(coordinates=(0.0, 0.0)),
        ResidenceInput(),
    ]
    results = await locate_residences(qpv_index, geocoder, forms)
    # Only the three addresses without a point were sent, Paris without its city code.
    assert sorted(r["q"] for r in fake_ban.requests) == [
        "12 rue leon",
        "nulle part",
        "quelque part",
    ]
    assert {"q": "12 rue leon", "limit": "1", "index": "address", "postcode": "75018"} in (
        fake_ban.requests
    )
    assert isinstance(results[5], CoordinatesOutsideFrance)
    located = [r for r in results if isinstance(r, LocatedResidence)]
    summary = [(r.residence.status, r.residence.method, r.residence.code) for r in located]
    assert summary == [
        (QpvStatus.IN_QPV, QpvMethod.GEOCODED_ADDRESS, "QN07511M"),
        (QpvStatus.OUTSIDE_QPV, QpvMethod.COORDINATES, None),
        (QpvStatus.UNKNOWN, QpvMethod.COMMUNE_ONLY, None),
        (QpvStatus.OUTSIDE_QPV, QpvMethod.COMMUNE_ONLY, None),
        (QpvStatus.UNKNOWN, QpvMethod.DECLARED, None),
        (QpvStatus.UNKNOWN, None, None),
    ]
    first, _, vague = located[:3]
    assert first.geocoded is not None and first.geocoded.trusted
    assert vague.geocoded is not None and not vague.geocoded.trusted  # kept, not used
    assert not any(r.residence.retry_geocoding for r in located)


async def test_geocoder_down_then_the_retry_fixes_it(
    geocoder: BanGeocoder, fake_ban: FakeBan, qpv_index: QpvIndex
) -> None:
    form = ResidenceInput(address="12 rue leon", commune_insee="75118")
    fake_ban.mode = "fail"
    pending = await locate_residence(qpv_index, geocoder, form)
    assert (pending.residence.status, pending.residence.retry_geocoding) == (
        QpvStatus.UNKNOWN,
        True,
    )
    assert pending.geocoded is None
    fake_ban.mode = "ok"
    fixed = await locate_residence(qpv_index, geocoder, form)
    assert (fixed.residence.status, fixed.residence.code, fixed.residence.retry_geocoding) == (
        QpvStatus.IN_QPV,
        "QN07511M",
        False,
    )
    # Geocoding disabled: the commune decides, nothing to retry.
    offline = await locate_residence(qpv_index, None, form)
    assert (offline.residence.status, offline.residence.retry_geocoding) == (
        QpvStatus.UNKNOWN,
        False,
    )
    with pytest.raises(CoordinatesOutsideFrance):
        await locate_residence(qpv_index, geocoder, ResidenceInput(coordinates=(0.0, 0.0)))
