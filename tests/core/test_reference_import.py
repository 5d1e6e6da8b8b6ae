"""Importing the real reference files: counts, idempotency, newer editions, French errors."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from services.core.db import create_sessionmaker
from services.core.models import (
    Commune,
    PostalCode,
    Qpv,
    ReferenceDataset,
    RomeAppellation,
    RomeDomaine,
    RomeFiche,
    RomeGrandDomaine,
)
from services.core.referentials.communes_import import import_communes
from services.core.referentials.files import ReferenceDataError
from services.core.referentials.loader import (
    ImportSummary,
    load_reference_data,
    missing_reference_data,
    reference_data_status,
)
from services.core.referentials.qpv_import import import_qpv
from services.core.referentials.rome_import import import_rome
from services.core.referentials.store import DatasetKind, current_dataset
from tests.conftest import SHARED_DATA

ROME = SHARED_DATA / "rome"
COMMUNES = SHARED_DATA / "communes" / "communes.csv"
POSTAL_CODES = SHARED_DATA / "communes" / "postal_codes.csv"
QPV = SHARED_DATA / "qpv" / "qpv2024.geojson"

EXPECTED_COUNTS = {
    RomeGrandDomaine: 14,
    RomeDomaine: 110,
    RomeFiche: 1584,
    RomeAppellation: 13120,
    Commune: 35014,
    PostalCode: 34964 + 529,  # one main code per commune, plus the alternates
    Qpv: 1584,
}

SOME_IDS = text(
    "SELECT (SELECT id FROM commune WHERE insee = '75056'),"
    " (SELECT id FROM qpv WHERE code = 'QN07511M'),"
    " (SELECT id FROM rome_fiche WHERE code = 'F1701')"
)

pytestmark = pytest.mark.usefixtures("reference_data")


async def _counts(session: AsyncSession) -> dict[type, int]:
    return {
        model: (await session.execute(select(func.count()).select_from(model))).scalar_one()
        for model in EXPECTED_COUNTS
    }


async def test_the_shared_files_are_loaded_with_their_versions(db_session: AsyncSession) -> None:
    assert await _counts(db_session) == EXPECTED_COUNTS
    assert await reference_data_status(db_session) == dict.fromkeys(DatasetKind, True)
    qpv = await current_dataset(db_session, DatasetKind.QPV)
    assert qpv is not None
    assert qpv.label == "2024"
    assert qpv.version == hashlib.sha256(QPV.read_bytes()).hexdigest()
    rome = await current_dataset(db_session, DatasetKind.ROME)
    assert rome is not None
    assert rome.label == "v460"


async def test_rows_keep_the_published_values(db_session: AsyncSession) -> None:
    fiche = (
        await db_session.execute(select(RomeFiche).where(col(RomeFiche.code) == "F1701"))
    ).scalar_one()
    assert (fiche.domaine_code, fiche.parent_code) == ("F17", "F1701")
    paris = (
        await db_session.execute(select(Commune).where(col(Commune.insee) == "75056"))
    ).scalar_one()
    assert (paris.name, paris.dept, paris.lon, paris.lat) == ("Paris", "75", 2.347, 48.8589)
    abergement = (
        await db_session.execute(select(Commune).where(col(Commune.insee) == "01001"))
    ).scalar_one()
    assert abergement.search_name == "l abergement clemenciat"
    lyon = (
        await db_session.execute(
            select(col(PostalCode.code), col(PostalCode.is_primary))
            .where(col(PostalCode.insee) == "69123")
            .order_by(col(PostalCode.code))
        )
    ).all()
    assert [tuple(row) for row in lyon] == [("69001", True)] + [
        (f"6900{n}", False) for n in range(2, 10)
    ]
    goutte_dor = (
        await db_session.execute(select(Qpv).where(col(Qpv.code) == "QN07511M"))
    ).scalar_one()
    assert goutte_dor.name == "Goutte D'Or"
    assert goutte_dor.insee_codes == ["75056"]
    assert goutte_dor.min_lon < 2.3535 < goutte_dor.max_lon
    assert goutte_dor.min_lat < 48.8865 < goutte_dor.max_lat


async def test_importing_the_same_files_again_changes_nothing(db_session: AsyncSession) -> None:
    before = await _counts(db_session)
    ids = (await db_session.execute(SOME_IDS)).one()
    summaries = [
        await import_rome(db_session, ROME),
        await import_communes(db_session, COMMUNES, POSTAL_CODES),
        await import_qpv(db_session, QPV),
    ]
    assert [(s.changed, s.removed) for s in summaries] == [(0, 0)] * 3
    assert await _counts(db_session) == before
    assert (await db_session.execute(SOME_IDS)).one() == ids
    # One dataset row per kind: the same files refresh it instead of adding one.
    datasets = (
        await db_session.execute(
            select(col(ReferenceDataset.kind), func.count()).group_by(col(ReferenceDataset.kind))
        )
    ).all()
    assert dict(datasets) == {"rome": 1, "communes": 1, "qpv": 1}


async def test_a_newer_edition_updates_adds_and_removes_rows(
    db_session: AsyncSession, tmp_path: Path
) -> None:
    for source in ROME.iterdir():
        shutil.copy(source, tmp_path / source.name.replace("v460", "v461"))
    appellations = tmp_path / "unix_referentiel_appellation_v461_utf8.csv"
    lines = appellations.read_text(encoding="utf-8").splitlines(keepends=True)
    removed_code = lines[1].split(",")[0].strip('"')
    header, rest = lines[0], lines[2:]
    # Newer files may carry a BOM and extra columns: both are accepted.
    appellations.write_text(
        "\ufeff"
        + header.rstrip("\n")
        + ',"nouvelle_colonne"\n'
        + "".join(line.rstrip("\n") + ',""\n' for line in rest)
        + '"99999999","Métier nouveau","Métier nouveau","F1701",'
        + '"","","","","","","","F1701","N",""\n',
        encoding="utf-8",
    )
    summary = await import_rome(db_session, tmp_path)

    assert summary.label == "v461"
    assert summary.source.endswith("unix_referentiel_appellation_v461_utf8.csv")
    assert (summary.changed, summary.removed) == (1, 1)
    codes = set((await db_session.execute(select(col(RomeAppellation.code)))).scalars())
    assert "99999999" in codes
    assert removed_code not in codes
    current = await current_dataset(db_session, DatasetKind.ROME)
    assert current is not None
    assert current.version == summary.version
    assert current.label == "v461"


async def test_a_wrong_header_is_reported_in_french(
    db_session: AsyncSession, tmp_path: Path
) -> None:
    communes = tmp_path / "communes.csv"
    communes.write_text("code,nom\n01001,L'Abergement\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError) as error:
        await import_communes(db_session, communes, POSTAL_CODES)
    assert str(error.value) == (
        "communes.csv : en-tête inattendu, colonne(s) manquante(s) : insee, dept, lon, lat, name "
        "(en-tête attendu : insee,dept,lon,lat,name ; lu : code,nom)"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "insee,dept,lon,lat,name\n1001,01,4.9,46.1,X\n",
            "communes.csv, ligne 2 : code INSEE invalide : « 1001 »",
        ),
        (
            "insee,dept,lon,lat,name\n01001,01,east,46.1,X\n",
            "communes.csv, ligne 2 : longitude invalide : « east »",
        ),
        (
            "insee,dept,lon,lat,name\n01001,01,4.9,146.1,X\n",
            "communes.csv, ligne 2 : latitude hors limites : « 146.1 »",
        ),
        ("insee,dept,lon,lat,name\n", "communes.csv : aucune commune dans le fichier"),
    ],
)
async def test_bad_rows_are_reported_with_their_line(
    db_session: AsyncSession, tmp_path: Path, content: str, message: str
) -> None:
    communes = tmp_path / "communes.csv"
    communes.write_text(content, encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=re.escape(message)):
        await import_communes(db_session, communes, POSTAL_CODES)


async def test_missing_files_are_reported_in_french(
    db_session: AsyncSession, tmp_path: Path
) -> None:
    with pytest.raises(ReferenceDataError, match=r"fichier introuvable : .*absent\.csv"):
        await import_communes(db_session, tmp_path / "absent.csv", POSTAL_CODES)
    with pytest.raises(ReferenceDataError, match=r"fichier ROME introuvable \(unix_grand_domaine"):
        await import_rome(db_session, tmp_path)
    with pytest.raises(ReferenceDataError, match="dossier introuvable"):
        await import_rome(db_session, tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"type": "Feature"}', "une FeatureCollection GeoJSON est attendue"),
        ("{not json", "GeoJSON illisible"),
        (
            '{"type": "FeatureCollection", "crs": {"type": "name", "properties": '
            '{"name": "urn:ogc:def:crs:EPSG::2154"}}, "features": []}',
            "doit être en WGS84",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", '
            '"properties": {"code_qp": "QN07511M"}, "geometry": null}]}',
            r"entité n° 1 : propriété\(s\) manquante\(s\) : lib_qp, insee_com",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
            '{"code_qp": "QN07511M", "lib_qp": "X", "insee_com": "75056"}, '
            '"geometry": {"type": "Polygon", "coordinates": [[[650000, 6860000], '
            "[651000, 6860000], [651000, 6861000], [650000, 6860000]]]}}]}",
            "coordonnées hors WGS84 pour QN07511M",
        ),
    ],
)
async def test_bad_qpv_files_are_reported_in_french(
    db_session: AsyncSession, tmp_path: Path, document: str, message: str
) -> None:
    geojson = tmp_path / "qpv.geojson"
    geojson.write_text(document, encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=message):
        await import_qpv(db_session, geojson)


async def test_load_reference_data_skips_what_is_loaded(engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(engine)
    assert await missing_reference_data(sessionmaker) == []
    loaded: list[ImportSummary] = await load_reference_data(sessionmaker, SHARED_DATA)
    assert loaded == []
