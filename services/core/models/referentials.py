"""France Travail's ROME v4: grands domaines, domaines professionnels, fiches, appellations.

Each row is keyed by its official code; imports upsert on that code, so ids stay stable across
re-imports. No foreign keys between these tables: the files come in separate versions (v458
domaines next to v460 fiches) and the importer checks their consistency instead.
"""

from __future__ import annotations

from sqlalchemy import String
from sqlmodel import Field

from services.core.models.base import TableBase


class RomeGrandDomaine(TableBase, table=True):
    """One of the 14 grands domaines, ``A`` to ``N``."""

    __tablename__ = "rome_grand_domaine"

    code: str = Field(sa_type=String(1), unique=True, nullable=False)
    label: str = Field(sa_type=String(255), nullable=False)


class RomeDomaine(TableBase, table=True):
    """One of the 110 domaines professionnels, e.g. ``F17``."""

    __tablename__ = "rome_domaine"

    code: str = Field(sa_type=String(3), unique=True, nullable=False)
    label: str = Field(sa_type=String(255), nullable=False)
    grand_domaine_code: str = Field(sa_type=String(1), nullable=False, index=True)


class RomeFiche(TableBase, table=True):
    """A fiche métier, e.g. ``F1701``; ``parent_code`` is the historical code it derives from."""

    __tablename__ = "rome_fiche"

    code: str = Field(sa_type=String(5), unique=True, nullable=False)
    label: str = Field(sa_type=String(255), nullable=False)
    domaine_code: str = Field(sa_type=String(3), nullable=False, index=True)
    parent_code: str | None = Field(default=None, sa_type=String(5), index=True)


class RomeAppellation(TableBase, table=True):
    """A job title (code OGR) attached to one fiche."""

    __tablename__ = "rome_appellation"

    code: str = Field(sa_type=String(10), unique=True, nullable=False)
    label: str = Field(sa_type=String(255), nullable=False)
    short_label: str = Field(sa_type=String(255), nullable=False)
    rome_code: str = Field(sa_type=String(5), nullable=False, index=True)
