"""Import France Travail's ROME v4 files (the ``unix_*_utf8.csv`` open-data exports)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from services.core.models import RomeAppellation, RomeDomaine, RomeFiche, RomeGrandDomaine
from services.core.referentials.files import (
    ProgressCallback,
    ReferenceDataError,
    files_digest,
    no_progress,
    read_csv,
    require_directory,
    row_error,
)
from services.core.referentials.store import (
    DatasetKind,
    ImportSummary,
    lock_kind,
    record_dataset,
    sync_rows,
    table_of,
)

_GRAND_DOMAINE = re.compile(r"[A-Z]")
_DOMAINE = re.compile(r"[A-Z]\d{2}")
_FICHE = re.compile(r"[A-Z]\d{4}")
_OGR = re.compile(r"\d{1,10}")
_FILE_VERSION = re.compile(r"_v(\d+)_")


class GrandDomaineRow(NamedTuple):
    code: str
    label: str


class DomaineRow(NamedTuple):
    code: str
    label: str
    grand_domaine_code: str


class FicheRow(NamedTuple):
    code: str
    label: str
    domaine_code: str
    parent_code: str | None


class AppellationRow(NamedTuple):
    code: str
    label: str
    short_label: str
    rome_code: str


@dataclass(frozen=True, slots=True)
class RomeFiles:
    grands_domaines: Path
    domaines: Path
    fiches: Path
    appellations: Path

    @classmethod
    def find(cls, directory: Path) -> RomeFiles:
        """The newest edition of each file in ``directory`` (``…_v460_utf8.csv`` beats ``v458``)."""
        require_directory(directory)
        return cls(
            grands_domaines=_newest(directory, "unix_grand_domaine_v*_utf8.csv"),
            domaines=_newest(directory, "unix_domaine_professionnel_v*_utf8.csv"),
            fiches=_newest(directory, "unix_referentiel_code_rome_v*_utf8.csv"),
            appellations=_newest(directory, "unix_referentiel_appellation_v*_utf8.csv"),
        )

    def all(self) -> list[Path]:
        return [self.grands_domaines, self.domaines, self.fiches, self.appellations]

    def label(self) -> str | None:
        found = _FILE_VERSION.search(self.fiches.name)
        return f"v{found.group(1)}" if found else None


@dataclass(frozen=True, slots=True)
class RomeData:
    grands_domaines: list[GrandDomaineRow]
    domaines: list[DomaineRow]
    fiches: list[FicheRow]
    appellations: list[AppellationRow]


def _newest(directory: Path, pattern: str) -> Path:
    found = sorted(directory.glob(pattern), key=_file_version)
    if not found:
        raise ReferenceDataError(f"{directory} : fichier ROME introuvable ({pattern})")
    return found[-1]


def _file_version(path: Path) -> tuple[int, str]:
    found = _FILE_VERSION.search(path.name)
    return (int(found.group(1)) if found else -1, path.name)


def _code(path: Path, line: int, value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(value):
        raise row_error(path, line, f"{what} invalide : « {value} »")
    return value


def _label(path: Path, line: int, value: str) -> str:
    if not value:
        raise row_error(path, line, "libellé vide")
    return value[:255]


_Row = TypeVar("_Row", GrandDomaineRow, DomaineRow, FicheRow, AppellationRow)


def _unique(path: Path, rows: list[tuple[int, _Row]]) -> list[_Row]:
    seen: set[str] = set()
    for line, row in rows:
        code = row.code
        if code in seen:
            raise row_error(path, line, f"code en double : « {code} »")
        seen.add(code)
    return [row for _, row in rows]


def _grands_domaines(path: Path) -> list[GrandDomaineRow]:
    rows: list[tuple[int, GrandDomaineRow]] = []
    for line, (code, label) in read_csv(path, ("code_grand_domaine", "libelle_grand_domaine")):
        _code(path, line, code, _GRAND_DOMAINE, "code grand domaine")
        rows.append((line, GrandDomaineRow(code, _label(path, line, label))))
    return _unique(path, rows)


def _domaines(path: Path, grands_domaines: set[str]) -> list[DomaineRow]:
    rows: list[tuple[int, DomaineRow]] = []
    columns = ("code_domaine_professionnel", "libelle_domaine_professionnel")
    for line, (code, label) in read_csv(path, columns):
        _code(path, line, code, _DOMAINE, "code domaine")
        if code[0] not in grands_domaines:
            raise row_error(path, line, f"grand domaine inconnu pour « {code} »")
        rows.append((line, DomaineRow(code, _label(path, line, label), code[0])))
    return _unique(path, rows)


def _fiches(path: Path, domaines: set[str]) -> list[FicheRow]:
    rows: list[tuple[int, FicheRow]] = []
    columns = ("code_rome", "libelle_rome", "code_rome_parent")
    for line, (code, label, parent) in read_csv(path, columns):
        _code(path, line, code, _FICHE, "code ROME")
        if code[:3] not in domaines:
            raise row_error(path, line, f"domaine professionnel inconnu pour « {code} »")
        if parent:
            _code(path, line, parent, _FICHE, "code ROME parent")
        rows.append((line, FicheRow(code, _label(path, line, label), code[:3], parent or None)))
    return _unique(path, rows)


def _appellations(path: Path, fiches: set[str]) -> list[AppellationRow]:
    rows: list[tuple[int, AppellationRow]] = []
    columns = ("code_ogr", "libelle_appellation_long", "libelle_appellation_court", "code_rome")
    for line, (code, label, short_label, rome_code) in read_csv(path, columns):
        _code(path, line, code, _OGR, "code OGR")
        if rome_code not in fiches:
            raise row_error(path, line, f"code ROME inconnu : « {rome_code} »")
        label = _label(path, line, label)
        rows.append((line, AppellationRow(code, label, short_label[:255] or label, rome_code)))
    return _unique(path, rows)


def parse_rome(files: RomeFiles) -> RomeData:
    """Read and cross-check the four files: every code must point at an existing parent."""
    grands_domaines = _grands_domaines(files.grands_domaines)
    domaines = _domaines(files.domaines, {row.code for row in grands_domaines})
    fiches = _fiches(files.fiches, {row.code for row in domaines})
    appellations = _appellations(files.appellations, {row.code for row in fiches})
    return RomeData(grands_domaines, domaines, fiches, appellations)


async def import_rome(
    session: AsyncSession,
    directory: Path,
    *,
    progress: ProgressCallback = no_progress,
    label: str | None = None,
) -> ImportSummary:
    """Import the four ROME files found in ``directory``, in the caller's transaction."""
    files = RomeFiles.find(directory)
    data = await asyncio.to_thread(parse_rome, files)
    version = await asyncio.to_thread(files_digest, files.all())
    await lock_kind(session, DatasetKind.ROME)
    changed = removed = 0
    steps: tuple[tuple[str, type[SQLModel], tuple[str, ...], Sequence[tuple[Any, ...]]], ...] = (
        ("Grands domaines ROME", RomeGrandDomaine, GrandDomaineRow._fields, data.grands_domaines),
        ("Domaines professionnels ROME", RomeDomaine, DomaineRow._fields, data.domaines),
        ("Fiches ROME", RomeFiche, FicheRow._fields, data.fiches),
        ("Appellations ROME", RomeAppellation, AppellationRow._fields, data.appellations),
    )
    for step, model, columns, rows in steps:
        result = await sync_rows(
            session, table_of(model), ("code",), columns, rows, step=step, progress=progress
        )
        changed += result.changed
        removed += result.removed
    summary = ImportSummary(
        kind=DatasetKind.ROME,
        version=version,
        label=label or files.label(),
        source=", ".join(path.name for path in files.all()),
        counts={
            "grands domaines": len(data.grands_domaines),
            "domaines professionnels": len(data.domaines),
            "fiches": len(data.fiches),
            "appellations": len(data.appellations),
        },
        changed=changed,
        removed=removed,
    )
    await record_dataset(session, summary)
    return summary
