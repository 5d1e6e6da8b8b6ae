"""File storage, one suite for both backends: the local directory and an S3-compatible bucket
(a real S3-protocol server process on loopback): system keys, atomic writes, streaming both ways,
nothing left behind by a failed write, no way out of the store."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.core.settings import Settings
from services.core.storage import (
    InvalidStorageKey,
    LocalStorage,
    Storage,
    StorageConfigurationError,
    StoredFileNotFound,
    create_storage,
    is_valid_key,
    new_key,
    open_storage,
)
from services.core.storage.s3 import PART_SIZE, S3Storage
from tests.s3_server import S3Server


def s3_settings(server: S3Server, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "storage_backend": "s3",
        "s3_bucket": server.bucket,
        "s3_endpoint_url": server.endpoint_url,
        "s3_region": server.region,
        "s3_access_key_id": server.access_key_id,
        "s3_secret_access_key": server.secret_access_key,
    }
    return Settings(**(values | changes))


@pytest.fixture(params=["local", "s3"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path, s3_server: S3Server
) -> AsyncIterator[Storage]:
    if request.param == "local":
        made: Storage = LocalStorage(tmp_path / "files")
    else:
        # A prefix of its own per test: the listings below see only this test's objects.
        settings = s3_settings(s3_server, s3_prefix=f"t-{uuid.uuid4().hex}")
        made = create_storage(settings)
    await made.check()
    yield made
    await made.aclose()


def _bucket(storage: S3Storage) -> Any:
    return S3Server(
        storage.endpoint_url or "",
        "eu-west-3",
        storage.bucket,
        *_keys(storage),
    ).client()


def _keys(storage: S3Storage) -> tuple[str, str]:
    options = storage._client_options
    return options["aws_access_key_id"], options["aws_secret_access_key"]


def leftovers(storage: Storage) -> list[str]:
    """Everything the store holds for this test, temporary files and unfinished uploads too."""
    if isinstance(storage, LocalStorage):
        if not storage.root.exists():
            return []
        return sorted(
            str(p.relative_to(storage.root)) for p in storage.root.rglob("*") if p.is_file()
        )
    assert isinstance(storage, S3Storage)
    s3 = _bucket(storage)
    objects = s3.list_objects_v2(Bucket=storage.bucket, Prefix=storage.prefix).get("Contents", [])
    uploads = s3.list_multipart_uploads(Bucket=storage.bucket, Prefix=storage.prefix)
    return sorted(
        [o["Key"].removeprefix(storage.prefix) for o in objects]
        + [f"upload:{u['Key']}" for u in uploads.get("Uploads", [])]
    )


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


class _Reader:
    """Like Starlette's UploadFile: ``await read(size)``; remembers the largest read."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0
        self.largest = 0

    async def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._at + size
        chunk = self._data[self._at : end]
        self._at += len(chunk)
        self.largest = max(self.largest, len(chunk))
        return chunk


def test_keys_are_random_sharded_and_checked() -> None:
    keys = {new_key() for _ in range(1000)}
    assert len(keys) == 1000
    for key in keys:
        first, second, name = key.split("/")
        assert is_valid_key(key)
        assert name.startswith(first + second) and len(name) == 32
    for bad in [
        "",
        "../../etc/passwd",
        "/etc/passwd",
        "ab/cd/../../../../etc/passwd",
        "ab/cd/ef0123456789abcdef0123456789abcd",  # shards do not match the name
        "AB/CD/ABCD0123456789ABCDEF0123456789",
        "ab\\cd\\abcd0123456789abcdef0123456789",
        "ab/cd/abcd0123456789abcdef0123456789/x",
        "cv.pdf",
    ]:
        assert not is_valid_key(bad), bad


async def test_put_get_open_exists_delete(storage: Storage) -> None:
    assert isinstance(storage, Storage)
    key = new_key()
    data = os.urandom(200_000)
    stored = await storage.put(key, data)
    assert stored.key == key
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert await storage.exists(key)
    assert await storage.get(key) == data
    chunks = [chunk async for chunk in storage.open(key, chunk_size=4096)]
    assert b"".join(chunks) == data
    assert len(chunks) >= len(data) // 4096 and max(map(len, chunks)) <= 4096  # streamed
    assert leftovers(storage) == [key]  # the key as it is, on disk or in the bucket
    if isinstance(storage, LocalStorage):
        path = storage.path_of(key)
        assert path.is_relative_to(storage.root)
        assert path.stat().st_mode & 0o077 == 0  # private to the service user
    assert await storage.delete(key) is True
    assert not await storage.exists(key)
    assert await storage.delete(key) is False
    with pytest.raises(StoredFileNotFound):
        await storage.get(key)
    with pytest.raises(StoredFileNotFound):
        [chunk async for chunk in storage.open(key)]
    assert leftovers(storage) == []


async def test_put_streams_and_replaces(storage: Storage) -> None:
    key = new_key()
    stored = await storage.put(key, _chunks(b"abc", b"", b"def"))
    assert (stored.size, await storage.get(key)) == (6, b"abcdef")
    stored = await storage.put(key, _Reader(b"x" * 300_000))
    assert stored.size == 300_000
    assert await storage.get(key) == b"x" * 300_000
    assert stored.sha256 == hashlib.sha256(b"x" * 300_000).hexdigest()
    stored = await storage.put(key, b"")
    assert (stored.size, await storage.get(key)) == (0, b"")
    assert leftovers(storage) == [key]


async def test_a_large_file_is_streamed_in_parts(storage: Storage) -> None:
    """11 MiB read 64 KiB at a time and sent in parts: never the whole file in one buffer."""
    key = new_key()
    data = os.urandom(2 * PART_SIZE + 1024 * 1024)
    reader = _Reader(data)
    stored = await storage.put(key, reader)
    assert reader.largest == 64 * 1024
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    digest = hashlib.sha256()
    largest = 0
    async for chunk in storage.open(key, chunk_size=256 * 1024):
        digest.update(chunk)
        largest = max(largest, len(chunk))
    assert digest.hexdigest() == stored.sha256 and largest <= 256 * 1024
    if isinstance(storage, S3Storage):
        head = _bucket(storage).head_object(Bucket=storage.bucket, Key=storage.prefix + key)
        assert head["ETag"].strip('"').endswith("-3")  # a multipart upload of three parts
    assert leftovers(storage) == [key]


@pytest.mark.parametrize("size", [100, PART_SIZE + 100], ids=["one-part", "multipart"])
async def test_failed_write_leaves_nothing(storage: Storage, size: int) -> None:
    key = new_key()

    async def broken() -> AsyncIterator[bytes]:
        yield b"h" * size  # half of a file (past the first part when multipart)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await storage.put(key, broken())
    assert not await storage.exists(key)
    # Neither the file nor a temporary one (nor an unfinished multipart upload) is left.
    assert leftovers(storage) == []

    # A failed replacement keeps the previous file whole.
    await storage.put(key, b"first version")
    with pytest.raises(ConnectionResetError):
        await storage.put(key, broken())
    assert await storage.get(key) == b"first version"
    assert leftovers(storage) == [key]


@pytest.mark.parametrize(
    "key",
    ["../../etc/passwd", "/etc/passwd", "ab/cd/../../../x", "..", "", "ab/cd/cv.pdf"],
)
async def test_no_key_leaves_the_store(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidStorageKey):
        await storage.put(key, b"data")
    with pytest.raises(InvalidStorageKey):
        await storage.get(key)
    with pytest.raises(InvalidStorageKey):
        [chunk async for chunk in storage.open(key)]
    with pytest.raises(InvalidStorageKey):
        await storage.exists(key)
    with pytest.raises(InvalidStorageKey):
        await storage.delete(key)
    assert leftovers(storage) == []


async def test_s3_objects_are_encrypted_at_rest(s3_server: S3Server) -> None:
    storage = create_storage(s3_settings(s3_server))
    assert isinstance(storage, S3Storage)
    small, large = new_key(), new_key()
    try:
        await storage.put(small, b"%PDF-1.4 a CV")
        await storage.put(large, _Reader(os.urandom(PART_SIZE + 10)))
        s3 = s3_server.client()
        for key in (small, large):
            # Keys as on disk: no prefix unless one is set.
            head = s3.head_object(Bucket=s3_server.bucket, Key=key)  # type: ignore[attr-defined]
            assert head["ServerSideEncryption"] == "AES256"
    finally:
        await storage.delete(small)
        await storage.delete(large)
        await storage.aclose()


def test_factory(tmp_path: Path, s3_server: S3Server) -> None:
    local = create_storage(Settings(environment="test", storage_dir=tmp_path / "store"))
    assert isinstance(local, LocalStorage)
    assert local.root == tmp_path / "store"
    default = Settings(environment="test")  # what `maillon up` runs with: the local directory
    assert (default.storage_backend, default.storage_dir) == ("local", Path(".maillon/files"))
    s3 = create_storage(s3_settings(s3_server))
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.endpoint_url, s3.prefix) == (
        s3_server.bucket,
        s3_server.endpoint_url,
        "",
    )
    assert s3_server.secret_access_key not in repr(s3)
    with pytest.raises(StorageConfigurationError, match="MAILLON_S3_BUCKET doit être défini"):
        create_storage(Settings(environment="test", storage_backend="s3"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"s3_secret_access_key": "not-the-secret"},
            "les identifiants S3 sont refusés pour le compartiment « maillon-files »",
        ),
        (
            {"s3_access_key_id": "AKIAUNKNOWNKEY000000"},
            "les identifiants S3 sont refusés pour le compartiment « maillon-files »",
        ),
        ({"s3_bucket": "nowhere"}, "le compartiment S3 « nowhere » .* n'existe pas"),
        (
            # A loopback port where nothing listens (the discard port).
            {"s3_endpoint_url": "http://127.0.0.1:9"},
            "le service S3 du compartiment « maillon-files » sur http://127.0.0.1:9 "
            "est injoignable",
        ),
    ],
    ids=["wrong-secret", "unknown-key", "missing-bucket", "unreachable"],
)
async def test_an_unusable_bucket_stops_start_up_in_french(
    s3_server: S3Server, changes: dict[str, str], message: str
) -> None:
    settings = s3_settings(s3_server, **changes)
    with pytest.raises(StorageConfigurationError, match=message) as raised:
        await open_storage(settings)
    assert str(raised.value).startswith("Stockage des fichiers : ")
    assert "not-the-secret" not in str(raised.value)
    assert s3_server.secret_access_key not in str(raised.value)


async def test_an_unwritable_directory_stops_start_up(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(StorageConfigurationError, match="MAILLON_STORAGE_DIR"):
        await open_storage(Settings(environment="test", storage_dir=blocker / "files"))
