"""The storage interface, its keys and its errors."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# ``ab/cd/abcdef0123456789abcdef0123456789``: two shard levels (256 × 256 directories) taken
# from a random UUID, then the UUID itself. Nothing else is ever a key.
_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}")


def new_key() -> str:
    """A fresh storage key: random, sharded, free of anything a client sent."""
    name = uuid.uuid4().hex
    return f"{name[:2]}/{name[2:4]}/{name}"


def is_valid_key(key: str) -> bool:
    """Whether ``key`` has the exact shape :func:`new_key` makes (shards matching the name)."""
    if not isinstance(key, str) or _KEY.fullmatch(key) is None:
        return False
    first, second, name = key.split("/")
    return name.startswith(first + second)


class InvalidStorageKey(ValueError):
    def __init__(self) -> None:
        super().__init__("clé de stockage invalide")


class StoredFileNotFound(LookupError):
    def __init__(self) -> None:
        super().__init__("fichier introuvable dans le stockage")


class StorageConfigurationError(RuntimeError):
    """The configured backend cannot run (raised at start-up, message in French)."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int  # bytes
    sha256: str  # hex digest of the stored bytes


class SupportsAsyncRead(Protocol):
    """What Starlette's ``UploadFile`` offers."""

    async def read(self, size: int = -1) -> bytes: ...


Content = bytes | AsyncIterable[bytes] | SupportsAsyncRead


@runtime_checkable
class Storage(Protocol):
    """Where files live. Every method checks the key (:class:`InvalidStorageKey`)."""

    async def put(self, key: str, content: Content) -> StoredObject:
        """Store ``content`` under ``key`` atomically: readers see the whole file or nothing.

        An existing object under the same key is replaced.
        """
        ...

    async def get(self, key: str) -> bytes:
        """The whole file; :class:`StoredFileNotFound` when absent."""
        ...

    def open(self, key: str, *, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
        """The file in chunks (for streaming a download); :class:`StoredFileNotFound`."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove the file; ``False`` when there was none."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def check(self) -> None:
        """Make sure the store can be used (at start-up); :class:`StorageConfigurationError`
        with a French message when it cannot."""
        ...

    async def aclose(self) -> None:
        """Release connections; the storage opens them again if used afterwards."""
        ...
