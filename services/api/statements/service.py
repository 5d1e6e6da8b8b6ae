"""Hours statement lines (§8.4): a set of lines — one from the API, a batch, a file — is checked
whole, in memory, against what :mod:`.store` read for the whole set; any refused line refuses
them all and nothing is stored. Then :mod:`.store` writes every line in the request's
transaction: a new month is added, a declared or rejected one replaced (decision 0084)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.errors import Conflict
from services.core.ledger.counted import first_of_month, month_within
from services.core.models.attribution import Attribution
from services.core.models.placement import (
    MAX_HOURS_PER_MONTH,
    STATEMENT_STATUS_LABELS,
    Placement,
    PlacementStatus,
    StatementLine,
    StatementSource,
    StatementStatus,
)
from services.core.models.user import Role
from services.core.security.principal import Principal


@dataclass(frozen=True)
class Declared:
    """One line as sent; ``index``: its place in the request (or its row in a file)."""

    index: int
    placement_id: uuid.UUID
    month: date
    hours_worked: Decimal
    training_hours: Decimal


@dataclass(frozen=True)
class Refusal:
    index: int
    field: str  # placement_id | month | hours_worked | training_hours
    message: str
    kind: str = "invalid"


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _month(value: date) -> str:
    return value.strftime("%m/%Y")


def _hours(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",")


@dataclass(frozen=True)
class Known:
    """What the checks need of a placement a line names."""

    status: PlacementStatus
    start_date: date
    end_date: date | None


def already_validated(line: Declared) -> Refusal:
    return Refusal(
        line.index,
        "month",
        f"les heures de {_month(line.month)} sont déjà validées : elles ne changent plus",
    )


def refusals(
    lines: Sequence[Declared],
    placements: Mapping[uuid.UUID, Known],
    stored: Mapping[tuple[uuid.UUID, date], StatementStatus],
    today: date,
) -> list[Refusal]:
    """Every refused line of ``lines`` with its reasons, in memory: ``placements``, the ones
    the lines name within the declarer's reach; ``stored``, the status of the lines already
    stored for the same (placement, month)."""
    found: list[Refusal] = []
    seen: dict[tuple[uuid.UUID, date], int] = {}
    current_month = first_of_month(today)
    for line in lines:
        placement = placements.get(line.placement_id)
        if placement is None:
            found.append(Refusal(line.index, "placement_id", "mise en emploi inconnue", "unknown"))
        elif placement.status is PlacementStatus.DRAFT:
            found.append(
                Refusal(line.index, "placement_id", "la mise en emploi n'a pas encore démarré")
            )
        elif not month_within(line.month, placement.start_date, placement.end_date):
            until = f" au {_day(placement.end_date)}" if placement.end_date else ""
            found.append(
                Refusal(
                    line.index,
                    "month",
                    f"{_month(line.month)} est hors de la mise en emploi (du "
                    f"{_day(placement.start_date)}{until})",
                )
            )
        if line.month > current_month:
            found.append(
                Refusal(line.index, "month", f"{_month(line.month)} n'a pas encore commencé")
            )
        if line.hours_worked < 0:
            found.append(Refusal(line.index, "hours_worked", "nombre positif ou nul attendu"))
        elif line.hours_worked > MAX_HOURS_PER_MONTH:
            found.append(
                Refusal(
                    line.index,
                    "hours_worked",
                    f"{_hours(line.hours_worked)} h dans un mois : c'est plus que les "
                    f"{MAX_HOURS_PER_MONTH} h possibles",
                )
            )
        if line.training_hours < 0:
            found.append(Refusal(line.index, "training_hours", "nombre positif ou nul attendu"))
        elif line.training_hours > line.hours_worked:
            found.append(
                Refusal(
                    line.index,
                    "training_hours",
                    "les heures de formation dépassent les heures travaillées",
                )
            )
        key = (line.placement_id, line.month)
        if key in seen:
            found.append(
                Refusal(line.index, "month", f"ce mois est déjà déclaré (ligne {seen[key]})")
            )
        else:
            seen[key] = line.index
        if stored.get(key) is StatementStatus.VALIDATED:
            found.append(already_validated(line))
    return found


def source_for(principal: Principal) -> StatementSource:
    if principal.kind == "user" and principal.role is Role.FACILITATOR:
        return StatementSource.FACILITATOR
    return StatementSource.API


class NotDeclared(Conflict):
    code = "statement-already-decided"
    title = "Ligne déjà traitée"


async def decide(
    session: AsyncSession,
    principal: Principal,
    line: StatementLine,
    to: StatementStatus,
    at: datetime,
    reason: str | None = None,
) -> None:
    if line.status is not StatementStatus.DECLARED:
        raise NotDeclared(
            f"Cette ligne est « {STATEMENT_STATUS_LABELS[line.status]} » : seule une ligne "
            "déclarée se valide ou se rejette."
        )
    line.status = to
    line.rejection_reason = reason
    line.decided_by_user_id = principal.id if principal.kind == "user" else None
    line.decided_at = at
    await session.flush()


def search(
    query: Select[StatementLine],
    *,
    placement_id: uuid.UUID | None = None,
    attribution_id: uuid.UUID | None = None,
    contract_id: uuid.UUID | None = None,
    month: date | None = None,
    status: StatementStatus | None = None,
) -> Select[StatementLine]:
    if placement_id is not None:
        query = query.where(col(StatementLine.placement_id) == placement_id)
    if attribution_id is not None or contract_id is not None:
        placements = select(col(Placement.id))
        if attribution_id is not None:
            placements = placements.where(col(Placement.attribution_id) == attribution_id)
        if contract_id is not None:
            placements = placements.where(
                col(Placement.attribution_id).in_(
                    select(col(Attribution.id)).where(col(Attribution.contract_id) == contract_id)
                )
            )
        query = query.where(col(StatementLine.placement_id).in_(placements))
    if month is not None:
        query = query.where(col(StatementLine.month) == month)
    if status is not None:
        query = query.where(col(StatementLine.status) == status)
    return query.order_by(col(StatementLine.month), col(StatementLine.id))
