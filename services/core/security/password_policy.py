"""What a password may not be (decision 0055): the obvious ones an attacker tries first.

Refused, with a French reason: shorter than ``MIN_PASSWORD_LENGTH``; only spaces; digits only;
one character repeated; the account's e-mail address or the part before its ``@``; a common
password (``common_passwords.txt``, shipped with the package), also with digits or signs added at
its ends ("motdepasse2026!"), or only common words ("azerty azerty"). Checked wherever a password
is set: the users API and ``maillon admin create-user``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files

from services.core.security.passwords import MIN_PASSWORD_LENGTH

MAX_PASSWORD_LENGTH = 200

# Digits, spaces and signs people add to a word to pass a rule ("azerty123!", "soleil 2026").
_TAIL = re.compile(r"[\d\W_]+$")
_HEAD = re.compile(r"^[\d\W_]+")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = files("services.core.security").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def _core(password: str) -> str:
    """The word under the decorations: lower case, without digits or signs at either end."""
    return _TAIL.sub("", _HEAD.sub("", password.strip().lower()))


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why ``password`` is refused (a French sentence without the password), or ``None``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"le mot de passe doit compter au moins {MIN_PASSWORD_LENGTH} caractères"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"le mot de passe doit compter au plus {MAX_PASSWORD_LENGTH} caractères"
    stripped = password.strip()
    if not stripped:
        return "le mot de passe ne peut pas être fait que d'espaces"
    if stripped.isdigit():
        return "le mot de passe ne peut pas être fait que de chiffres"
    if len(set(stripped.lower())) <= 2:
        return "le mot de passe ne peut pas répéter un ou deux caractères"
    lowered = stripped.lower()
    core = _core(password)
    if email:
        address = email.strip().lower()
        local = address.partition("@")[0]
        if address in lowered or lowered in (address, local) or core in (address, local):
            return "le mot de passe ne peut pas reprendre l'adresse e-mail du compte"
    common = common_passwords()
    words = {_core(word) for word in lowered.split()} - {""}
    if (
        lowered in common
        or core in common
        or lowered.replace(" ", "") in common
        or (words and words <= common)  # "azerty azerty", "soleil bonjour"
    ):
        return "ce mot de passe est trop courant : choisissez-en un autre"
    return None
