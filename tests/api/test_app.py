"""The application shell: index, docs, probes, metrics, request ids and CORS."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import (
    UNREACHABLE_POSTGRES,
    UNREACHABLE_REDIS,
    ClientFactory,
    assert_problem,
)
from tests.api.routes import CREATE_NOTES

ORIGIN = "https://app.maillon.test"


async def test_v1_index_names_the_api_and_links_its_docs(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Maillon"
    assert body["version"]
    assert body["links"] == {"self": "/v1", "openapi": "/openapi.json", "docs": "/docs"}


async def test_docs_are_served_without_any_external_host(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page.text, re.IGNORECASE)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/docs/static/swagger-ui-bundle.js" in assets
    for asset in assets:
        served = await client.get(asset)
        assert served.status_code == 200, asset
    assert "/openapi.json" in page.text
    # Swagger UI renders OpenAPI 3.1 (our schema) from version 5 on.
    bundle = (await client.get("/docs/static/swagger-ui-bundle.js")).text
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.', bundle)
    assert version is not None
    assert int(version.group(1)) >= 5


async def test_redoc_is_served_from_local_assets_too(client: httpx.AsyncClient) -> None:
    page = await client.get("/redoc")
    assert page.status_code == 200
    # No CDN, no Google fonts: the page works offline.
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page.text, re.IGNORECASE)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/docs/static/redoc.standalone.js" in assets
    for asset in assets:
        assert (await client.get(asset)).status_code == 200, asset
    assert 'spec-url="/openapi.json"' in page.text


async def test_openapi_is_3_1_and_documents_errors_as_problems(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    responses = schema["paths"]["/v1"]["get"]["responses"]
    assert set(responses["4XX"]["content"]) == {"application/problem+json"}
    assert set(responses["5XX"]["content"]) == {"application/problem+json"}
    assert {"name": "Idempotency-Key", "in": "header"}.items() <= (
        schema["paths"]["/test/pings"]["post"]["parameters"][0].items()
    )
    assert "/health/live" not in schema["paths"]
    assert "/metrics" not in schema["paths"]


async def test_openapi_documents_every_422_and_the_304_of_conditional_reads(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    offer = schema["paths"]["/v1/offers/{offer_id}"]["get"]["responses"]
    # validation-failed (with ``errors``) or invalid-character (without): both are problems.
    unprocessable = offer["422"]["content"]["application/problem+json"]["schema"]["anyOf"]
    assert {s["$ref"] for s in unprocessable} == {
        "#/components/schemas/ValidationProblem",
        "#/components/schemas/Problem",
    }
    assert "ETag" in offer["304"]["headers"]
    # No If-None-Match, no 304.
    assert "304" not in schema["paths"]["/v1/offers"]["get"]["responses"]


async def test_docs_can_be_turned_off(client_for: ClientFactory) -> None:
    async with client_for(docs_enabled=False) as client:
        assert (await client.get("/docs")).status_code == 404
        assert (await client.get("/redoc")).status_code == 404
        assert (await client.get("/openapi.json")).status_code == 404
        assert "openapi" not in (await client.get("/v1")).json()["links"]


async def test_liveness_does_no_io(client_for: ClientFactory) -> None:
    async with client_for(database_url=UNREACHABLE_POSTGRES, redis_url=UNREACHABLE_REDIS) as c:
        response = await c.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readiness_checks_postgresql_and_redis(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"postgresql": "ok", "redis": "ok"}}


async def test_readiness_fails_when_redis_is_unreachable(client_for: ClientFactory) -> None:
    async with client_for(redis_url=UNREACHABLE_REDIS) as client:
        response = await client.get("/health/ready")
    body = assert_problem(response, 503, "service-unavailable")
    assert body["checks"] == {"postgresql": "ok", "redis": "failed"}
    assert body["detail"] == "Service non prêt : Redis injoignable."
    assert response.headers["retry-after"]


async def test_readiness_fails_when_postgresql_is_unreachable(client_for: ClientFactory) -> None:
    async with client_for(database_url=UNREACHABLE_POSTGRES) as client:
        response = await client.get("/health/ready")
    body = assert_problem(response, 503, "service-unavailable")
    assert body["checks"] == {"postgresql": "failed", "redis": "ok"}


async def test_metrics_count_requests_by_route_template(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await db_session.execute(text(CREATE_NOTES))
    await client.get("/v1")
    await client.get("/test/notes/00000000-0000-0000-0000-000000000000?secret=1")
    await client.get("/no/such/page")
    exposition = (await client.get("/metrics")).text
    assert 'maillon_http_requests_total{method="GET",route="/v1",status="200"} 1.0' in exposition
    assert 'route="/test/notes/{note_id}",status="404"' in exposition
    assert 'route="<unmatched>",status="404"' in exposition
    assert "maillon_http_request_duration_seconds_bucket" in exposition
    assert "maillon_http_requests_in_progress" in exposition
    assert "secret" not in exposition and "00000000-0000" not in exposition


async def test_request_id_is_generated_when_absent(client: httpx.AsyncClient) -> None:
    first = await client.get("/v1")
    second = await client.get("/v1")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("req-42.a:b_c", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("<script>", False),
        ("a b", False),
    ],
)
async def test_request_id_from_the_caller_is_kept_only_when_safe(
    client: httpx.AsyncClient, sent: str, kept: bool
) -> None:
    response = await client.get("/v1", headers={"X-Request-ID": sent})
    assert (response.headers["x-request-id"] == sent) is kept


async def test_cors_preflight_allows_a_configured_origin(client_for: ClientFactory) -> None:
    async with client_for(cors_origins=[ORIGIN]) as client:
        response = await client.options(
            "/test/pings",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, idempotency-key, if-match",
            },
        )
        simple = await client.get("/v1", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert simple.headers["access-control-allow-origin"] == ORIGIN
    exposed = {
        h.strip().lower() for h in simple.headers["access-control-expose-headers"].split(",")
    }
    assert {"etag", "x-request-id", "idempotent-replayed", "location"} <= exposed


async def test_cors_preflight_refuses_another_origin(client_for: ClientFactory) -> None:
    async with client_for(cors_origins=[ORIGIN]) as client:
        response = await client.options(
            "/test/pings",
            headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"},
        )
        simple = await client.get("/v1", headers={"Origin": "https://evil.test"})
    assert_problem(response, 400, "bad-request")
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in simple.headers
