"""The queries of ``progress.sql``, by name (each starts with a ``-- name:`` line)."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

from sqlalchemy import TextClause, text

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


@cache
def _queries() -> dict[str, str]:
    source = files("services.core.ledger").joinpath("progress.sql").read_text(encoding="utf-8")
    parts = _NAME.split(source)
    # parts: [preamble, name, body, name, body, …]
    return {
        name: body.strip().rstrip(";") for name, body in zip(parts[1::2], parts[2::2], strict=True)
    }


def query(name: str) -> TextClause:
    return text(_queries()[name])
