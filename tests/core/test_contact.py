"""Phone numbers: the fast reading of French mobiles gives exactly phonenumbers' answer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.core import contact
from services.core.contact import InvalidContact, normalise_phone


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
