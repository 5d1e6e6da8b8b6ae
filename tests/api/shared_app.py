"""One application for a whole test module, its requests running in the running test's
transaction (tests/test_access_matrix.py, tests/test_fuzz.py).

FastAPI prepares each route on its first request (0.1 s and more per app), and the referential
indexes are built once per run: modules sending thousands of requests share one app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from asgi_lifespan import LifespanManager
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.app import create_app
from services.api.deps import get_session, request_transaction
from services.api.referentials.indexes import ReferentialIndexes, RomeIndex
from services.core.geo.qpv import QpvIndex
from services.core.settings import Settings


@dataclass
class TestTransaction:
    """The session of the running test, in whose transaction the shared app's requests run."""

    __test__ = False  # not a test class
    session: AsyncSession | None = None


@asynccontextmanager
async def shared_app(
    settings: Settings, rome_index: RomeIndex, qpv_index: QpvIndex
) -> AsyncIterator[tuple[httpx.AsyncClient, TestTransaction]]:
    application = create_app(settings)
    current = TestTransaction()

    async def session_in_test_transaction(request: Request) -> AsyncIterator[AsyncSession]:
        # As tests/conftest.py's ``app``: what the test wrote is committed data to the request.
        session = current.session
        assert session is not None, "a request outside a test"
        await session.commit()
        async with request_transaction(request, session) as in_transaction:
            yield in_transaction

    application.dependency_overrides[get_session] = session_in_test_transaction
    async with (
        LifespanManager(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://test"
        ) as client,
    ):
        indexes: ReferentialIndexes = application.state.referential_indexes
        indexes._rome, indexes._qpv = rome_index, qpv_index
        yield client, current
