"""Local file storage: system keys, atomic writes, no way out of the directory."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

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
)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


class _Reader:
    """Like Starlette's UploadFile: ``await read(size)``."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    async def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._at + size
        chunk = self._data[self._at : end]
        self._at += len(chunk)
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


async def test_put_get_open_exists_delete(storage: LocalStorage) -> None:
    assert isinstance(storage, Storage)
    key = new_key()
    data = os.urandom(200_000)
    stored = await storage.put(key, data)
    assert stored.key == key
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert await storage.exists(key)
    assert await storage.get(key) == data
    assert b"".join([chunk async for chunk in storage.open(key, chunk_size=4096)]) == data
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


async def test_put_streams_and_replaces(storage: LocalStorage) -> None:
    key = new_key()
    stored = await storage.put(key, _chunks(b"abc", b"", b"def"))
    assert (stored.size, await storage.get(key)) == (6, b"abcdef")
    stored = await storage.put(key, _Reader(b"x" * 300_000))
    assert stored.size == 300_000
    assert await storage.get(key) == b"x" * 300_000
    assert stored.sha256 == hashlib.sha256(b"x" * 300_000).hexdigest()


async def test_failed_write_leaves_nothing(storage: LocalStorage) -> None:
    key = new_key()

    async def broken() -> AsyncIterator[bytes]:
        yield b"half of a file"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await storage.put(key, broken())
    assert not await storage.exists(key)
    # Neither the file nor a temporary one is left in its directory.
    assert list(storage.path_of(key).parent.iterdir()) == []

    # A failed replacement keeps the previous file whole.
    await storage.put(key, b"first version")
    with pytest.raises(ConnectionResetError):
        await storage.put(key, broken())
    assert await storage.get(key) == b"first version"
    assert [p.name for p in storage.path_of(key).parent.iterdir()] == [key.split("/")[2]]


@pytest.mark.parametrize(
    "key",
    ["../../etc/passwd", "/etc/passwd", "ab/cd/../../../x", "..", "", "ab/cd/cv.pdf"],
)
async def test_no_key_leaves_the_directory(storage: LocalStorage, key: str) -> None:
    with pytest.raises(InvalidStorageKey):
        await storage.put(key, b"data")
    with pytest.raises(InvalidStorageKey):
        await storage.get(key)
    with pytest.raises(InvalidStorageKey):
        await storage.exists(key)
    with pytest.raises(InvalidStorageKey):
        await storage.delete(key)
    assert not storage.root.exists() or list(storage.root.rglob("*")) == []


def test_factory(tmp_path: Path) -> None:
    local = create_storage(Settings(environment="test", storage_dir=tmp_path / "store"))
    assert isinstance(local, LocalStorage)
    assert local.root == tmp_path / "store"
    assert Settings(environment="test").storage_dir == Path(".maillon/files")
    with pytest.raises(StorageConfigurationError, match="extra « s3 »"):
        create_storage(
            Settings(environment="test", storage_backend="s3", s3_bucket="cv", storage_dir=tmp_path)
        )
