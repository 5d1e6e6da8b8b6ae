"""Normalised contact details: how a person is found again (product.md §4.1).

A phone number becomes E.164. Numbers keyed the French way (``06 12 34 56 78``) are read as
metropolitan first, then as an overseas number (``0692 12 34 56`` is Réunion, ``+262692123456``),
since a borne in Saint-Denis de La Réunion receives local numbers without their prefix. An e-mail
address is checked for its syntax (no DNS look-up) and compared in lower case.

Errors carry a French message and never the value.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

# Metropolitan France, then the overseas regions with their own country calling code.
PHONE_REGIONS: tuple[str, ...] = (
    "FR",
    "RE",  # La Réunion (+262)
    "YT",  # Mayotte (+262)
    "GP",  # Guadeloupe (+590)
    "BL",  # Saint-Barthélemy (+590)
    "MF",  # Saint-Martin (+590)
    "MQ",  # Martinique (+596)
    "GF",  # Guyane (+594)
    "PM",  # Saint-Pierre-et-Miquelon (+508)
    "NC",  # Nouvelle-Calédonie (+687)
    "PF",  # Polynésie française (+689)
    "WF",  # Wallis-et-Futuna (+681)
)

INVALID_PHONE = (
    "numéro de téléphone invalide (10 chiffres, ou indicatif international précédé de +)"
)
INVALID_EMAIL = "adresse e-mail invalide"
LANDLINE = (
    "ce numéro est celui d'un téléphone fixe : un numéro de portable est attendu "
    "(06 ou 07, ou un portable d'outre-mer)"
)
NOT_A_MOBILE = (
    "ce numéro n'est pas celui d'un portable (numéro spécial ou de box internet) : un numéro "
    "de portable est attendu"
)
# What a mobile field accepts: mobiles, and the numbers a region does not tell from them.
_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


class InvalidContact(ValueError):
    """A phone number or e-mail address that cannot be read; the message is French."""


# Most numbers on a borne form are French mobiles: ``06 12 34 56 78``, ``0612345678``,
# ``+33 6 12 34 56 78``. Those are read without phonenumbers' general machinery (a tenth of the
# cost), against phonenumbers' own pattern for French mobiles, so the answer is the one it gives;
# anything else takes the general path.
def _french_mobile_pattern() -> re.Pattern[str]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("FR")
    pattern = metadata.mobile.national_number_pattern if metadata and metadata.mobile else None
    if not isinstance(pattern, str):
        raise RuntimeError("phonenumbers has no pattern for French mobiles")
    return re.compile(pattern)


_FR_MOBILE = _french_mobile_pattern()
_SEPARATORS = str.maketrans("", "", " .-")


def _french_mobile(text: str) -> str | None:
    compact = text.translate(_SEPARATORS)
    if compact.startswith("+33"):
        national = compact[3:]
    elif compact.startswith("0033"):
        national = compact[4:]
    elif compact.startswith("0"):
        national = compact[1:]
    else:
        return None
    if len(national) == 9 and national.isascii() and _FR_MOBILE.fullmatch(national):
        return "+33" + national
    return None


def normalise_phone(value: str) -> str:
    """The E.164 form of ``value`` (``+33612345678``); :class:`InvalidContact` otherwise."""
    text = value.strip()
    if not text or len(text) > 40:
        raise InvalidContact(INVALID_PHONE)
    answer = _french_mobile(text) or _any_phone(text)
    if answer is None:
        raise InvalidContact(INVALID_PHONE)
    return answer


def normalise_mobile(value: str) -> str:
    """:func:`normalise_phone` for a field that asks for a mobile: a landline or a special
    number is refused with a message that says so."""
    text = value.strip()
    if text and len(text) <= 40 and (answer := _french_mobile(text)) is not None:
        return answer  # the common case, already known to be a mobile
    e164 = normalise_phone(value)
    kind = phonenumbers.number_type(phonenumbers.parse(e164))
    if kind in _MOBILE_TYPES:
        return e164
    raise InvalidContact(
        LANDLINE if kind is phonenumbers.PhoneNumberType.FIXED_LINE else NOT_A_MOBILE
    )


def _any_phone(text: str) -> str | None:
    """phonenumbers' reading, region by region (metropolitan France first)."""
    if text.startswith("00"):
        text = "+" + text[2:]
    for region in PHONE_REGIONS:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if text.startswith("+"):
            return None  # an international number does not depend on the region
    return None


def normalise_email(value: str) -> str:
    """The address in lower case, its syntax checked (no DNS); :class:`InvalidContact` otherwise."""
    text = value.strip()
    if not text or len(text) > 254:
        raise InvalidContact(INVALID_EMAIL)
    plain = _plain_email(text)
    if plain is not None:
        return plain
    return _any_email(text)


def email_key(value: str) -> str:
    """The address as :func:`normalise_email` stores it, or, when it is not a valid address, the
    text in lower case: the key a look-up (signing in) compares, never refusing what was typed.
    No stored address has an invalid form, so an invalid one simply matches nothing."""
    try:
        return normalise_email(value)
    except InvalidContact:
        return value.strip().lower()


# The plain ASCII addresses almost every form carries (``prenom.nom@exemple.fr``): letters,
# digits and ``_%+-`` in dot-separated parts, a domain of ordinary labels ending in a
# letters-only top-level label. email_validator accepts each of them as it is, and its
# normalised form in lower case is the address in lower case; reading them here skips its
# Unicode checks, a sixth of a millisecond an address. Anything else takes email_validator's
# own path (tests/core/test_contact.py compares the two).
_PLAIN_EMAIL = re.compile(
    r"(?=[^@]{1,64}@)[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@(?=.{4,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}",
    re.ASCII,
)
_SPECIAL_DOMAINS = tuple(SPECIAL_USE_DOMAIN_NAMES)


def _plain_email(text: str) -> str | None:
    if _PLAIN_EMAIL.fullmatch(text) is None:
        return None
    address = text.lower()
    domain = address.rpartition("@")[2]
    if "--" in domain:
        return None  # a label like "xn--…" (IDNA's reserved form): email_validator decides
    if any(domain == name or domain.endswith("." + name) for name in _SPECIAL_DOMAINS):
        return None  # refused by email_validator: its own message path
    return address


def _any_email(text: str) -> str:
    """email_validator's reading (any address, internationalised ones included)."""
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidContact(INVALID_EMAIL) from None
    return result.normalized.lower()
