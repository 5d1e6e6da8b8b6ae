"""The bulk import of candidates (decision 0019): real commits, real referentials."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from arq.connections import ArqRedis
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlmodel import col

from services.api.candidates.bulk.importer import ImportRefused, ImportReport, import_candidates
from services.api.candidates.bulk.rows import FileRefused
from services.core.db import SessionMaker, unit_of_work
from services.core.models.audit import AuditEntry
from services.core.models.candidate import Candidate, CandidateShare, ShareReason
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.outbox import OutboxEvent
from services.core.queue import create_queue_pool
from services.core.relay import relay_once
from services.matching.profiles import build_queued_profiles
from tests.factories import make_candidate, make_organisation

pytestmark = pytest.mark.usefixtures("reference_data")

HEADER = "first_name;last_name;phone;email;commune_insee;address;lon;lat;sectors_wanted;needs"


async def _organisation(sessionmaker: SessionMaker, **kwargs: Any) -> Organisation:
    async with unit_of_work(sessionmaker) as session:
        return await make_organisation(session, kind=OrganisationKind.MISSION_LOCALE, **kwargs)


async def _import(
    sessionmaker: SessionMaker, text: str, organisation: Organisation, workers: int = 0
) -> ImportReport:
    return await import_candidates(
        sessionmaker, [text.encode()], organisation.id, chunk_rows=2, workers=workers
    )


async def _candidates(sessionmaker: SessionMaker) -> list[Candidate]:
    async with sessionmaker() as session:
        query = select(Candidate).order_by(col(Candidate.search_name))
        return list(await session.scalars(query))


async def _events(sessionmaker: SessionMaker) -> list[tuple[str, str]]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(OutboxEvent).order_by(col(OutboxEvent.id)))
        return [(row.type, row.payload["candidate_id"]) for row in rows]


# Rows checked here, or in a worker process with its own QPV index.
@pytest.mark.parametrize("workers", [0, 1])
async def test_valid_rows_become_candidates_with_shares_events_and_audit(
    committing_sessionmaker: SessionMaker, workers: int
) -> None:
    organisation = await _organisation(committing_sessionmaker)
    text = "\n".join(
        [
            HEADER,
            "Aïcha;Benali;06 12 34 56 78;Aicha.B@Exemple.fr;93066;;;;construction|cleaning;job",
            "Jean;Dupont;0692 12 34 56;;75118;;2,3535;48,8865;logistics;",
            'Léa;"Martin, dite Lou";;lea@exemple.fr;01001;3 rue de la Mairie;;;;training|advice',
        ]
    )
    report = await _import(committing_sessionmaker, text, organisation, workers)

    assert report.summary() == {
        "rows": 3,
        "created": 3,
        "linked": 0,
        "updated": 0,
        "shared": 0,
        "duplicates": 0,
        "refused": 0,
    }
    aicha, jean, lea = await _candidates(committing_sessionmaker)
    assert (aicha.phone_e164, aicha.email) == ("+33612345678", "aicha.b@exemple.fr")
    assert aicha.search_name == "benali aicha"
    assert [s.value for s in aicha.sectors_wanted] == ["construction", "cleaning"]
    assert [n.value for n in aicha.needs] == ["job"]
    # Saint-Denis hosts QPVs: the commune alone leaves it unknown.
    assert (aicha.qpv_status.value, aicha.qpv_method) == ("unknown", "commune_only")
    assert aicha.status.value == "new" and aicha.geocoding_due_at is None
    # A Réunion mobile keyed without its prefix; a point in the Goutte d'Or.
    assert jean.phone_e164 == "+262692123456"
    assert (jean.qpv_status.value, jean.qpv_code, jean.qpv_method) == (
        "in_qpv",
        "QN07511M",
        "coordinates",
    )
    assert jean.qpv_polygon_version is not None and jean.qpv_checked_at is not None
    # A commune without any QPV decides; the address waits for the geocoder.
    assert lea.last_name == "Martin, dite Lou"
    assert (lea.qpv_status.value, lea.qpv_method) == ("outside_qpv", "commune_only")
    assert lea.geocoding_due_at is not None and lea.address == "3 rue de la Mairie"

    async with committing_sessionmaker() as session:
        shares = list(await session.scalars(select(CandidateShare)))
        entries = list(await session.scalars(select(AuditEntry).order_by(col(AuditEntry.id))))
        found = await session.scalar(
            select(Candidate).where(
                col(Candidate.search_vector).bool_op("@@")(func.to_tsquery("dup:*"))
            )
        )
    assert {(s.candidate_id, s.organisation_id, s.reason) for s in shares} == {
        (c.id, organisation.id, ShareReason.CREATED) for c in (aicha, jean, lea)
    }
    assert found is not None and found.id == jean.id  # the generated search vector is there
    # The trigger queues the new people's matching profiles under COPY; once the matching
    # worker has built them, every one is rankable (a point, or the centre of the commune).
    async with committing_sessionmaker() as session:
        assert await build_queued_profiles(session) == 3
        profiled = set(await session.scalars(sa.text("SELECT candidate_id FROM match_profile")))
    assert profiled == {aicha.id, jean.id, lea.id}
    assert sorted(await _events(committing_sessionmaker)) == sorted(
        ("candidate.created", str(c.id)) for c in (aicha, jean, lea)
    )
    created = [e for e in entries if e.action == "create"]
    assert {(e.resource_type, e.resource_id) for e in created} == {
        ("candidate", c.id) for c in (aicha, jean, lea)
    }
    assert all(e.details["import_id"] == str(report.import_id) for e in created)
    (summary,) = [e for e in entries if e.action == "import"]
    assert (summary.resource_type, summary.resource_id) == ("candidate_import", report.import_id)
    assert (summary.actor_type, summary.organisation_id) == ("system", organisation.id)
    assert summary.details["created"] == 3 and summary.details["refused"] == 0


async def test_invalid_rows_are_reported_in_french_and_not_stored(
    committing_sessionmaker: SessionMaker,
) -> None:
    organisation = await _organisation(committing_sessionmaker)
    text = "\n".join(
        [
            "first_name,last_name,phone,email,commune_insee,lon,lat,sectors_wanted,hours_per_week",
            "Aïcha,Benali,0612345678,,93066,,,construction,35",  # line 2: fine
            "Jean,Dupont,01 23,,93066,,,,",  # 3: not a mobile number
            "Léa,Martin,,lea@@exemple,93066,,,,",  # 4: e-mail
            "Paul,Durand,,,99999,,,,",  # 5: unknown commune
            "Inès,Petit,,,,-74.0,40.7,,",  # 6: New York
            "Marc,Leroy,,,,,,plumbing,60",  # 7: unknown sector, too many hours
            ",Sans Prénom,,,,,,,",  # 8: first name missing
            "Trop,De,Cellules,,,,,,,,",  # 9: cells do not fit the header
            "",  # blank lines are skipped
            "Nora,Haddad,06 98 76 54 32,,,2.35,,,",  # 11: longitude without latitude
        ]
    )
    report = await _import(committing_sessionmaker, text, organisation)

    assert report.rows == 9 and report.created == 1
    reasons = {error.line: error.reasons for error in report.refused}
    assert reasons == {
        3: (
            "phone : numéro de téléphone invalide (10 chiffres, ou indicatif international "
            "précédé de +)",
        ),
        4: ("email : adresse e-mail invalide",),
        5: ("commune_insee : commune inconnue",),
        6: ("lon : coordonnées hors de France : vérifiez la longitude et la latitude",),
        7: (
            "sectors_wanted.0 : valeur non autorisée (valeurs possibles : 'construction', "
            "'logistics', 'green_spaces', 'hospitality', 'industry', 'cleaning', 'transport' "
            "ou 'administrative')",
            "hours_per_week : doit être inférieur ou égal à 48",
        ),
        8: ("first_name : champ obligatoire",),
        9: ("11 cellules au lieu de 9 (séparateur « , »)",),
        11: ("ligne : longitude et latitude vont ensemble",),
    }
    written = " ".join(str(error) for error in report.refused)
    for value in ("01 23", "lea@@exemple", "99999", "plumbing", "Cellules"):
        assert value not in written  # no value echoed
    (stored,) = await _candidates(committing_sessionmaker)
    assert stored.last_name == "Benali"
    assert len(await _events(committing_sessionmaker)) == 1


async def test_people_are_found_again_in_the_file_and_in_the_database(
    committing_sessionmaker: SessionMaker,
) -> None:
    organisation = await _organisation(committing_sessionmaker)
    elsewhere = await _organisation(committing_sessionmaker)
    async with unit_of_work(committing_sessionmaker) as session:
        known = await make_candidate(
            session, organisation, phone_e164="+33611111111", email=None, commune_insee=None
        )
        # Somebody only another organisation holds (decision 0044).
        theirs = await make_candidate(
            session, elsewhere, first_name="Secret", phone_e164="+33655555555", email=None
        )
        already_ours = await make_candidate(
            session, organisation, phone_e164="+33622222222", commune_insee="93066"
        )
    text = "\n".join(
        [
            HEADER,
            # 2, 3: the same new person, the phone keyed two ways; the second adds a sector.
            "Aïcha;Benali;06 33 33 33 33;;;;;;construction;",
            "Aïcha;Benali;+33633333333;aicha@exemple.fr;;;;;cleaning;",
            # 4: found through the e-mail the previous line gave: the same person again.
            "A.;Benali;06 44 44 44 44;AICHA@exemple.fr;;;;;;",
            # 5: and through the phone line 4 brought along.
            "Aïcha;B.;0644444444;;;;;;;job",
            # 6: a person of ours: blanks filled (commune, point), nothing overwritten.
            "Autre;Nom;06 11 11 11 11;known@exemple.fr;75118;;2.3535;48.8865;logistics;",
            # 7: stored and already ours, nothing new to add: linked only.
            "Aïcha;Benali;0622222222;;;;;;;",
            # 8: the phone of somebody only another organisation holds: a new person of ours.
            "Inès;Martin;06 55 55 55 55;;;;;;;job",
        ]
    )
    report = await _import(committing_sessionmaker, text, organisation, workers=2)
    assert report.refused == []
    assert (report.created, report.duplicates, report.linked) == (2, 3, 2)
    assert (report.shared, report.updated, report.refused) == (0, 1, [])

    candidates = await _candidates(committing_sessionmaker)
    assert len(candidates) == 5
    by_id = {c.id: c for c in candidates}
    (new,) = [c for c in candidates if c.last_name == "Benali" and c.id != already_ours.id]
    (ines,) = [c for c in candidates if c.last_name == "Martin"]
    assert ines.id != theirs.id and ines.phone_e164 == "+33655555555"
    assert (by_id[theirs.id].first_name, [n.value for n in by_id[theirs.id].needs]) == (
        "Secret",
        [],
    )
    assert (new.first_name, new.last_name) == ("Aïcha", "Benali")  # never overwritten
    assert (new.phone_e164, new.email) == ("+33633333333", "aicha@exemple.fr")
    assert [s.value for s in new.sectors_wanted] == ["construction", "cleaning"]
    assert [n.value for n in new.needs] == ["job"]
    found = by_id[known.id]
    assert found.first_name == "Aïcha" and found.email == "known@exemple.fr"
    assert (found.commune_insee, found.qpv_status.value, found.qpv_code) == (
        "75118",
        "in_qpv",
        "QN07511M",
    )
    assert [s.value for s in found.sectors_wanted] == ["logistics"]

    async with committing_sessionmaker() as session:
        shares = {
            (s.candidate_id, s.organisation_id)
            for s in await session.scalars(select(CandidateShare))
        }
        entries = list(
            await session.scalars(
                select(AuditEntry).where(col(AuditEntry.resource_type) == "candidate")
            )
        )
    assert (known.id, organisation.id) in shares and (already_ours.id, organisation.id) in shares
    assert [s for s in shares if theirs.id in s] == [(theirs.id, elsewhere.id)]
    assert (ines.id, organisation.id) in shares
    # Line 5 (its own chunk) added a need to the person line 2 created: an update too.
    assert {(e.action, e.resource_id) for e in entries} == {
        ("create", new.id),
        ("update", new.id),
        ("update", known.id),
        ("create", ines.id),
    }
    (update,) = [e for e in entries if e.action == "update" and e.resource_id == known.id]
    assert update.details["fields"] == [
        "commune_insee",
        "email",
        "lat",
        "lon",
        "sectors_wanted",
    ]
    assert sorted(await _events(committing_sessionmaker)) == sorted(
        [
            ("candidate.created", str(new.id)),
            ("candidate.updated", str(new.id)),
            ("candidate.updated", str(known.id)),
            ("candidate.created", str(ines.id)),
        ]
    )

    # The same file again: nobody is created twice, nothing changes.
    again = await _import(committing_sessionmaker, text, organisation)
    assert (again.created, again.linked, again.shared, again.updated) == (0, 7, 0, 0)
    assert len(await _candidates(committing_sessionmaker)) == 5


async def test_a_file_that_cannot_be_read_writes_nothing(
    committing_sessionmaker: SessionMaker,
) -> None:
    organisation = await _organisation(committing_sessionmaker)
    with pytest.raises(FileRefused, match="colonnes inconnues : salary"):
        await _import(
            committing_sessionmaker, "first_name;last_name;salary\nA;B;3000", organisation
        )
    with pytest.raises(FileRefused, match="colonnes obligatoires absentes : last_name"):
        await _import(committing_sessionmaker, "first_name;phone\nA;0612345678", organisation)
    with pytest.raises(FileRefused, match="UTF-8"):
        await import_candidates(
            committing_sessionmaker, [b"first_name;last_name\n\xe9mile;Zola\n"], organisation.id
        )
    with pytest.raises(ImportRefused, match="organisation inconnue"):
        await import_candidates(
            committing_sessionmaker, [b"first_name;last_name\nA;B\n"], uuid.uuid4()
        )
    assert await _candidates(committing_sessionmaker) == []


async def test_the_relay_delivers_the_import_events(
    committing_sessionmaker: SessionMaker, redis_url: str, redis_client: Redis
) -> None:
    organisation = await _organisation(committing_sessionmaker)
    rows = [f"Prénom{i};Nom{i};06 00 00 {i // 100:02d} {i % 100:02d};" for i in range(5)]
    report = await _import(
        committing_sessionmaker,
        "first_name;last_name;phone;email\n" + "\n".join(rows),
        organisation,
    )
    assert report.created == 5
    pool: ArqRedis = await create_queue_pool(redis_url)
    try:
        assert await relay_once(committing_sessionmaker, pool, batch_size=100) == 5
    finally:
        await pool.aclose()
    async with committing_sessionmaker() as session:
        pending = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(col(OutboxEvent.published_at).is_(None))
        )
    assert pending == 0


async def test_a_line_records_where_the_person_lives_and_needs_their_consent(
    committing_sessionmaker: SessionMaker,
) -> None:
    organisation = await _organisation(committing_sessionmaker)
    text = "\n".join(
        [
            "first_name;last_name;phone;commune_insee;address;lon;lat;qpv_declared;"
            "qpv_declared_code;consent",
            "Awa;Diallo;06 11 22 33 01;75118;;2,3535;48,8865;;;oui",
            "Binta;Diallo;06 11 22 33 02;75118;12 rue des Gardes;;;;;true",
            "Coumba;Diallo;06 11 22 33 03;75118;;;;oui;qn07511m;",
            "Dado;Diallo;06 11 22 33 04;75118;;;;;;non",
            "Eva;Diallo;06 11 22 33 05;75118;;;;;;peut-être",
            "Fanta;Diallo;06 11 22 33 06;75118;;;;;QN00000M;true",
        ]
    )
    report = await _import(committing_sessionmaker, text, organisation)
    assert (report.created, len(report.refused)) == (3, 3)
    reasons = {error.line: error.reasons for error in report.refused}
    assert reasons[5] == (
        "consent : consentement obligatoire : sans la phrase « En déposant mon CV, j'autorise… » "
        "acceptée, personne ne peut rappeler la personne, et rien n'est enregistré",
    )
    assert reasons[6] == ("consent : booléen attendu (true ou false)",)
    assert reasons[7] == ("qpv_declared_code : quartier prioritaire inconnu",)
    by_name = {c.first_name: c for c in await _candidates(committing_sessionmaker)}
    assert set(by_name) == {"Awa", "Binta", "Coumba"}
    awa, binta, coumba = by_name["Awa"], by_name["Binta"], by_name["Coumba"]
    assert (awa.qpv_status.value, awa.qpv_code, awa.qpv_method) == (
        "in_qpv",
        "QN07511M",
        "coordinates",
    )
    assert binta.address == "12 rue des Gardes" and binta.geocoding_due_at is not None
    assert (coumba.qpv_status.value, coumba.qpv_method) == ("unknown", "declared")
    assert (coumba.qpv_declared, coumba.qpv_declared_code) == (True, "QN07511M")
