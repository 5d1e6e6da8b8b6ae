"""Communes, postal codes and QPV polygons (no PostGIS: geometry is kept as WKB)."""

from __future__ import annotations

from sqlalchemy import Boolean, Double, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field

from services.core.models.base import TableBase


class Commune(TableBase, table=True):
    """A commune (or a Paris, Lyon, Marseille arrondissement) and its centre point."""

    __tablename__ = "commune"
    __table_args__ = (
        # Prefix search ("LIKE 'saint d%'") whatever the database collation.
        Index(
            "ix_commune_search_name",
            "search_name",
            postgresql_ops={"search_name": "text_pattern_ops"},
        ),
    )

    insee: str = Field(sa_type=String(5), unique=True, nullable=False)
    dept: str = Field(sa_type=String(3), nullable=False, index=True)
    name: str = Field(sa_type=String(100), nullable=False)
    # Lower case, no accents, punctuation as spaces: see services/core/geo/communes.py.
    search_name: str = Field(sa_type=String(100), nullable=False)
    lon: float = Field(sa_type=Double, nullable=False)
    lat: float = Field(sa_type=Double, nullable=False)


class PostalCode(TableBase, table=True):
    """One (postal code, commune) pair; ``is_primary`` marks the commune's main postal code."""

    __tablename__ = "postal_code"
    __table_args__ = (UniqueConstraint("code", "insee"),)

    code: str = Field(sa_type=String(5), nullable=False)
    insee: str = Field(sa_type=String(5), nullable=False, index=True)
    is_primary: bool = Field(sa_type=Boolean, nullable=False)


class Qpv(TableBase, table=True):
    """A quartier prioritaire de la politique de la ville, with its polygon.

    ``geometry`` is the (Multi)Polygon as published, in WGS84 lon/lat, encoded as WKB. The
    bounding box columns let SQL narrow a search without decoding it.
    """

    __tablename__ = "qpv"
    __table_args__ = (
        # "Which QPVs does this commune host?" (``insee_codes @> ARRAY['93066']``).
        Index("ix_qpv_insee_codes", "insee_codes", postgresql_using="gin"),
    )

    code: str = Field(sa_type=String(8), unique=True, nullable=False)
    name: str = Field(sa_type=String(255), nullable=False)
    # As published: Paris, Lyon and Marseille QPVs name the whole city, not the arrondissement.
    insee_codes: list[str] = Field(sa_type=ARRAY(String(5)), nullable=False)
    geometry: bytes = Field(sa_type=LargeBinary, nullable=False)
    min_lon: float = Field(sa_type=Double, nullable=False)
    min_lat: float = Field(sa_type=Double, nullable=False)
    max_lon: float = Field(sa_type=Double, nullable=False)
    max_lat: float = Field(sa_type=Double, nullable=False)
