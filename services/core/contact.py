"""Normalised contact details: how a person is found again (product.md §4.1).

A phone number becomes E.164. Numbers keyed the French way (``06 12 34 56 78``) are read as
metropolitan first, then as an overseas number (``0692 12 34 56`` is Réunion, ``+262692123456``),
since a borne in Saint-Denis de La Réunion receives local numbers without their prefix. An e-mail
address is checked for its syntax (no DNS look-up) and compared in lower case.

Errors carry a French message and never the value.
"""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

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


class InvalidContact(ValueError):
    """A phone number or e-mail address that cannot be read; the message is French."""


def normalise_phone(value: str) -> str:
    """The E.164 form of ``value`` (``+33612345678``); :class:`InvalidContact` otherwise."""
    text = value.strip()
    if not text or len(text) > 40:
        raise InvalidContact(INVALID_PHONE)
    if text.startswith("00"):
        text = "+" + text[2:]
    for region in PHONE_REGIONS:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            raise InvalidContact(INVALID_PHONE) from None
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if text.startswith("+"):
            break  # an international number does not depend on the region
    raise InvalidContact(INVALID_PHONE)


def normalise_email(value: str) -> str:
    """The address in lower case, its syntax checked (no DNS); :class:`InvalidContact` otherwise."""
    text = value.strip()
    if not text or len(text) > 254:
        raise InvalidContact(INVALID_EMAIL)
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidContact(INVALID_EMAIL) from None
    return result.normalized.lower()
