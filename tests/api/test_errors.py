"""Every error is an RFC 9457 problem, in French, without internals or submitted values."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from services.core.settings import Settings
from tests.api.conftest import UNREACHABLE_POSTGRES, ClientFactory, assert_problem
from tests.api.routes import TEST_ADVISORY_KEY

VALID_FORM = {
    "name": "Léa",
    "age": 30,
    "ref": str(uuid.uuid4()),
    "born": "1995-04-01",
    "at": "2026-03-02T09:00:00+01:00",
    "sector": "btp",
    "siret": "12345678901234",
}


async def test_unknown_route_is_a_not_found_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nothing-here?email=lea@example.org")
    body = assert_problem(response, 404, "not-found")
    assert body["instance"] == "/v1/nothing-here"
    assert "lea@example.org" not in response.text


async def test_wrong_method_keeps_the_allow_header(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1")
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET"


async def test_domain_error_carries_its_status_and_detail(client: httpx.AsyncClient) -> None:
    response = await client.get("/test/missing")
    body = assert_problem(response, 404, "not-found")
    assert body["detail"] == "Ce candidat n'existe pas."
    assert body["title"] == "Ressource introuvable"


async def test_validation_errors_are_listed_in_french_without_the_values(
    client: httpx.AsyncClient,
) -> None:
    form = {
        "name": "Jeanne-Marie",
        "age": "trente",
        "ref": "pas-un-uuid",
        "born": "01/04/1995",
        "at": "hier",
        "sector": "agriculture",
        "siret": "SIRET-SECRET",
        "phone": "0612345678",
    }
    response = await client.post("/test/forms", json=form)

    body = assert_problem(response, 422, "validation-failed")
    messages = {tuple(e["loc"]): (e["message"], e["type"]) for e in body["errors"]}  # type: ignore[attr-defined]
    assert messages == {
        ("body", "name"): ("au plus 5 caractère(s)", "string_too_long"),
        ("body", "age"): ("nombre entier attendu", "int_parsing"),
        ("body", "ref"): ("identifiant UUID invalide", "uuid_parsing"),
        ("body", "born"): (
            "date invalide (format AAAA-MM-JJ attendu)",
            "date_from_datetime_parsing",
        ),
        ("body", "at"): (
            "date et heure invalides (format ISO 8601 attendu, avec fuseau horaire)",
            "datetime_from_date_parsing",
        ),
        ("body", "sector"): (
            "valeur non autorisée (valeurs possibles : 'btp' ou 'proprete')",
            "enum",
        ),
        ("body", "siret"): ("SIRET : 14 chiffres attendus", "value_error"),
        ("body", "phone"): ("champ inconnu", "extra_forbidden"),
    }
    for value in ("Jeanne-Marie", "trente", "pas-un-uuid", "01/04/1995", "hier", "SIRET-SECRET"):
        assert value not in response.text
    assert "0612345678" not in response.text


async def test_missing_fields_are_required(client: httpx.AsyncClient) -> None:
    response = await client.post("/test/forms", json={})
    body = assert_problem(response, 422, "validation-failed")
    errors = body["errors"]
    assert isinstance(errors, list) and len(errors) == len(VALID_FORM)
    assert {e["message"] for e in errors} == {"champ obligatoire"}


async def test_a_body_that_is_not_json_is_a_validation_problem(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/test/forms",
        content=b'{"name": "Jeanne", "age": ',
        headers={"content-type": "application/json"},
    )
    body = assert_problem(response, 422, "validation-failed")
    assert [e["message"] for e in body["errors"]] == ["corps JSON invalide"]  # type: ignore[attr-defined]
    assert "Jeanne" not in response.text


async def test_a_body_sent_as_plain_text_is_a_validation_problem(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/test/forms", content=b"name=Jeanne", headers={"content-type": "text/plain"}
    )
    assert_problem(response, 422, "validation-failed")
    assert "Jeanne" not in response.text


async def test_unhandled_exception_is_a_bare_500(client: httpx.AsyncClient) -> None:
    response = await client.get("/test/boom")
    body = assert_problem(response, 500, "internal-error")
    assert set(body) == {"type", "title", "status", "detail", "instance", "request_id"}
    assert "Jeanne" not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text


async def test_database_errors_become_503_with_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.get("/test/database-down")
    assert_problem(response, 503, "service-unavailable")
    assert response.headers["retry-after"] == "5"


async def test_unreachable_database_is_a_503_for_a_route(client_for: ClientFactory) -> None:
    async with client_for(database_url=UNREACHABLE_POSTGRES) as client:
        response = await client.get("/test/database")
    assert_problem(response, 503, "service-unavailable")
    assert response.headers["retry-after"] == "5"


async def test_a_statement_past_its_timeout_is_a_503(client_for: ClientFactory) -> None:
    async with client_for(database_statement_timeout_seconds=0.2) as client:
        response = await client.get("/test/database/sleep")
    assert_problem(response, 503, "service-unavailable")


async def test_a_lock_waited_for_past_its_timeout_is_a_503(
    client_for: ClientFactory, settings: Settings
) -> None:
    assert settings.database_url is not None
    holder = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        await holder.execute(f"SELECT pg_advisory_lock({TEST_ADVISORY_KEY})")
        async with client_for(database_lock_timeout_seconds=0.2) as client:
            response = await client.get("/test/database/lock")
        assert_problem(response, 503, "service-unavailable")
    finally:
        await holder.close()


@pytest.mark.parametrize("path", ["/test/boom", "/nowhere", "/test/missing"])
async def test_errors_keep_the_callers_request_id(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert response.json()["request_id"] == "abc-123"
