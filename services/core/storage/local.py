"""Files in a local directory: ``<root>/ab/cd/<uuid hex>``, written atomically."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

from services.core.storage.base import (
    Content,
    InvalidStorageKey,
    StorageConfigurationError,
    StoredFileNotFound,
    StoredObject,
    is_valid_key,
)

_CHUNK = 64 * 1024


async def iter_content(content: Content, chunk_size: int = _CHUNK) -> AsyncIterator[bytes]:
    """The bytes of ``content`` in chunks, whatever form it came in."""
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]
    elif hasattr(content, "read"):
        while chunk := await content.read(chunk_size):
            yield chunk
    else:
        async for chunk in content:
            if chunk:
                yield bytes(chunk)


class LocalStorage:
    """A :class:`~services.core.storage.base.Storage` in one directory of the local disk.

    Files and directories are private to the service user (0600 / 0700). A file is written to a
    temporary name beside its final place, flushed to disk, then renamed over it, so a reader
    never sees half a file and a failed write leaves nothing behind.
    """

    def __init__(self, directory: Path | str) -> None:
        self.root = Path(directory).absolute()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def path_of(self, key: str) -> Path:
        """Where ``key`` lives; only keys shaped by ``new_key`` are accepted."""
        if not is_valid_key(key):
            raise InvalidStorageKey()
        path = self.root.joinpath(*key.split("/"))
        # The key's shape already rules out "..", separators and absolute paths; check anyway.
        if path.parent.parent.parent != self.root:
            raise InvalidStorageKey()
        return path

    async def put(self, key: str, content: Content) -> StoredObject:
        path = self.path_of(key)
        handle, temporary = await asyncio.to_thread(_open_temporary, path)
        digest = hashlib.sha256()
        size = 0
        try:
            async for chunk in iter_content(content):
                digest.update(chunk)
                size += len(chunk)
                await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(_commit, handle, temporary, path)
        except BaseException:
            await asyncio.to_thread(_discard, handle, temporary)
            raise
        return StoredObject(key=key, size=size, sha256=digest.hexdigest())

    async def get(self, key: str) -> bytes:
        path = self.path_of(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise StoredFileNotFound() from None

    async def open(self, key: str, *, chunk_size: int = _CHUNK) -> AsyncIterator[bytes]:
        path = self.path_of(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise StoredFileNotFound() from None
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def delete(self, key: str) -> bool:
        path = self.path_of(key)
        try:
            await asyncio.to_thread(path.unlink)
        except FileNotFoundError:
            return False
        return True

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_of(key).is_file)

    async def check(self) -> None:
        try:
            await asyncio.to_thread(self.root.mkdir, mode=0o700, parents=True, exist_ok=True)
            writable = await asyncio.to_thread(os.access, self.root, os.W_OK | os.X_OK)
        except OSError as error:
            raise StorageConfigurationError(
                f"Stockage des fichiers : le répertoire MAILLON_STORAGE_DIR ne peut être créé "
                f"({error.strerror})."
            ) from None
        if not writable:
            raise StorageConfigurationError(
                "Stockage des fichiers : le répertoire MAILLON_STORAGE_DIR n'est pas accessible "
                "en écriture."
            )

    async def aclose(self) -> None:
        """Nothing to release: every call opens and closes its own file."""


def _open_temporary(path: Path) -> tuple[IO[bytes], Path]:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    return os.fdopen(descriptor, "wb"), Path(name)


def _commit(handle: IO[bytes], temporary: Path, path: Path) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _discard(handle: IO[bytes], temporary: Path) -> None:
    with contextlib.suppress(OSError):
        handle.close()
    temporary.unlink(missing_ok=True)
