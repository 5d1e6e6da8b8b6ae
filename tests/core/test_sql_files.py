"""The code the database runs is the text of the ``.sql`` files in the package (decision 0068).

A fresh database is migrated to head. Its functions and triggers are then dropped, inside a
transaction, and made again from the files alone: every definition must come back identical
(``pg_get_functiondef`` / ``pg_get_triggerdef``: the header as PostgreSQL normalises it —
arguments, result, language, volatility, settings — and the body verbatim), none may be missing
(a function without a file) and none may be added (a file for nothing in the database). The
transaction is rolled back. Then the last migration is taken down and up again: the functions
and triggers at the previous head are those of a database migrated straight to it, and those at
head come back unchanged.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import secrets
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from alembic import command
from alembic.script import ScriptDirectory

import services
from services.core.migrate import alembic_config, upgrade

SERVICES = Path(services.__file__).resolve().parent
SQL_FILES = sorted(SERVICES.rglob("sql/*.sql"))

# Every routine outside the system schemas and not owned by an extension; aggregates have no
# pg_get_functiondef, and are named instead.
_ROUTINES = """
SELECT p.oid::regprocedure::text AS key, p.prokind::text AS kind,
       CASE WHEN p.prokind = 'a' THEN 'aggregate' ELSE pg_get_functiondef(p.oid) END AS definition
FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND NOT EXISTS (
    SELECT 1 FROM pg_depend AS d
    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  )
ORDER BY 1
"""
_TRIGGERS = """
SELECT format('%s ON %s', quote_ident(t.tgname), t.tgrelid::regclass) AS key,
       pg_get_triggerdef(t.oid) AS definition
FROM pg_trigger AS t WHERE NOT t.tgisinternal ORDER BY 1
"""
_DROP = {"f": "FUNCTION", "p": "PROCEDURE", "a": "AGGREGATE", "w": "FUNCTION"}


@dataclass(frozen=True)
class Code:
    """The functions and triggers of a database, by signature / by ``name ON table``."""

    routines: dict[str, str]
    triggers: dict[str, str]


async def _code(connection: asyncpg.Connection) -> Code:
    return Code(
        routines={r["key"]: r["definition"] for r in await connection.fetch(_ROUTINES)},
        triggers={r["key"]: r["definition"] for r in await connection.fetch(_TRIGGERS)},
    )


def _differences(expected: dict[str, str], found: dict[str, str]) -> list[str]:
    lines: list[str] = []
    for key in sorted(expected.keys() & found.keys()):
        if expected[key] != found[key]:
            lines += difflib.unified_diff(
                expected[key].splitlines(), found[key].splitlines(), key, "from the files", n=1
            )
    return lines


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class Scratch:
    """A database created on the server for the block, dropped after it."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.name = f"maillon_sqlfiles_{os.getpid()}_{secrets.token_hex(3)}"

    async def __aenter__(self) -> str:
        admin = await asyncpg.connect(_dsn(self.server))
        try:
            await admin.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await admin.close()
        return _with_database(self.server, self.name)

    async def __aexit__(self, *_: object) -> None:
        admin = await asyncpg.connect(_dsn(self.server))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()


def _heads(url: str) -> tuple[str, str]:
    """The head revision and the one before it."""
    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_revision("head")
    assert head is not None and isinstance(head.down_revision, str)
    return head.revision, head.down_revision


async def _code_of(url: str) -> Code:
    connection = await asyncpg.connect(_dsn(url))
    try:
        return await _code(connection)
    finally:
        await connection.close()


@pytest.fixture(scope="module")
async def migrated(server_database_url: str) -> AsyncIterator[str]:
    """A database of its own, migrated to head (the tests take it down and up)."""
    async with Scratch(server_database_url) as url:
        await asyncio.to_thread(upgrade, url)
        yield url


def test_the_files_are_found_and_ship_in_the_distribution() -> None:
    assert SQL_FILES, f"no sql/*.sql under {SERVICES}"
    names = [path.stem for path in SQL_FILES]
    assert len(names) == len(set(names)), "two files of the same name"
    # An installed wheel has them: ``sql/`` folders are namespace packages (the default of
    # ``packages.find`` in pyproject.toml) whose ``*.sql`` files are package data.
    setuptools = tomllib.loads((SERVICES.parent / "pyproject.toml").read_text())["tool"][
        "setuptools"
    ]
    assert setuptools["packages"]["find"].get("namespaces", True)
    assert "*.sql" in setuptools["package-data"]["*"]


async def test_every_function_and_trigger_is_the_text_of_its_file(migrated: str) -> None:
    connection = await asyncpg.connect(_dsn(migrated))
    try:
        in_database = await _code(connection)
        transaction = connection.transaction()
        await transaction.start()
        try:
            for key in in_database.triggers:
                await connection.execute(f"DROP TRIGGER {key}")
            kinds = {r["key"]: r["kind"] for r in await connection.fetch(_ROUTINES)}
            for key, kind in kinds.items():
                await connection.execute(f"DROP {_DROP[kind]} {key}")
            assert await _code(connection) == Code({}, {})
            for path in SQL_FILES:
                before = await _code(connection)
                await connection.execute(path.read_text(encoding="utf-8"))
                after = await _code(connection)
                made = sorted(after.routines.keys() - before.routines.keys())
                replaced = [k for k in before.routines if before.routines[k] != after.routines[k]]
                # One file per function, named after it (its triggers beside it).
                assert not replaced, (
                    f"{path.name} defines again {replaced}, defined by another file"
                )
                assert [k.split("(")[0] for k in made] == [path.stem], (
                    f"{path.name} must define exactly the function {path.stem}, made {made}"
                )
            from_files = await _code(connection)
        finally:
            await transaction.rollback()
    finally:
        await connection.close()

    assert sorted(in_database.routines.keys() - from_files.routines.keys()) == [], (
        "functions of the database without a .sql file"
    )
    assert sorted(from_files.routines.keys() - in_database.routines.keys()) == [], (
        ".sql files defining functions the migrations do not install"
    )
    assert _differences(in_database.routines, from_files.routines) == [], (
        "the migrated database and these files differ: write a migration embedding the file's text"
    )
    assert sorted(in_database.triggers.keys() ^ from_files.triggers.keys()) == [], (
        "triggers of the database and of the files differ"
    )
    assert _differences(in_database.triggers, from_files.triggers) == []


async def test_the_last_migration_down_and_up_leaves_the_same_functions(
    migrated: str, server_database_url: str
) -> None:
    head, previous = _heads(migrated)
    at_head = await _code_of(migrated)
    await asyncio.to_thread(command.downgrade, alembic_config(migrated), previous)
    taken_down = await _code_of(migrated)
    async with Scratch(server_database_url) as straight:
        await asyncio.to_thread(upgrade, straight, previous)
        at_previous = await _code_of(straight)
    assert _differences(at_previous.routines, taken_down.routines) == []
    assert _differences(at_previous.triggers, taken_down.triggers) == []
    assert taken_down == at_previous, f"the downgrade of {head} does not restore {previous}"
    await asyncio.to_thread(upgrade, migrated, head)
    assert await _code_of(migrated) == at_head
