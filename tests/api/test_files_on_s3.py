"""Files on an S3-compatible bucket with several API processes: what one process stores, another
serves; an unusable bucket stops the API and the workers at start-up with a French message."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.app import create_app
from services.api.deps import get_session, request_transaction
from services.core.models.intake import IntakeFile
from services.core.settings import Settings
from services.core.storage import StorageConfigurationError, new_key
from services.notifications.worker import settings_for
from tests.api.clause import Territory, make_territory
from tests.api.test_intakes import as_fields, borne_form
from tests.s3_server import S3Server

pytestmark = pytest.mark.usefixtures("reference_data", "clock")

# A scanned CV of 6 MiB: more than one part of a multipart upload.
BIG_PDF = b"%PDF-1.4\n" + bytes(range(256)) * (6 * 4096) + b"\ntrailer << >>\n%%EOF\n"


def on_s3(settings: Settings, server: S3Server, **changes: Any) -> Settings:
    values = {
        "storage_backend": "s3",
        "s3_bucket": server.bucket,
        "s3_endpoint_url": server.endpoint_url,
        "s3_region": server.region,
        "s3_access_key_id": server.access_key_id,
        "s3_secret_access_key": server.secret_access_key,
        **changes,
    }
    # Validated as the environment would be (the secret becomes a SecretStr).
    return Settings.model_validate(settings.model_dump() | values)


def api_process(settings: Settings, db_session: AsyncSession) -> FastAPI:
    """One API process; its requests run in the test's transaction like the shared app's."""
    application = create_app(settings)

    async def session_in_test_transaction(request: Request) -> AsyncIterator[AsyncSession]:
        await db_session.commit()
        async with request_transaction(request, db_session) as session:
            yield session

    application.dependency_overrides[get_session] = session_in_test_transaction
    return application


async def test_a_file_uploaded_through_one_api_process_is_downloaded_through_another(
    settings: Settings, s3_server: S3Server, db_session: AsyncSession, tmp_path: Path
) -> None:
    world: Territory = await make_territory(db_session, settings)
    shared = on_s3(settings, s3_server, storage_dir=tmp_path / "files")
    first, second = api_process(shared, db_session), api_process(shared, db_session)
    async with AsyncExitStack() as stack:
        clients = []
        for application in (first, second):
            await stack.enter_async_context(LifespanManager(application))
            clients.append(
                await stack.enter_async_context(
                    httpx.AsyncClient(
                        transport=httpx.ASGITransport(app=application), base_url="http://test"
                    )
                )
            )
        uploading, downloading = clients
        assert first.state.resources.storage is not second.state.resources.storage

        response = await uploading.post(
            "/v1/intakes",
            data=as_fields(borne_form()),
            files={"cv": ("CV numérisé.pdf", BIG_PDF, "application/pdf")},
            headers=world.desk,
        )
        assert response.status_code == 201, response.text
        created = response.json()
        intake_id, file_id = created["intake_id"], created["files"][0]["id"]
        assert created["files"][0]["size"] == len(BIG_PDF)

        # The object is in the bucket under the key recorded for the file, encrypted at rest.
        key = await db_session.scalar(
            select(col(IntakeFile.storage_key)).where(col(IntakeFile.id) == uuid.UUID(file_id))
        )
        s3 = s3_server.client()
        head = s3.head_object(Bucket=s3_server.bucket, Key=key)  # type: ignore[attr-defined]
        assert head["ContentLength"] == len(BIG_PDF)
        assert head["ServerSideEncryption"] == "AES256"

        url = f"/v1/intakes/{intake_id}/files/{file_id}"
        async with downloading.stream("GET", url, headers=world.desk) as downloaded:
            assert downloaded.status_code == 200
            assert downloaded.headers["content-type"] == "application/pdf"
            body = b"".join([chunk async for chunk in downloaded.aiter_bytes()])
        assert body == BIG_PDF

        # Gone from the bucket: both processes see it missing.
        s3.delete_object(Bucket=s3_server.bucket, Key=key)  # type: ignore[attr-defined]
        for client in clients:
            assert (await client.get(url, headers=world.desk)).status_code == 404
    assert not (tmp_path / "files").exists()  # nothing went to a local directory


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"s3_secret_access_key": "not-the-secret"}, "les identifiants S3 sont refusés"),
        ({"s3_bucket": "nowhere"}, "le compartiment S3 « nowhere » .* n'existe pas"),
    ],
    ids=["wrong-secret", "missing-bucket"],
)
async def test_the_api_and_the_workers_refuse_to_start_on_an_unusable_bucket(
    settings: Settings, s3_server: S3Server, changes: dict[str, str], message: str
) -> None:
    wrong = on_s3(settings, s3_server, **changes)
    with pytest.raises(StorageConfigurationError, match=message):
        async with LifespanManager(create_app(wrong)):
            pass
    ctx: dict[str, Any] = {}
    with pytest.raises(StorageConfigurationError, match=message):
        await settings_for(wrong)["on_startup"](ctx)
    assert "engine" not in ctx  # stopped before opening anything else


async def test_the_workers_open_the_store_and_close_it(
    settings: Settings, s3_server: S3Server
) -> None:
    worker = settings_for(on_s3(settings, s3_server))
    ctx: dict[str, Any] = {}
    await worker["on_startup"](ctx)
    try:
        storage = ctx["storage"]
        assert await storage.exists(new_key()) is False
    finally:
        await worker["on_shutdown"](ctx)
    assert storage._client is None
