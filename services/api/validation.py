"""French messages for pydantic's validation errors.

A message names what is expected, never the value that was sent: a payload may carry personal
data, and error bodies end up in browser consoles, proxies and bug reports.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

FALLBACK_MESSAGE = "valeur invalide"


class InvalidValue(ValueError):
    """Raise from a schema validator: its message (French, without the value) reaches the client.

    Any other ``ValueError`` becomes the generic « valeur invalide », since library messages may
    quote the input.
    """


INSEE_CODE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
INVALID_INSEE = "code INSEE de commune invalide (5 caractères, ex. 93066 ou 2A004)"


def insee_code(value: str | None) -> str | None:
    """Schema validator: a commune's INSEE code (5 digits, or Corsica's 2A/2B + 3 digits)."""
    if value is None:
        return None
    code = value.strip().upper()
    if not INSEE_CODE.match(code):
        raise InvalidValue(INVALID_INSEE)
    return code


class FieldError(BaseModel):
    loc: list[str | int]
    message: str
    type: str


_DATE = "date invalide (format AAAA-MM-JJ attendu)"
_DATETIME = "date et heure invalides (format ISO 8601 attendu, avec fuseau horaire)"
_UUID = "identifiant UUID invalide"
_INTEGER = "nombre entier attendu"
_NUMBER = "nombre attendu"
_OBJECT = "objet JSON attendu"
_LIST = "liste attendue"
_URL = "URL invalide"
_CHOICE = "valeur non autorisée (valeurs possibles : {expected})"

# pydantic error type -> message; ``{name}`` fields come from the error's ``ctx`` (the constraint,
# never the input).
MESSAGES: Mapping[str, str] = {
    "missing": "champ obligatoire",
    "missing_argument": "champ obligatoire",
    "extra_forbidden": "champ inconnu",
    "unexpected_keyword_argument": "champ inconnu",
    "no_such_attribute": "champ inconnu",
    "frozen_field": "champ non modifiable",
    "json_invalid": "corps JSON invalide",
    "json_type": "document JSON attendu",
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "dict_type": _OBJECT,
    "list_type": _LIST,
    "tuple_type": _LIST,
    "set_type": _LIST,
    "frozen_set_type": _LIST,
    "too_short": "au moins {min_length} élément(s)",
    "too_long": "au plus {max_length} élément(s)",
    "string_type": "texte attendu",
    "string_unicode": "texte Unicode valide attendu",
    "string_too_short": "au moins {min_length} caractère(s)",
    "string_too_long": "au plus {max_length} caractère(s)",
    "string_pattern_mismatch": "format invalide",
    "string_not_ascii": "caractères ASCII uniquement",
    "bytes_type": "texte attendu",
    "bytes_too_short": "au moins {min_length} octet(s)",
    "bytes_too_long": "au plus {max_length} octet(s)",
    "int_type": _INTEGER,
    "int_parsing": _INTEGER,
    "int_parsing_size": "nombre entier trop grand",
    "int_from_float": _INTEGER,
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "finite_number": "nombre fini attendu",
    "decimal_type": "nombre décimal attendu",
    "decimal_parsing": "nombre décimal attendu",
    "decimal_max_digits": "au plus {max_digits} chiffre(s)",
    "decimal_max_places": "au plus {decimal_places} décimale(s)",
    "decimal_whole_digits": "au plus {whole_digits} chiffre(s) avant la virgule",
    "greater_than": "doit être supérieur à {gt}",
    "greater_than_equal": "doit être supérieur ou égal à {ge}",
    "less_than": "doit être inférieur à {lt}",
    "less_than_equal": "doit être inférieur ou égal à {le}",
    "multiple_of": "doit être un multiple de {multiple_of}",
    "bool_type": "booléen attendu (true ou false)",
    "bool_parsing": "booléen attendu (true ou false)",
    "none_required": "doit être null",
    "uuid_type": _UUID,
    "uuid_parsing": _UUID,
    "uuid_version": _UUID,
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "date_past": "la date doit être dans le passé",
    "date_future": "la date doit être dans le futur",
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "datetime_object_invalid": _DATETIME,
    "datetime_past": "la date doit être dans le passé",
    "datetime_future": "la date doit être dans le futur",
    "timezone_aware": "fuseau horaire obligatoire (par exemple 2026-03-02T09:00:00+01:00)",
    "timezone_naive": "date et heure sans fuseau horaire attendues",
    "time_type": "heure invalide (format HH:MM attendu)",
    "time_parsing": "heure invalide (format HH:MM attendu)",
    "time_delta_type": "durée invalide (format ISO 8601 attendu)",
    "time_delta_parsing": "durée invalide (format ISO 8601 attendu)",
    "enum": _CHOICE,
    "literal_error": _CHOICE,
    "union_tag_invalid": "type inconnu (valeurs possibles : {expected_tags})",
    "union_tag_not_found": "champ {discriminator} obligatoire",
    "url_type": _URL,
    "url_parsing": _URL,
    "url_syntax_violation": _URL,
    "url_scheme": "URL invalide (schémas acceptés : {expected_schemes})",
    "url_too_long": "URL trop longue (au plus {max_length} caractères)",
    "value_error": FALLBACK_MESSAGE,
    "assertion_error": FALLBACK_MESSAGE,
}


def french_message(error: Mapping[str, Any]) -> str:
    error_type = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, InvalidValue) and cause.args:
        return str(cause.args[0])
    template = MESSAGES.get(error_type, FALLBACK_MESSAGE)
    try:
        return template.format_map({k: _french(v) for k, v in ctx.items()})
    except (KeyError, IndexError, ValueError):
        # A constraint missing from ctx: keep the sentence when it stands without it.
        head = template.split(" (", 1)[0]
        return head if "{" not in head else FALLBACK_MESSAGE


def _french(value: Any) -> str:
    # pydantic joins choices as "'a', 'b' or 'c'".
    return str(value).replace(" or ", " ou ")


def french_errors(errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    return [
        FieldError(
            loc=[part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
            message=french_message(error),
            type=str(error.get("type", "invalid")),
        )
        for error in errors
    ]
