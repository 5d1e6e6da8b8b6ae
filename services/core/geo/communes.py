"""Commune names and codes."""

from __future__ import annotations

import re
import unicodedata

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae"})
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")

# Arrondissements → the commune QPV files and most national data refer to.
_ARRONDISSEMENTS: tuple[tuple[range, str], ...] = (
    (range(75101, 75121), "75056"),  # Paris
    (range(69381, 69390), "69123"),  # Lyon
    (range(13201, 13217), "13055"),  # Marseille
)


def normalise_name(name: str) -> str:
    """Lower case, without accents, words separated by one space: ``"l abergement clemenciat"``.

    The same function must shape both the stored ``search_name`` and what people type.
    """
    decomposed = unicodedata.normalize("NFKD", name.translate(_LIGATURES))
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_ALNUM.sub(" ", ascii_only.lower()).strip()


def parent_commune(insee: str) -> str:
    """The city of a Paris, Lyon or Marseille arrondissement; any other code unchanged."""
    if insee.isdigit():
        number = int(insee)
        for codes, city in _ARRONDISSEMENTS:
            if number in codes:
                return city
    return insee


def with_arrondissements(insee: str) -> list[str]:
    """The commune and, for Paris, Lyon or Marseille, each of its arrondissements: a search for
    the city finds a work site recorded in one of them."""
    for codes, city in _ARRONDISSEMENTS:
        if insee == city:
            return [insee, *(str(number) for number in codes)]
    return [insee]
