"""The storage the settings ask for."""

from __future__ import annotations

from services.core.settings import Settings
from services.core.storage.base import Storage
from services.core.storage.local import LocalStorage


def create_storage(settings: Settings) -> Storage:
    """The configured storage, not yet checked: call ``await storage.check()`` at start-up so a
    wrong configuration (:class:`StorageConfigurationError`) stops the process before any
    upload, and ``await storage.aclose()`` at shutdown."""
    if settings.storage_backend == "s3":
        # Imported here: the S3 client library is only loaded by instances that use it.
        from services.core.storage.s3 import S3Storage

        return S3Storage.from_settings(settings)
    return LocalStorage(settings.storage_dir)


async def open_storage(settings: Settings) -> Storage:
    """The configured storage, checked (:class:`StorageConfigurationError` when unusable)."""
    storage = create_storage(settings)
    try:
        await storage.check()
    except BaseException:
        await storage.aclose()
        raise
    return storage
