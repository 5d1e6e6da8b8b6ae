"""/v1/referentials: ROME, borne sectors, communes and QPV, on the real reference files."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import shapely
from fastapi import FastAPI
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from services.api.referentials.indexes import ReferentialIndexes, RomeIndex, load_rome_index
from services.core.db import create_sessionmaker
from services.core.geo.qpv import QpvIndex
from services.core.models.geo import Qpv
from services.core.models.organisation import OrganisationKind
from services.core.models.reference_dataset import ReferenceDataset
from services.core.models.user import Role
from services.core.referentials.loader import ImportSummary
from services.core.referentials.store import DatasetKind, current_dataset
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.factories import bearer, make_api_key, make_organisation, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

GOUTTE_D_OR = {"lon": 2.3535, "lat": 48.8865}
OPERA = {"lon": 2.3316, "lat": 48.8719}  # 9e arrondissement, no QPV nearby


@pytest.fixture(scope="module")
async def rome_index(engine: AsyncEngine, reference_data: list[ImportSummary]) -> RomeIndex:
    async with create_sessionmaker(engine)() as session:
        dataset = await current_dataset(session, DatasetKind.ROME)
        assert dataset is not None
        return await load_rome_index(session, dataset)


def _indexes(app: FastAPI) -> ReferentialIndexes:
    indexes: ReferentialIndexes = app.state.referential_indexes
    return indexes


@pytest.fixture(autouse=True)
def _indexes_built_once_per_run(
    app: FastAPI, client: httpx.AsyncClient, rome_index: RomeIndex, qpv_index: QpvIndex
) -> None:
    """Each test has a new app (its lifespan ran with ``client``): hand it the indexes built
    once for the run, ~0.5 s saved a test."""
    indexes = _indexes(app)
    indexes._rome, indexes._qpv = rome_index, qpv_index


@pytest.fixture
async def auth(db_session: AsyncSession, settings: Settings) -> dict[str, str]:
    landlord = await make_organisation(db_session, kind=OrganisationKind.SOCIAL_LANDLORD)
    # Reception agents have the narrowest rights: they still read every referential.
    user = await make_user(db_session, landlord, Role.RECEPTION)
    return bearer(user, settings)


async def _api_key(session: AsyncSession, scopes: list[str]) -> dict[str, str]:
    return await make_api_key(session, await make_organisation(session), scopes=scopes)


async def _get(
    client: httpx.AsyncClient, path: str, auth: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get(f"/v1/referentials/{path}", params=params, headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _assert_page(body: dict[str, Any], *, total: int | None = None) -> list[dict[str, Any]]:
    assert set(body) >= {"items", "pagination"}
    pagination = body["pagination"]
    assert set(pagination) == {"page", "limit", "total_count", "max_page"}
    if total is not None:
        assert pagination["total_count"] == total
    assert len(body["items"]) <= pagination["limit"]
    items: list[dict[str, Any]] = body["items"]
    return items


# -- ROME ----------------------------------------------------------------------------------


async def test_rome_search_ignores_accents_and_case(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    body = await _get(client, "rome", auth, q="macon")
    assert body["source"] == "France Travail – ROME"
    assert body["edition"] == "v460"
    items = _assert_page(body)
    first = items[0]
    assert first["code"] == "F1703"
    assert first["label"] == "Maçon / Maçonne"
    assert first["domaine"]["code"] == "F17"
    assert first["grand_domaine"] == {
        "code": "F",
        "label": "Construction, Bâtiment et Travaux publics",
    }
    assert first["sector"] == "construction"
    assert first["sector_label"] == "BÂTIMENT ET TRAVAUX PUBLICS"
    assert first["matched_appellations"][0]["label"] == "Maçon / Maçonne"
    assert len(first["matched_appellations"]) <= 5
    # A fiche found through one of its appellations only ("Chef d'équipe maçon").
    by_code = {item["code"]: item for item in items}
    assert "F1206" in by_code
    assert any("maçon" in a["label"] for a in by_code["F1206"]["matched_appellations"])
    assert [item["code"] for item in (await _get(client, "rome", auth, q="MAÇON"))["items"]] == [
        item["code"] for item in items
    ]


async def test_rome_search_by_several_words_and_appellations(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    items = _assert_page(await _get(client, "rome", auth, q="electricien batiment"))
    assert [item["code"] for item in items] == ["F1602"]
    labels = [a["label"] for a in items[0]["matched_appellations"]]
    assert "Electricien / Electricienne du bâtiment" in labels
    # Stop words do not select anything: "agent de nettoyage" is "agent" + "nettoyage".
    items = _assert_page(await _get(client, "rome", auth, q="Agent de nettoyage"))
    assert items[0]["code"] == "K2204"


async def test_rome_search_by_code_prefix_is_paginated(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    body = await _get(client, "rome", auth, q="f17")
    items = _assert_page(body, total=11)
    assert all(item["code"].startswith("F17") for item in items)
    assert [item["code"] for item in items] == sorted(item["code"] for item in items)
    assert all(item["matched_appellations"] == [] for item in items)

    last = await _get(client, "rome", auth, q="F17", page=3, limit=5)
    assert last["pagination"] == {"page": 3, "limit": 5, "total_count": 11, "max_page": 3}
    assert [item["code"] for item in last["items"]] == ["F1711"]
    beyond = await _get(client, "rome", auth, q="F17", page=4, limit=5)
    assert beyond["items"] == [] and beyond["pagination"]["total_count"] == 11

    exact = _assert_page(await _get(client, "rome", auth, q="F1703"), total=1)
    assert exact[0]["code"] == "F1703"


async def test_rome_search_filtered_by_sector(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    items = _assert_page(await _get(client, "rome", auth, q="chef", sector="construction"))
    assert items and all(item["code"].startswith("F") for item in items)
    outside = _assert_page(await _get(client, "rome", auth, q="J1506"), total=1)
    assert outside[0]["sector"] is None and outside[0]["sector_label"] is None
    everything = await _get(client, "rome", auth, limit=1)
    assert everything["pagination"]["total_count"] == 1584


async def test_rome_fiche_with_all_appellations(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.get("/v1/referentials/rome/f1703", headers=auth)
    assert response.status_code == 200, response.text
    fiche = response.json()
    assert fiche["code"] == "F1703"
    assert len(fiche["appellations"]) > 5
    assert fiche["source"] == "France Travail – ROME"
    again = await client.get(
        "/v1/referentials/rome/F1703",
        headers={**auth, "If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304

    assert_problem(await client.get("/v1/referentials/rome/Z9999", headers=auth), 404, "not-found")
    assert_problem(
        await client.get("/v1/referentials/rome/macon", headers=auth), 422, "validation-failed"
    )


async def test_rome_search_query_length_is_bounded(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.get("/v1/referentials/rome", params={"q": "x" * 101}, headers=auth)
    body = assert_problem(response, 422, "validation-failed")
    assert body["errors"] == [
        {"loc": ["query", "q"], "message": "au plus 100 caractère(s)", "type": "string_too_long"}
    ]


# -- sectors -------------------------------------------------------------------------------


async def test_sectors_with_their_rome_prefixes(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    body = await _get(client, "sectors", auth)
    items = _assert_page(body, total=8)
    assert body["source"] == "France Travail – ROME"
    by_code = {item["code"]: item for item in items}
    construction = by_code["construction"]
    assert construction["label"] == "BÂTIMENT ET TRAVAUX PUBLICS"
    assert [p["prefix"] for p in construction["rome_prefixes"]] == ["F"]
    f = construction["rome_prefixes"][0]
    assert f["grand_domaine"]["label"] == "Construction, Bâtiment et Travaux publics"
    assert {"F16", "F17"} <= {d["code"] for d in f["domaines"]}

    logistics = by_code["logistics"]
    assert [p["prefix"] for p in logistics["rome_prefixes"]] == ["N11", "N12", "N13"]
    assert logistics["rome_prefixes"][0]["domaines"] == [
        {"code": "N11", "label": "Magasinage, manutention des charges et déménagement"}
    ]
    transport = by_code["transport"]["rome_prefixes"]
    assert [d["code"] for d in transport[0]["domaines"]] == ["N21", "N22"]
    assert transport[0]["grand_domaine"]["code"] == "N"
    assert by_code["hospitality"]["label"] == "RESTAURATION / HÔTELLERIE"


async def test_one_sector_and_unknown_sector(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    cleaning = await _get(client, "sectors/cleaning", auth)
    assert cleaning["label"] == "NETTOYAGE"
    assert [p["prefix"] for p in cleaning["rome_prefixes"]] == ["K22", "K23"]
    body = assert_problem(
        await client.get("/v1/referentials/sectors/health", headers=auth), 404, "not-found"
    )
    assert "construction" in str(body["detail"])


# -- communes ------------------------------------------------------------------------------


async def test_commune_by_postal_code(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    body = await _get(client, "communes", auth, q="93200")
    items = _assert_page(body, total=1)
    assert items[0] == {
        "insee": "93066",
        "name": "Saint-Denis",
        "dept": "93",
        "postal_codes": ["93200", "93210", "93380"],
        "lon": items[0]["lon"],
        "lat": items[0]["lat"],
        "hosts_qpv": True,
    }
    assert 2.3 < items[0]["lon"] < 2.4 and 48.9 < items[0]["lat"] < 49.0
    assert "ANCT" in body["source"] and "INSEE" in body["source"]

    several = _assert_page(await _get(client, "communes", auth, q="932", limit=100))
    assert len(several) > 1
    assert all(any(cp.startswith("932") for cp in c["postal_codes"]) for c in several)
    assert several[0]["postal_codes"][0].startswith("932")


async def test_commune_by_name(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for query in ("saint-denis", "Saint Denis", "st-denis", "ST DENIS"):
        items = _assert_page(await _get(client, "communes", auth, q=query, limit=10))
        exact = {c["insee"] for c in items if c["name"] == "Saint-Denis"}
        assert {"93066", "97411"} <= exact, query
        # Exact names come before longer ones ("Saint-Denis-d'Oléron").
        assert all(c["name"] == "Saint-Denis" for c in items[: len(exact)])
    reunion = next(
        c
        for c in (await _get(client, "communes", auth, q="saint denis", dept="974"))["items"]
        if c["insee"] == "97411"
    )
    assert reunion["dept"] == "974"
    assert reunion["postal_codes"][0] == "97400"
    assert reunion["hosts_qpv"] is True


async def test_commune_by_a_word_inside_its_name(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    items = _assert_page(await _get(client, "communes", auth, q="courneuve"), total=1)
    assert items[0]["insee"] == "93027"
    assert _assert_page(await _get(client, "communes", auth, q="xyzzyx"), total=0) == []


async def test_one_commune(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.get("/v1/referentials/communes/93066", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Saint-Denis"
    assert response.headers["ETag"]
    # A Paris arrondissement hosts the QPVs listed under Paris (75056).
    assert (await _get(client, "communes/75118", auth))["hosts_qpv"] is True
    assert (await _get(client, "communes/01001", auth))["hosts_qpv"] is False
    assert (await _get(client, "communes/2a004", auth))["name"] == "Ajaccio"

    assert_problem(
        await client.get("/v1/referentials/communes/99999", headers=auth), 404, "not-found"
    )
    body = assert_problem(
        await client.get("/v1/referentials/communes/saint-denis", headers=auth),
        422,
        "validation-failed",
    )
    assert body["errors"] == [
        {"loc": ["path", "insee"], "message": "format invalide", "type": "string_pattern_mismatch"}
    ]


# -- QPV -----------------------------------------------------------------------------------


async def test_point_in_qpv(
    client: httpx.AsyncClient, auth: dict[str, str], reference_data: list[ImportSummary]
) -> None:
    body = await _get(client, "qpv", auth, **GOUTTE_D_OR)
    qpv = next(s for s in reference_data if s.kind is DatasetKind.QPV)
    assert body == {
        "status": "in_qpv",
        "qpv": {"code": "QN07511M", "name": "Goutte D'Or"},
        "near_boundary": False,
        "distance_to_boundary_m": body["distance_to_boundary_m"],
        "nearest_qpv_code": None,
        "polygon_version": qpv.version,
        "polygon_edition": "2024",
        "source": "ANCT",
    }
    assert body["distance_to_boundary_m"] > 15


async def test_point_outside_qpv(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    body = await _get(client, "qpv", auth, **OPERA)
    assert body["status"] == "outside_qpv"
    assert body["qpv"] is None
    assert body["near_boundary"] is False
    assert body["distance_to_boundary_m"] is None
    assert body["source"] == "ANCT"


@pytest.mark.parametrize(
    ("params", "loc", "message"),
    [
        ({"lon": "quatorze", "lat": "48.8"}, "lon", "nombre attendu"),
        (
            {"lon": "200", "lat": "48.8"},
            "lon",
            "longitude entre -180 et 180 attendue (degrés WGS84)",
        ),
        ({"lon": "2.35", "lat": "-91"}, "lat", "latitude entre -90 et 90 attendue (degrés WGS84)"),
        ({"lon": "nan", "lat": "48.8"}, "lon", "nombre fini attendu"),
        ({"lon": "2.35"}, "lat", "champ obligatoire"),
    ],
)
async def test_bad_coordinates_are_refused_in_french(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    params: dict[str, str],
    loc: str,
    message: str,
) -> None:
    response = await client.get("/v1/referentials/qpv", params=params, headers=auth)
    body = assert_problem(response, 422, "validation-failed")
    errors: list[dict[str, Any]] = body["errors"]  # type: ignore[assignment]
    assert [(e["loc"], e["message"]) for e in errors] == [(["query", loc], message)]
    # What was sent is never echoed (a value that cannot occur in a hexadecimal request id).
    assert "quatorze" not in response.text


async def test_referentials_not_imported_answer_503(
    client: httpx.AsyncClient, auth: dict[str, str], db_session: AsyncSession
) -> None:
    # Rolled back with the test's transaction.
    await db_session.execute(
        delete(ReferenceDataset).where(col(ReferenceDataset.kind).in_(["qpv", "communes"]))
    )
    body = assert_problem(
        await client.get("/v1/referentials/qpv", params=GOUTTE_D_OR, headers=auth),
        503,
        "referential-not-loaded",
    )
    assert str(body["detail"]).startswith("Référentiel QPV non chargé")
    # Without QPV data, a commune's QPV status is unknown, not "no QPV".
    assert (await _get(client, "communes/93066", auth))["hosts_qpv"] is None
    await db_session.execute(delete(ReferenceDataset).where(col(ReferenceDataset.kind) == "rome"))
    assert_problem(
        await client.get("/v1/referentials/rome", params={"q": "macon"}, headers=auth),
        503,
        "referential-not-loaded",
    )


async def test_indexes_are_built_once(
    app: FastAPI, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    indexes = _indexes(app)
    indexes._rome = indexes._qpv = None  # as after start-up: built on first use
    await _get(client, "qpv", auth, **GOUTTE_D_OR)
    await _get(client, "rome", auth, q="macon")
    qpv, rome = indexes._qpv, indexes._rome
    assert qpv is not None and rome is not None
    await _get(client, "qpv", auth, **OPERA)
    await _get(client, "communes", auth, q="93200")
    await _get(client, "sectors", auth)
    assert indexes._qpv is qpv and indexes._rome is rome


async def test_point_on_a_boundary_is_flagged(
    client: httpx.AsyncClient, auth: dict[str, str], db_session: AsyncSession
) -> None:
    wkb = await db_session.scalar(select(col(Qpv.geometry)).where(col(Qpv.code) == "QN07511M"))
    lon, lat = shapely.get_coordinates(shapely.from_wkb(wkb))[0]
    body = await _get(client, "qpv", auth, lon=float(lon), lat=float(lat))
    assert body["near_boundary"] is True
    assert body["distance_to_boundary_m"] < 1


# -- access --------------------------------------------------------------------------------

PATHS = [
    "/v1/referentials/rome?q=macon",
    "/v1/referentials/rome/F1703",
    "/v1/referentials/sectors",
    "/v1/referentials/sectors/construction",
    "/v1/referentials/communes?q=93200",
    "/v1/referentials/communes/93066",
    "/v1/referentials/qpv?lon=2.3535&lat=48.8865",
]


@pytest.mark.parametrize("path", PATHS)
async def test_anonymous_callers_are_refused(client: httpx.AsyncClient, path: str) -> None:
    assert_problem(await client.get(path), 401, "unauthorized")


async def test_api_keys_need_the_referentials_scope(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    without = await _api_key(db_session, ["offers:write"])
    for path in PATHS:
        body = assert_problem(await client.get(path, headers=without), 403, "forbidden")
        assert "referentials:read" in str(body["detail"])
    with_scope = await _api_key(db_session, ["referentials:read"])
    for path in PATHS:
        assert (await client.get(path, headers=with_scope)).status_code == 200, path
