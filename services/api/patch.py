"""PATCH bodies: a field left out stays as it is; a field sent is its new value.

``null`` clears an optional field; for a field that cannot be empty it is refused (422), so that
leaving a field out and sending ``null`` never mean the same thing by accident.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from services.api.validation import InvalidValue

T = TypeVar("T")

NOT_NULL = "ne peut pas être null (omettez le champ pour le laisser inchangé)"


def refuse_null(value: T | None) -> T:
    """For a ``field_validator`` of a field that may be left out but not emptied."""
    if value is None:
        raise InvalidValue(NOT_NULL)
    return value


def sent(update: BaseModel) -> dict[str, Any]:
    """The fields the client sent, with their (validated) values."""
    return {name: getattr(update, name) for name in update.model_fields_set}
