"""Load every kind of reference data from a directory laid out like the project's ``data/``.

::

    rome/unix_*_utf8.csv
    communes/communes.csv
    communes/postal_codes.csv
    qpv/<geography>.geojson      (e.g. qpv2024.geojson; the newest year wins)

``maillon up`` calls :func:`load_reference_data`: kinds already imported are left alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.db import SessionMaker, unit_of_work
from services.core.referentials.communes_import import import_communes
from services.core.referentials.files import (
    ProgressCallback,
    ReferenceDataError,
    no_progress,
    require_directory,
    year_in_name,
)
from services.core.referentials.qpv_import import import_qpv
from services.core.referentials.rome_import import import_rome
from services.core.referentials.store import (
    DatasetKind,
    ImportSummary,
    current_dataset,
    lock_kind,
    reference_data_status,
)

__all__ = [
    "DatasetKind",
    "ImportSummary",
    "ReferenceDataError",
    "import_communes",
    "import_qpv",
    "import_rome",
    "load_reference_data",
    "missing_reference_data",
    "reference_data_status",
]

_Importer = Callable[[AsyncSession, Path, ProgressCallback], Awaitable[ImportSummary]]


def newest_qpv_file(directory: Path) -> Path:
    require_directory(directory)
    found = sorted(directory.glob("*.geojson"), key=lambda p: (year_in_name(p) or "", p.name))
    if not found:
        raise ReferenceDataError(f"{directory} : aucun fichier .geojson de QPV")
    return found[-1]


async def _rome(session: AsyncSession, data_dir: Path, progress: ProgressCallback) -> ImportSummary:
    return await import_rome(session, data_dir / "rome", progress=progress)


async def _communes(
    session: AsyncSession, data_dir: Path, progress: ProgressCallback
) -> ImportSummary:
    directory = require_directory(data_dir / "communes")
    return await import_communes(
        session, directory / "communes.csv", directory / "postal_codes.csv", progress=progress
    )


async def _qpv(session: AsyncSession, data_dir: Path, progress: ProgressCallback) -> ImportSummary:
    return await import_qpv(session, newest_qpv_file(data_dir / "qpv"), progress=progress)


_IMPORTERS: dict[DatasetKind, _Importer] = {
    DatasetKind.ROME: _rome,
    DatasetKind.COMMUNES: _communes,
    DatasetKind.QPV: _qpv,
}


async def missing_reference_data(sessionmaker: SessionMaker) -> list[DatasetKind]:
    """The kinds never imported so far."""
    async with sessionmaker() as session:
        status = await reference_data_status(session)
    return [kind for kind, loaded in status.items() if not loaded]


async def load_reference_data(
    sessionmaker: SessionMaker,
    data_dir: Path,
    *,
    kinds: Collection[DatasetKind] | None = None,
    progress: ProgressCallback = no_progress,
) -> list[ImportSummary]:
    """Import each kind (of ``kinds``, default all) not imported yet; return what was imported.

    One transaction per kind. Safe to run from several processes at once: the per-kind lock
    makes the others wait, then see the kind as loaded.
    """
    require_directory(data_dir)
    imported: list[ImportSummary] = []
    for kind, importer in _IMPORTERS.items():
        if kinds is not None and kind not in kinds:
            continue
        async with unit_of_work(sessionmaker) as session:
            await lock_kind(session, kind)
            if await current_dataset(session, kind) is not None:
                continue
            imported.append(await importer(session, data_dir, progress))
    return imported
