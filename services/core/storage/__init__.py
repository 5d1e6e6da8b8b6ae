"""Files kept outside the database (CVs, scanned forms) behind a small storage interface.

Keys are made by the system (:func:`new_key`), never from a name a client sent; see
docs/decisions/0012-file-storage.md and 0060-s3-storage.md.
"""

from __future__ import annotations

from services.core.storage.base import (
    InvalidStorageKey,
    Storage,
    StorageConfigurationError,
    StoredFileNotFound,
    StoredObject,
    is_valid_key,
    new_key,
)
from services.core.storage.factory import create_storage, open_storage
from services.core.storage.local import LocalStorage

__all__ = [
    "InvalidStorageKey",
    "LocalStorage",
    "Storage",
    "StorageConfigurationError",
    "StoredFileNotFound",
    "StoredObject",
    "create_storage",
    "is_valid_key",
    "new_key",
    "open_storage",
]
