"""``maillon import decp``: the contracts with a social consideration of the instance's
territory, created or updated as ``discovered`` contracts (decision 0064).

The whole file is read first (a contract's current state may be on a later line than its first
one), then the contracts are written in one transaction: a run either lands whole or not at all,
and a second run of the same file writes nothing.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import IO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.contracts.decp.rows import (
    ContractRow,
    Line,
    Problem,
    check,
    is_current,
    read_lines,
    social_clause,
    valid_siret,
)
from services.api.contracts.decp.territory import (
    Places,
    Territory,
    UnknownTerritory,
    load_places,
    load_territories,
    territory_of_contract,
)
from services.core.audit import record
from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.events import ContractDiscovered, emit
from services.core.models.contract import Contract, ContractHolder, ContractStatus
from services.core.models.organisation import Organisation, OrganisationKind

# Called as the work goes: (phase, done, total).
Progress = Callable[[str, int, int | None], None]
READING = "Lecture du fichier (octets)"
WRITING = "Enregistrement des marchés"

# The fields the open data decides while a contract is discovered.
DECP_FIELDS = ("reference", "title", "clause_kind", "start_date", "end_date", "amount")


@dataclass(frozen=True)
class Refused:
    line: int
    column: str
    reason: str


@dataclass
class DecpReport:
    lines: int = 0
    contracts: int = 0  # distinct uids in the file
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    followed: int = 0  # already confirmed: the open data no longer changes them
    without_social: int = 0
    outside: int = 0
    refused: list[Refused] = field(default_factory=list)


@dataclass
class _Group:
    """The lines of one uid that make its current state: once a current line is seen, the
    earlier non-current ones are dropped."""

    lines: list[Line]
    current: bool


@dataclass(frozen=True)
class _Contract:
    rows: list[ContractRow]
    territory: Territory


def end_date(start: date, months: int) -> date:
    """The day before the same day ``months`` later (a 12-month contract notified on 1 March
    ends on the last day of February)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return max(start, date(year, month, day) - timedelta(days=1))


def _group(stream: IO[bytes], report: DecpReport, progress: Progress | None) -> list[_Group]:
    groups: dict[str, _Group] = {}
    size = _size(stream)
    for line in read_lines(stream):
        report.lines += 1
        if progress is not None and report.lines % 500 == 0:
            progress(READING, _position(stream), size)
        uid = line.get("uid")
        if not uid:
            report.refused.append(Refused(line.number, "uid", "identifiant du marché manquant"))
            continue
        current = is_current(line)
        group = groups.get(uid)
        if group is None:
            groups[uid] = _Group([line], current)
        elif current and not group.current:
            groups[uid] = _Group([line], True)
        elif current or not group.current:
            group.lines.append(line)
    if progress is not None:
        progress(READING, size or 0, size)
    report.contracts = len(groups)
    return list(groups.values())


def _size(stream: IO[bytes]) -> int | None:
    try:
        return stream.seek(0, 2) if stream.seekable() else None
    finally:
        if stream.seekable():
            stream.seek(0)


def _position(stream: IO[bytes]) -> int:
    try:
        return stream.tell()
    except (OSError, ValueError):
        return 0


def _select(
    groups: list[_Group], territories: list[Territory], places: Places, report: DecpReport
) -> list[_Contract]:
    """The contracts in scope, checked: a contract with one bad line is left out whole (its
    holders would be incomplete)."""
    selected: list[_Contract] = []
    for group in groups:
        last = group.lines[-1]
        kind = social_clause(last)
        if isinstance(kind, Problem):
            report.refused.append(Refused(last.number, kind.column, kind.reason))
            continue
        if kind is None:
            report.without_social += 1
            continue
        departments = places.departments(
            last.get("lieuExecution.typeCode"), last.get("lieuExecution.code")
        )
        territory = territory_of_contract(
            territories, departments, valid_siret(last.get("acheteur.id"))
        )
        if territory is None:
            report.outside += 1
            continue
        rows: list[ContractRow] = []
        bad = False
        for line in group.lines:
            checked = check(line, kind)
            if isinstance(checked, list):
                bad = True
                report.refused.extend(Refused(line.number, p.column, p.reason) for p in checked)
            else:
                rows.append(checked)
        if not bad:
            selected.append(_Contract(rows, territory))
    return selected


class _Organisations:
    """Buyers and holders by SIRET: found, or created below the facilitation organisation whose
    territory the contract lies in (as a facilitator's new organisations are, decision 0008)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.by_siret: dict[str, uuid.UUID] = {}

    async def load(self, sirets: set[str]) -> None:
        for siret, organisation_id in await self.session.execute(
            select(col(Organisation.siret), col(Organisation.id)).where(
                col(Organisation.siret).in_(sorted(sirets))
            )
        ):
            if siret is not None:
                self.by_siret[siret] = organisation_id

    def get(self, siret: str, name: str, kind: OrganisationKind, parent: uuid.UUID) -> uuid.UUID:
        found = self.by_siret.get(siret)
        if found is not None:
            return found
        organisation = Organisation(
            name=name, kind=kind, siret=siret, commune_insee=None, parent_id=parent
        )
        self.session.add(organisation)
        self.by_siret[siret] = organisation.id
        return organisation.id


async def _write(
    session: AsyncSession,
    contracts: list[_Contract],
    report: DecpReport,
    progress: Progress | None,
) -> None:
    organisations = _Organisations(session)
    await organisations.load(
        {row.buyer_siret for c in contracts for row in c.rows}
        | {row.holder.siret for c in contracts for row in c.rows}
    )
    uids = [c.rows[-1].uid for c in contracts]
    existing = {
        contract.decp_uid: contract
        for contract in await session.scalars(
            select(Contract).where(col(Contract.decp_uid).in_(uids))
        )
    }
    references: set[tuple[uuid.UUID, str]] = set()
    for done, contract in enumerate(contracts, start=1):
        row = contract.rows[-1]
        parent = contract.territory.organisation_id
        buyer_id = organisations.get(
            row.buyer_siret, row.buyer_name, OrganisationKind.BUYER, parent
        )
        holder_ids = {
            organisations.get(r.holder.siret, r.holder.name, OrganisationKind.EMPLOYER, parent)
            for r in contract.rows
        }
        values = {
            "reference": row.reference,
            "title": row.title,
            "clause_kind": row.clause_kind,
            "start_date": row.start_date,
            "end_date": end_date(row.start_date, row.months),
            "amount": row.amount,
        }
        stored = existing.get(row.uid)
        if stored is None:
            taken = (buyer_id, row.reference) in references or await session.scalar(
                select(col(Contract.id)).where(
                    col(Contract.buyer_id) == buyer_id, col(Contract.reference) == row.reference
                )
            )
            if taken:
                report.followed += 1  # registered in Maillon already, by hand or another uid
            else:
                await _create(session, row.uid, buyer_id, holder_ids, values)
                report.created += 1
            references.add((buyer_id, row.reference))
        elif stored.status != ContractStatus.DISCOVERED:
            report.followed += 1
        elif await _update(session, stored, holder_ids, values):
            report.updated += 1
        else:
            report.unchanged += 1
        if progress is not None:
            progress(WRITING, done, len(contracts))
    if report.created or report.updated:
        record(
            session,
            None,
            "import",
            "contract",
            details={"source": "decp", "created": report.created, "updated": report.updated},
        )


async def _create(
    session: AsyncSession,
    uid: str,
    buyer_id: uuid.UUID,
    holder_ids: set[uuid.UUID],
    values: dict[str, object],
) -> None:
    await session.flush()  # the organisations first: the holders point at them
    contract = Contract(
        buyer_id=buyer_id,
        decp_uid=uid,
        status=ContractStatus.DISCOVERED,
        # Not in the open data: the facilitator sets the hours when confirming the contract.
        required_insertion_hours=Decimal("0.00"),
        **values,  # type: ignore[arg-type]
    )
    contract.holders = [
        ContractHolder(contract_id=contract.id, organisation_id=organisation_id)
        for organisation_id in sorted(holder_ids)
    ]
    session.add(contract)
    emit(session, ContractDiscovered(contract_id=contract.id))


async def _update(
    session: AsyncSession,
    contract: Contract,
    holder_ids: set[uuid.UUID],
    values: dict[str, object],
) -> bool:
    """Lay the open data over a discovered contract; whether anything changed."""
    changes = {name: value for name, value in values.items() if getattr(contract, name) != value}
    current = {holder.organisation_id: holder for holder in contract.holders}
    if not changes and current.keys() == holder_ids:
        return False
    await session.flush()
    for name, value in changes.items():
        setattr(contract, name, value)
    for organisation_id, holder in current.items():
        if organisation_id not in holder_ids:
            contract.holders.remove(holder)
    for organisation_id in sorted(holder_ids - current.keys()):
        contract.holders.append(
            ContractHolder(contract_id=contract.id, organisation_id=organisation_id)
        )
    contract.updated_at = now()  # a change of holders alone is a change of the contract
    emit(session, ContractDiscovered(contract_id=contract.id))
    return True


async def import_decp(
    sessionmaker: SessionMaker,
    stream: IO[bytes],
    territory_names: list[str],
    *,
    progress: Progress | None = None,
) -> DecpReport:
    """Import a DECP file (decp-table-schema 2.x). Raises ``FileRefused`` or
    ``UnknownTerritory`` before writing anything."""
    report = DecpReport()
    async with sessionmaker() as session:
        territories = await load_territories(session, territory_names)
        places = await load_places(session)
    if not territories:
        raise UnknownTerritory("aucune structure d'animation active : le territoire est vide")
    groups = _group(stream, report, progress)
    contracts = _select(groups, territories, places, report)
    async with unit_of_work(sessionmaker) as session:
        await _write(session, contracts, report, progress)
    report.refused.sort(key=lambda refused: refused.line)
    return report
