"""Reading reference files: the error people see, CSV headers, content hashes, progress."""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol


class ReferenceDataError(Exception):
    """A reference file is missing or not in the expected format.

    The message is in French, names the file (and line), and is meant to be shown as is.
    """


class ProgressCallback(Protocol):
    def __call__(self, step: str, done: int, total: int) -> None:
        """``done`` rows of ``total`` written for ``step`` (a French label, e.g. "Communes")."""
        ...


def no_progress(step: str, done: int, total: int) -> None:
    return None


def require_file(path: Path) -> Path:
    if not path.is_file():
        raise ReferenceDataError(f"fichier introuvable : {path}")
    return path


def require_directory(path: Path) -> Path:
    if not path.is_dir():
        raise ReferenceDataError(f"dossier introuvable : {path}")
    return path


def row_error(path: Path, line: int, message: str) -> ReferenceDataError:
    return ReferenceDataError(f"{path.name}, ligne {line} : {message}")


def read_csv(path: Path, columns: Sequence[str]) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line number, values of columns)`` for each data line, values stripped.

    The header must hold every one of ``columns``, in any order; extra columns are ignored, so
    newer editions of the same file are accepted. A UTF-8 BOM is tolerated (spreadsheet exports
    add one).
    """
    require_file(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            missing = [column for column in columns if column not in header]
            if missing:
                raise ReferenceDataError(
                    f"{path.name} : en-tête inattendu, colonne(s) manquante(s) : "
                    f"{', '.join(missing)} (en-tête attendu : {','.join(columns)} ; "
                    f"lu : {','.join(header) or 'rien'})"
                )
            positions = [header.index(column) for column in columns]
            width = max(positions) + 1
            for values in reader:
                if not values:
                    continue
                if len(values) < width:
                    raise row_error(path, reader.line_num, "colonnes manquantes")
                yield reader.line_num, [values[i].strip() for i in positions]
    except UnicodeDecodeError as error:
        raise ReferenceDataError(f"{path.name} : le fichier n'est pas encodé en UTF-8") from error
    except csv.Error as error:
        raise ReferenceDataError(f"{path.name} : fichier CSV illisible ({error})") from error


def files_digest(paths: Sequence[Path]) -> str:
    """SHA-256 over the contents of ``paths`` in the given order: the version of a dataset."""
    if len(paths) == 1:
        return _sha256(paths[0])
    combined = hashlib.sha256()
    for path in paths:
        combined.update(bytes.fromhex(_sha256(path)))
    return combined.hexdigest()


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def year_in_name(path: Path) -> str | None:
    """The edition year in a file name (``qpv2024.geojson`` → ``"2024"``), if there is one."""
    found = re.search(r"(?<!\d)(20\d{2})(?!\d)", path.name)
    return found.group(1) if found else None
