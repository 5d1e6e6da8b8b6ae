"""The storage the settings ask for."""

from __future__ import annotations

from services.core.settings import Settings
from services.core.storage.base import Storage, StorageConfigurationError
from services.core.storage.local import LocalStorage

S3_UNAVAILABLE = (
    "Le stockage S3 (MAILLON_STORAGE_BACKEND=s3) nécessite l'extra « s3 » et sa bibliothèque "
    "cliente, absents de cette installation : utilisez MAILLON_STORAGE_BACKEND=local "
    "(répertoire MAILLON_STORAGE_DIR)."
)


def create_storage(settings: Settings) -> Storage:
    """The configured storage; :class:`StorageConfigurationError` when it cannot run.

    Call it at start-up so a wrong configuration stops the process before any upload.
    """
    if settings.storage_backend == "local":
        return LocalStorage(settings.storage_dir)
    raise StorageConfigurationError(S3_UNAVAILABLE)
