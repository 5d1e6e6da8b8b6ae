"""Which reference files were imported, in which version, and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, UniqueConstraint
from sqlmodel import Field

from services.core.models.base import TableBase


class ReferenceDataset(TableBase, table=True):
    """One imported version of a kind of reference data (``rome``, ``communes``, ``qpv``).

    ``version`` is the SHA-256 of the source files, so importing the same files again updates
    this row instead of adding one; ``label`` is the human name of the edition ("2024", "v460").
    """

    __tablename__ = "reference_dataset"
    __table_args__ = (UniqueConstraint("kind", "version"),)

    kind: str = Field(sa_type=String(20), nullable=False)
    version: str = Field(sa_type=String(64), nullable=False)
    label: str | None = Field(default=None, sa_type=String(100))
    source: str = Field(sa_type=String(1000), nullable=False)
    row_count: int = Field(sa_type=Integer, nullable=False)
    imported_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
