"""``maillon import decp``, run as an operator runs it (a real process, real commits), on the
files of tests/data/decp: contracts with a social consideration of the territory become
``discovered`` contracts; a second run changes nothing; a modification updates them."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from services.api.contracts import service
from services.core.db import SessionMaker, unit_of_work
from services.core.models.audit import AuditEntry
from services.core.models.contract import ClauseKind, Contract, ContractStatus
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.outbox import OutboxEvent
from services.core.settings import Settings
from tests.conftest import ROOT
from tests.factories import make_organisation
from tests.test_cli_import import maillon

pytestmark = [pytest.mark.usefixtures("reference_data"), pytest.mark.slow]

DATA = ROOT / "tests" / "data" / "decp"
SAINT_DENIS = "21930066200018"
CASANOVA = SAINT_DENIS + "2025M0142"  # a modification row
PARKS = SAINT_DENIS + "2025M0207"  # two holders, a reserved contract
CLEANING = "26930001800018AO-2025-07"  # placed by its buyer, an organisation of the territory
REFUSED = "Ligne 9 refusée : titulaire.id : SIRET du titulaire invalide (14 chiffres, clé de Luhn)"


async def _world(sessionmaker: SessionMaker) -> dict[str, Organisation]:
    async with unit_of_work(sessionmaker) as session:
        facilitation = await make_organisation(
            session,
            kind=OrganisationKind.FACILITATION,
            name="Maison de l'emploi Plaine Commune",
            commune_insee="93066",
        )
        landlord = await make_organisation(
            session,
            kind=OrganisationKind.SOCIAL_LANDLORD,
            name="Plaine Commune Habitat",
            parent=facilitation,
            commune_insee="93001",
            siret="26930001800018",
        )
        siae = await make_organisation(
            session,
            kind=OrganisationKind.SIAE_ACI,
            name="Régie de quartier (déjà connue)",
            parent=facilitation,
            commune_insee="93066",
            siret="51234567900033",
        )
        # Another network, around Lyon: the Rhône contract is in its territory, not ours.
        lyon = await make_organisation(
            session, kind=OrganisationKind.FACILITATION, name="PLIE de Lyon", commune_insee="69381"
        )
    return {"facilitation": facilitation, "landlord": landlord, "siae": siae, "lyon": lyon}


async def _contracts(sessionmaker: SessionMaker) -> dict[str, Contract]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(Contract).where(col(Contract.decp_uid).is_not(None)))
        return {contract.decp_uid or "": contract for contract in rows}


async def _counts(sessionmaker: SessionMaker) -> tuple[int, ...]:
    async with sessionmaker() as session:
        return tuple(
            [
                await session.scalar(select(func.count()).select_from(table)) or 0
                for table in (Contract, Organisation, OutboxEvent, AuditEntry)
            ]
        )


async def _updated_at(sessionmaker: SessionMaker) -> dict[str, datetime]:
    return {uid: c.updated_at for uid, c in (await _contracts(sessionmaker)).items()}


async def test_import_discovers_contracts_of_the_territory(
    settings: Settings, committing_sessionmaker: SessionMaker, tmp_path: Path
) -> None:
    world = await _world(committing_sessionmaker)
    territory = "Maison de l'emploi Plaine Commune"
    file = tmp_path / "decp.csv"
    shutil.copy(DATA / "decp.csv", file)

    done = maillon(settings, "import", "decp", str(file), "--territory", territory)
    assert done.returncode == 3, done.stderr  # imported, one line refused
    summary, refused = done.stdout.splitlines()
    assert summary == (
        "Import terminé : 8 lignes, 6 marchés, 3 marchés découverts créés, 0 mis à jour, "
        "0 inchangés, 0 déjà suivis, 1 sans considération sociale, 1 hors du territoire, "
        "1 refus."
    )
    assert refused == REFUSED

    contracts = await _contracts(committing_sessionmaker)
    assert set(contracts) == {CASANOVA, PARKS, CLEANING}
    assert {c.status for c in contracts.values()} == {ContractStatus.DISCOVERED}
    casanova, parks, cleaning = contracts[CASANOVA], contracts[PARKS], contracts[CLEANING]
    # The current row (donneesActuelles true) wins over the earlier one.
    assert (casanova.amount, casanova.start_date, casanova.end_date) == (
        Decimal("120000.00"),
        date(2025, 3, 1),
        date(2026, 8, 31),
    )
    assert casanova.reference == "2025M0142"
    assert casanova.clause_kind is ClauseKind.EXECUTION
    assert parks.clause_kind is ClauseKind.RESERVED_SIAE
    assert cleaning.clause_kind is ClauseKind.AWARD_CRITERION and cleaning.amount is None
    assert cleaning.buyer_id == world["landlord"].id

    async with committing_sessionmaker() as session:
        by_siret = {
            o.siret: o
            for o in await session.scalars(
                select(Organisation).where(col(Organisation.siret).is_not(None))
            )
        }
        events = list(
            await session.scalars(
                select(OutboxEvent).where(col(OutboxEvent.type) == "contract.discovered")
            )
        )
    # Buyers and holders found by SIRET, or created below the facilitation organisation.
    assert {h.organisation_id for h in parks.holders} == {
        world["siae"].id,
        by_siret["44298765700016"].id,
    }
    city = by_siret[SAINT_DENIS]
    assert (city.kind, city.name, city.commune_insee, city.parent_id) == (
        OrganisationKind.BUYER,
        "Commune de Saint-Denis",
        None,
        world["facilitation"].id,
    )
    assert casanova.buyer_id == city.id == parks.buyer_id
    assert by_siret["80412345300024"].kind is OrganisationKind.EMPLOYER
    assert "21690123100011" not in by_siret  # the Rhône buyer: outside, not created
    assert "80412345300025" not in by_siret  # the refused holder
    assert sorted(e.payload["contract_id"] for e in events) == sorted(
        str(c.id) for c in contracts.values()
    )

    # A second run of the same file changes nothing: no row, no date, no event.
    before, stamps = (
        await _counts(committing_sessionmaker),
        await _updated_at(committing_sessionmaker),
    )
    again = maillon(settings, "import", "decp", str(file), "--territory", territory)
    assert again.returncode == 3, again.stderr
    assert "0 marchés découverts créés, 0 mis à jour, 3 inchangés" in again.stdout
    assert await _counts(committing_sessionmaker) == before
    assert await _updated_at(committing_sessionmaker) == stamps

    # The buyer publishes a modification: the discovered contract follows it, once.
    shutil.copy(DATA / "decp_modified.csv", file)
    changed = maillon(
        settings, "import", "decp", str(file), "--territory", str(world["facilitation"].id)
    )
    assert changed.returncode == 3, changed.stderr
    assert "0 marchés découverts créés, 1 mis à jour, 2 inchangés" in changed.stdout
    after = await _contracts(committing_sessionmaker)
    assert (after[CASANOVA].amount, after[CASANOVA].end_date) == (
        Decimal("135000.00"),
        date(2027, 2, 28),
    )
    assert after[CASANOVA].updated_at > stamps[CASANOVA]
    assert after[PARKS].updated_at == stamps[PARKS]
    counts = await _counts(committing_sessionmaker)
    assert counts[:2] == before[:2]  # no new contract nor organisation
    assert counts[2] == before[2] + 1  # one contract.discovered event
    assert counts[3] == before[3] + 1  # the import's audit entry

    # Once confirmed, a contract is Maillon's: the open data no longer changes it.
    async with unit_of_work(committing_sessionmaker) as session:
        parks_row = await session.get(Contract, parks.id)
        assert parks_row is not None
        await service.confirm(session, parks_row)
        parks_row.amount = Decimal("1.00")
    confirmed = maillon(settings, "import", "decp", str(DATA / "decp.csv"))
    assert confirmed.returncode == 3, confirmed.stderr
    # Without --territory: every network, so the Rhône contract comes in for Lyon's.
    assert (
        "1 marchés découverts créés, 1 mis à jour, 1 inchangés, 1 déjà suivis, 1 sans "
        "considération sociale, 0 hors du territoire"
    ) in confirmed.stdout
    final = await _contracts(committing_sessionmaker)
    assert final[PARKS].status is ContractStatus.DRAFT
    assert final[PARKS].amount == Decimal("1.00")
    assert final[CASANOVA].amount == Decimal("120000.00")  # back to the first file's state
    lyon_contract = final["216901231000112025-118"]
    async with committing_sessionmaker() as session:
        lyon_buyer = await session.get(Organisation, lyon_contract.buyer_id)
    assert lyon_buyer is not None and lyon_buyer.parent_id == world["lyon"].id


async def test_file_and_territory_refused_whole(
    settings: Settings, committing_sessionmaker: SessionMaker, tmp_path: Path
) -> None:
    await _world(committing_sessionmaker)
    broken = tmp_path / "colonnes.csv"
    broken.write_text("uid;id;objet\nA;1;Travaux\n", encoding="utf-8")
    refused = maillon(settings, "import", "decp", str(broken))
    assert refused.returncode == 1
    assert refused.stderr.startswith("Erreur : colonnes manquantes : acheteur.id, ")
    unknown = maillon(
        settings, "import", "decp", str(DATA / "decp.csv"), "--territory", "Nulle part"
    )
    assert unknown.returncode == 1
    assert "« Nulle part » ne désigne pas une et une seule structure d'animation" in (
        unknown.stderr
    )
    assert await _contracts(committing_sessionmaker) == {}
