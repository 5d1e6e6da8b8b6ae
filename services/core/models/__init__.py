"""Every table of Maillon, declared once; Alembic reads this package's metadata."""

from services.core.models.base import NAMING_CONVENTION, TableBase, metadata
from services.core.models.geo import Commune, PostalCode, Qpv
from services.core.models.idempotency import IdempotencyRecord
from services.core.models.outbox import FailedEvent, OutboxEvent, ProcessedEvent
from services.core.models.reference_dataset import ReferenceDataset
from services.core.models.referentials import (
    RomeAppellation,
    RomeDomaine,
    RomeFiche,
    RomeGrandDomaine,
)

__all__ = [
    "NAMING_CONVENTION",
    "Commune",
    "FailedEvent",
    "IdempotencyRecord",
    "OutboxEvent",
    "PostalCode",
    "ProcessedEvent",
    "Qpv",
    "ReferenceDataset",
    "RomeAppellation",
    "RomeDomaine",
    "RomeFiche",
    "RomeGrandDomaine",
    "TableBase",
    "metadata",
]
