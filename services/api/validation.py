"""French messages for pydantic's validation errors.

A message names what is expected, never the value that was sent: a payload may carry personal
data, and error bodies end up in browser consoles, proxies and bug reports.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any, TypeVar

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from services.core.clock import PARIS, now

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


# -- plausible dates (decision 0046) -----------------------------------------------------------

# Nothing the service records happened before 2000 (deposits, availability, contracts, offers,
# eligibility, callbacks, reports), and nothing it plans is more than ten years ahead. A date
# outside is a typing error or a probe (9999-12-31 is stored as an infinite date).
EARLIEST_DAY = date(2000, 1, 1)
YEARS_AHEAD = 10
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]")


def today() -> date:
    """The business day (Paris), from the service's clock."""
    return now().astimezone(PARIS).date()


def latest_day(years_ahead: int = YEARS_AHEAD) -> date:
    """``years_ahead`` years after today (28 February for a 29 February that has none)."""
    day = today()
    try:
        return day.replace(year=day.year + years_ahead)
    except ValueError:
        return day.replace(year=day.year + years_ahead, day=28)


def _written_as_date(pattern: re.Pattern[str], kind: str, value: Any) -> Any:
    # pydantic reads numbers (and numeric strings) as Unix timestamps: ``0`` would be 1970-01-01
    # and ``true`` 1970-01-01T00:00:01. A date is written as one.
    if isinstance(value, str) and pattern.match(value.strip()) is None:
        raise PydanticCustomError(kind, "date expected")
    if isinstance(value, bool | int | float):
        raise PydanticCustomError(kind, "date expected")
    return value


def _in_range(value: date, earliest: date = EARLIEST_DAY, years_ahead: int = YEARS_AHEAD) -> None:
    latest = latest_day(years_ahead)
    if not earliest <= value <= latest:
        raise PydanticCustomError(
            "date_out_of_range",
            "date out of range",
            {"earliest": f"{earliest:%d/%m/%Y}", "latest": f"{latest:%d/%m/%Y}"},
        )


def _plausible_day(value: date) -> date:
    _in_range(value)
    return value


def _past_day(value: date) -> date:
    _in_range(value, years_ahead=0)
    return value


def _plausible_moment(value: datetime) -> datetime:
    _in_range((value.astimezone(PARIS) if value.tzinfo else value).date())
    return value


_AS_DAY = BeforeValidator(partial(_written_as_date, _ISO_DAY, "date_type"))
_AS_MOMENT = BeforeValidator(partial(_written_as_date, _ISO_MOMENT, "datetime_type"))

# Every date a request may carry: written AAAA-MM-JJ, from EARLIEST_DAY to YEARS_AHEAD years
# from today (checked when the request is read: the limit moves with the clock).
Day = Annotated[date, _AS_DAY, AfterValidator(_plausible_day)]
# A day that has already come (a validation): not after today.
PastDay = Annotated[date, _AS_DAY, AfterValidator(_past_day)]
# An instant in the same range (ISO 8601), with its time zone or not as the field allows.
Moment = Annotated[datetime, _AS_MOMENT, AfterValidator(_plausible_moment)]
AwareMoment = Annotated[AwareDatetime, _AS_MOMENT, AfterValidator(_plausible_moment)]


_QUARTER = re.compile(r"([1-9]\d{3})-Q([1-4])")


def _plausible_quarter(value: str) -> str:
    # The shape is the field's pattern's business (it may run after this): the quarter's first
    # day in range, when there is one.
    found = _QUARTER.fullmatch(value)
    if found is not None:
        _in_range(date(int(found.group(1)), 3 * int(found.group(2)) - 2, 1))
    return value


# A quarter (``2026-Q3``) whose first day is a plausible date.
QuarterText = Annotated[str, AfterValidator(_plausible_quarter)]


# -- numbers ------------------------------------------------------------------------------------


def _not_boolean(value: Any) -> Any:
    # JSON's true and false are not 1 and 0: pydantic's lax mode would read them so.
    if isinstance(value, bool):
        raise PydanticCustomError("number_type", "number expected")
    return value


NotBoolean = BeforeValidator(_not_boolean)


# -- birth years ------------------------------------------------------------------------------

# Nobody the service helps was born before 1900, nor is younger than 14 (the youngest an
# apprenticeship or a work placement takes): a year outside is a typing error.
EARLIEST_BIRTH_YEAR = 1900
YOUNGEST_AGE = 14


def plausible_birth_year(value: int) -> int:
    """Schema validator: a birth year from 1900 to this year minus 14 (moves with the clock)."""
    latest = today().year - YOUNGEST_AGE
    if not EARLIEST_BIRTH_YEAR <= value <= latest:
        raise PydanticCustomError(
            "year_out_of_range",
            "year out of range",
            {"earliest": EARLIEST_BIRTH_YEAR, "latest": latest},
        )
    return value


# Statistics only (product.md): the person's birth year, when given.
BirthYear = Annotated[
    int,
    Field(
        ge=EARLIEST_BIRTH_YEAR,
        description="Statistiques seulement ; de 1900 à l'année en cours moins 14.",
    ),
    NotBoolean,
    AfterValidator(plausible_birth_year),
]


CONSENT_REQUIRED = (
    "consentement obligatoire : sans la phrase « En déposant mon CV, j'autorise… » acceptée, "
    "personne ne peut rappeler la personne, et rien n'est enregistré"
)


class FieldError(BaseModel):
    loc: list[str | int] = Field(
        description="Où est l'erreur : `body`, `query`, `path` ou `header`, puis le chemin du "
        "champ (noms et positions dans les listes)."
    )
    message: str = Field(description="L'erreur en français, sans la valeur envoyée.")
    type: str = Field(
        description="Sorte d'erreur, stable (`missing`, `string_too_long`, `invalid`…)."
    )

    @classmethod
    def of_body(cls, field: str, message: str, kind: str = "invalid") -> FieldError:
        """An error on a field of the request body (a rule's, found after the fields parsed)."""
        return cls(loc=["body", field], message=message, type=kind)


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
    "number_type": _NUMBER,
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
    "date_out_of_range": "date hors de la plage acceptée (du {earliest} au {latest})",
    "date_future": "la date doit être dans le futur",
    "year_out_of_range": "année hors de la plage acceptée (de {earliest} à {latest})",
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


# -- every error of a request at once ---------------------------------------------------------

Model = TypeVar("Model", bound=BaseModel)


def merge_errors(first: Sequence[FieldError], then: Sequence[FieldError]) -> list[FieldError]:
    """``first``, then those of ``then`` about fields ``first`` says nothing of (a field refused
    as sent is not also reported by a rule that read it as missing)."""
    seen = {tuple(error.loc) for error in first}
    return [*first, *(error for error in then if tuple(error.loc) not in seen)]


def validate_partly(model: type[Model], raw: Any) -> tuple[Model | None, list[FieldError]]:
    """``raw`` (a JSON document as bytes, or Python values) as ``model``; every error of its
    fields.

    When some fields are refused, the others are read again without them, so that the rules
    across fields (references, dates in order…) can still be checked and their errors reported
    with these in one answer. ``None`` when that is not possible (not an object, a rule of the
    whole model, a required field refused).
    """
    try:
        if isinstance(raw, bytes):
            return model.model_validate_json(raw), []
        return model.model_validate(raw), []
    except ValidationError as exc:
        errors = exc.errors()
    found = french_errors(errors)
    data = raw
    if isinstance(raw, bytes):
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None, found
    refused = {error["loc"][0] if error["loc"] else None for error in errors}
    if not isinstance(data, dict) or None in refused:
        return None, found
    rest = {name: value for name, value in data.items() if name not in refused}
    try:
        return model.model_validate(rest), found
    except ValidationError:
        return None, found
