from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from services.api.app import create_app
from services.core.settings import Settings
from tests.api.routes import router as test_router

UNREACHABLE_POSTGRES = "postgresql://postgres@127.0.0.1:1/postgres"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"

ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The shared app, plus the test-only routes."""
    app.include_router(test_router)
    return app


@pytest.fixture
def client_for(settings: Settings) -> ClientFactory:
    """A client on an app built with other settings (no session override: real connections)."""

    @asynccontextmanager
    async def open_client(**changes: object) -> AsyncIterator[httpx.AsyncClient]:
        application = create_app(settings.model_copy(update=changes))
        application.include_router(test_router)
        async with (
            LifespanManager(application),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=application), base_url="http://test"
            ) as client,
        ):
            yield client

    return open_client


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["type"] == f"/problems/{code}"
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body
