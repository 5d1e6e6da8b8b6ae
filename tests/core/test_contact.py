"""Contact details: the fast readings of French mobiles and plain e-mail addresses give exactly
the general libraries' answers (phonenumbers, email_validator)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.core import contact
from services.core.contact import (
    INVALID_PHONE,
    LANDLINE,
    NOT_A_MOBILE,
    InvalidContact,
    normalise_mobile,
    normalise_phone,
)


def _general(text: str) -> str | None:
    """The general path alone (phonenumbers, region by region), as without the fast path."""
    return contact._any_phone(text.strip())


_national = st.text(alphabet="0123456789", min_size=8, max_size=10).map(
    lambda digits: "6" + digits if len(digits) % 2 else "7" + digits
)
_prefix = st.sampled_from(["0", "+33", "0033", "+33 ", "0033 "])
_separator = st.sampled_from(["", " ", ".", "-"])


@settings(max_examples=3000, deadline=None)
@given(national=_national, prefix=_prefix, separator=_separator)
def test_the_fast_reading_agrees_with_phonenumbers(
    national: str, prefix: str, separator: str
) -> None:
    keyed = prefix + separator.join(national[i : i + 2] for i in range(0, len(national), 2))
    fast = contact._french_mobile(keyed)
    if fast is not None:
        assert fast == _general(keyed), keyed
    try:
        answer: str | None = normalise_phone(keyed)
    except InvalidContact:
        answer = None
    assert answer == _general(keyed), keyed


@pytest.mark.parametrize(
    ("keyed", "fast"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("0612345678", "+33612345678"),
        ("+33 7 81 23 45 67", "+33781234567"),
        ("0692 12 34 56", None),  # La Réunion: the general path (+262…)
        ("0690 12 34 56", None),  # Guadeloupe
        ("01 23 45 67 89", None),  # a fixed line
        ("06 12 34 56 7８", None),  # a full-width digit
    ],
)
def test_which_numbers_take_the_fast_reading(keyed: str, fast: str | None) -> None:
    assert contact._french_mobile(keyed) == fast
    expected = _general(keyed)
    if expected is None:
        with pytest.raises(InvalidContact):
            normalise_phone(keyed)
    else:
        assert normalise_phone(keyed) == expected


def _email_general(text: str) -> str | None:
    """email_validator's reading alone, as without the fast path."""
    try:
        return contact._any_email(text.strip())
    except InvalidContact:
        return None


# Mostly the characters of plain addresses (the fast path), some others (email_validator's).
_local_part = st.text(alphabet="abcXYZ019._%+-", min_size=1, max_size=70) | st.text(
    alphabet="abcXYZ019._%+-'!é", min_size=1, max_size=70
)
_label = st.text(alphabet="abcXYZ019-", min_size=1, max_size=66) | st.text(
    alphabet="abcXYZ019-é_", min_size=1, max_size=66
)
_domain = st.lists(_label, min_size=1, max_size=4).map(".".join)
_tld = st.sampled_from(["fr", "FR", "com", "org", "re", "test", "local", "x1", "c", "onion"])


@settings(max_examples=3000, deadline=None)
@given(local=_local_part, domain=_domain, tld=_tld, dotted=st.booleans())
def test_the_fast_email_reading_agrees_with_email_validator(
    local: str, domain: str, tld: str, dotted: bool
) -> None:
    address = f"{local}@{domain}.{tld}" if dotted else f"{local}@{domain}"
    fast = contact._plain_email(address)
    if fast is not None:
        assert fast == _email_general(address), address
    try:
        answer: str | None = contact.normalise_email(address)
    except InvalidContact:
        answer = None
    assert answer == _email_general(address), address


@pytest.mark.parametrize(
    ("keyed", "fast"),
    [
        ("Awa.Diallo@Exemple.fr", "awa.diallo@exemple.fr"),
        ("awa+borne@mail.exemple.org", "awa+borne@mail.exemple.org"),
        ("awa..diallo@exemple.fr", None),  # refused by email_validator
        ("awa@exemple.test", None),  # a special-use domain: refused by email_validator
        ("aïcha@exemple.fr", None),  # internationalised: email_validator's path
    ],
)
def test_which_addresses_take_the_fast_reading(keyed: str, fast: str | None) -> None:
    assert contact._plain_email(keyed) == fast
    expected = _email_general(keyed)
    if expected is None:
        with pytest.raises(InvalidContact):
            contact.normalise_email(keyed)
    else:
        assert contact.normalise_email(keyed) == expected


@pytest.mark.parametrize(
    ("keyed", "e164"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("+33 7 81 22 33 44", "+33781223344"),
        ("0692 12 34 56", "+262692123456"),  # Réunion, keyed without its prefix
        ("+44 7911 123456", "+447911123456"),
    ],
)
def test_a_mobile_field_takes_mobiles(keyed: str, e164: str) -> None:
    assert normalise_mobile(keyed) == e164


@pytest.mark.parametrize(
    ("keyed", "message"),
    [
        ("01 42 68 53 00", LANDLINE),
        ("0262 21 21 21", LANDLINE),  # a Réunion landline
        ("09 70 12 34 56", NOT_A_MOBILE),
        ("08 00 12 34 56", NOT_A_MOBILE),
        ("12AB", INVALID_PHONE),
    ],
)
def test_a_mobile_field_says_why_it_refuses_a_number(keyed: str, message: str) -> None:
    with pytest.raises(InvalidContact) as refused:
        normalise_mobile(keyed)
    assert str(refused.value) == message
    assert normalise_phone("01 42 68 53 00") == "+33142685300"  # any number elsewhere
