"""The queries of ``progress.sql``, by name (each starts with a ``-- name:`` line), with the
scope's attributions (``{in_scope}``) written out for the scope at hand."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

from sqlalchemy import TextClause, text

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


@cache
def _queries() -> dict[str, str]:
    source = files("services.core.ledger").joinpath("progress.sql").read_text(encoding="utf-8")
    parts = _NAME.split(source)  # [preamble, name, body, name, body, …]
    bodies = (body.strip().rstrip(";") for body in parts[2::2])
    return dict(zip(parts[1::2], bodies, strict=True))


@cache
def query(name: str, *, lot: bool = False, company: bool = False) -> TextClause:
    """The query ``name`` for a scope narrowed (or not) to a lot and to a company."""
    queries = _queries()
    in_scope = "\n".join(
        queries[part]
        for part, wanted in (
            ("in_scope", True),
            ("in_scope_lot", lot),
            ("in_scope_company", company),
        )
        if wanted
    )
    return text(queries[name].replace("{ruled}", queries["ruled"]).replace("{in_scope}", in_scope))
