"""Every table of Maillon, declared once; Alembic reads this package's metadata."""

from services.core.models.base import NAMING_CONVENTION, TableBase, metadata
from services.core.models.idempotency import IdempotencyRecord
from services.core.models.outbox import FailedEvent, OutboxEvent, ProcessedEvent

__all__ = [
    "NAMING_CONVENTION",
    "FailedEvent",
    "IdempotencyRecord",
    "OutboxEvent",
    "ProcessedEvent",
    "TableBase",
    "metadata",
]
