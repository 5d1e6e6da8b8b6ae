"""GSM 03.38 (GSM-7) text for SMS: what fits, and in how many segments."""

from __future__ import annotations

import unicodedata

BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = set("^{}\\[~]|€\f")

SINGLE_SEGMENT_SEPTETS = 160
MULTIPART_SEGMENT_SEPTETS = 153

_REPLACEMENTS = {
    "’": "'",
    "‘": "'",
    "«": '"',
    "»": '"',
    "“": '"',
    "”": '"',
    "–": "-",
    "—": "-",
    "…": "...",
    "\u00a0": " ",
    "\u202f": " ",
    "ç": "Ç",  # GSM-7 has only the capital; phones show it as is
}


def to_gsm7(text: str) -> str:
    """``text`` in the GSM-7 alphabet: typographic signs simplified, accents the alphabet lacks
    removed (ê → e), anything else replaced by ``?``."""
    out: list[str] = []
    for char in text:
        if char in BASIC or char in EXTENSION:
            out.append(char)
            continue
        if char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
            continue
        stripped = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(stripped if stripped and all(c in BASIC for c in stripped) else "?")
    return "".join(out)


def is_gsm7(text: str) -> bool:
    return all(c in BASIC or c in EXTENSION for c in text)


def septets(text: str) -> int:
    return sum(2 if c in EXTENSION else 1 for c in text)


def segments(text: str) -> int:
    """Number of SMS segments ``text`` (GSM-7) takes."""
    length = septets(text)
    if length <= SINGLE_SEGMENT_SEPTETS:
        return 1
    return -(-length // MULTIPART_SEGMENT_SEPTETS)
