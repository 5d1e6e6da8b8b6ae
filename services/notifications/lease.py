"""Rows sent one at a time under a lease: notifications (decision 0022) and webhook deliveries
(0023) share this mechanism, written once (decision 0072).

1. **Claim** (one short transaction): due ``pending`` rows whose lease is free, ``FOR UPDATE
   SKIP LOCKED``; each gets ``lease_until`` and one more attempt. Committed before any sending, so
   a second sender (or a restarted one) skips them until the lease expires.
2. **Send** each row outside any transaction, and only while the send can end (or time out)
   before the lease does: past that, another sender may hold the row.
3. **Mark** right after the outside system answered: done (sent, delivered) as one statement
   committed alone, the moment it accepted; or back to ``pending`` with an exponential backoff
   and jitter; or ``failed`` on a permanent refusal or once ``notification_retry_hours`` passed
   (the last try is made at the deadline itself).

A sender killed between 1 and 3 leaves leased rows: they are sent again once the lease expires
(nothing lost). The only window for a duplicate is between the acceptance and the mark of 3;
a message sent again then carries the same id (``Message-ID``, SMS reference, ``webhook-id``),
so the receiver can drop it. A sender *cancelled* (its job's timeout, its lanes stopped when
Redis went away) ends the row under way, send and mark, before the cancellation goes on: the
cancellation never lands between the acceptance and the mark; and a sweep claims no batch it
could not finish before its deadline (decision 0087).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import CTE, Select, Update, or_, update
from sqlalchemy.sql import Executable
from sqlmodel import col

from services.core.backoff import exponential_seconds
from services.core.clock import now
from services.core.db import SessionMaker, commit_alone
from services.core.logging import get_logger
from services.core.models.notification import Notification, WebhookDelivery
from services.core.settings import Settings

log = get_logger(__name__)

LeasedRow = Notification | WebhookDelivery
Ts = TypeVarTuple("Ts")
C = TypeVar("C", bound="Leased")
T = TypeVar("T")

# Past its lease, a batch may still have its last marks to make: a sweep claims a batch only if
# its lease and this much more end before the sweep's deadline.
MARK_MARGIN_SECONDS = 10.0


class Outcome(StrEnum):
    SENT = "sent"  # accepted (a webhook: answered 2xx)
    RETRY = "retry"
    FAILED = "failed"  # for good
    SKIPPED = "skipped"  # the lease could end mid-send: left to its next holder


@dataclass(frozen=True)
class Leased:
    """What every claimed row carries."""

    id: uuid.UUID
    attempts: int
    created_at: datetime
    lease_until: datetime

    def may_start(self, send_timeout: timedelta) -> bool:
        """Whether a send started now ends (or times out) before the lease does."""
        return now() + send_timeout < self.lease_until


def retry_delay(attempts: int, settings: Settings) -> timedelta:
    """Exponential backoff with jitter: base, 2×base, 4×base… capped."""
    seconds = exponential_seconds(
        attempts,
        settings.notification_retry_base_seconds,
        settings.notification_retry_max_seconds,
    )
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311


@dataclass(frozen=True)
class Queue:
    """A table whose rows are sent under a lease: its class and the statuses it uses."""

    table: type[Notification] | type[WebhookDelivery]
    pending: StrEnum
    done: StrEnum
    done_at: str  # the column stamped with the time of acceptance
    failed: StrEnum

    def due(self, statement: Select[*Ts], at: datetime, limit: int) -> Select[*Ts]:
        """``statement`` narrowed to the rows to claim, locked, the oldest due first."""
        table = self.table
        return (
            statement.where(
                col(table.status) == self.pending,
                col(table.next_attempt_at) <= at,
                or_(col(table.lease_until).is_(None), col(table.lease_until) < at),
            )
            .order_by(col(table.next_attempt_at), col(table.id))
            .limit(limit)
            .with_for_update(of=table, skip_locked=True)
        )

    @staticmethod
    def lease(rows: Iterable[LeasedRow], until: datetime) -> None:
        """Hold each row until ``until``: one more attempt (committed with the claim)."""
        for row in rows:
            row.lease_until = until
            row.attempts += 1

    def done_statement(self, row_id: uuid.UUID, at: datetime, **values: Any) -> Update:
        return (
            update(self.table)
            .where(col(self.table.id) == row_id)
            .values(
                status=self.done,
                lease_until=None,
                last_error=None,
                updated_at=at,
                **{self.done_at: at},
                **values,
            )
        )

    async def mark_done(
        self,
        sessionmaker: SessionMaker,
        row_id: uuid.UUID,
        at: datetime,
        *,
        values: dict[str, Any] | None = None,
        then: Callable[[CTE], Executable] | None = None,
    ) -> None:
        """Mark the row done in one statement committed alone: the shortest possible window
        after the acceptance (decision 0072). ``then``: what follows from it in the same
        statement, given the marked row (``id``, and its other columns) as a CTE named
        ``done``."""
        marked = self.done_statement(row_id, at, **(values or {}))
        await commit_alone(
            sessionmaker,
            marked if then is None else then(marked.returning(self.table).cte("done")),
        )

    def failure_values(
        self,
        item: Leased,
        settings: Settings,
        error: str,
        *,
        permanent: bool,
        at: datetime,
    ) -> tuple[bool, dict[str, Any]]:
        """(whether the row fails for good, the values to write): back to ``pending`` with a
        backoff that never passes the deadline, or ``failed``."""
        deadline = item.created_at + timedelta(hours=settings.notification_retry_hours)
        # The last try happens at the deadline itself; a failure then is final.
        retry_at = min(at + retry_delay(item.attempts, settings), deadline)
        give_up = permanent or at >= deadline
        values: dict[str, Any] = {"lease_until": None, "last_error": error[:500], "updated_at": at}
        if give_up:
            values |= {"status": self.failed, "failed_at": at}
        else:
            values |= {"next_attempt_at": retry_at}
        return give_up, values

    def failure_statement(self, row_id: uuid.UUID, values: dict[str, Any]) -> Update:
        """The failure written only to a row still pending (one cancelled meanwhile stays so)."""
        return (
            update(self.table)
            .where(col(self.table.id) == row_id, col(self.table.status) == self.pending)
            .values(**values)
        )


async def finished_despite_cancellation(work: Awaitable[T]) -> T:
    """Run ``work`` to its end even if the caller is cancelled meanwhile, then let the
    cancellation go on (raised here, from the work's own error if it failed). For a step with
    bounds of its own (timeouts) that must not be cut half-way."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait([task])  # cancelling this wait leaves the task running
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError from (None if task.cancelled() else task.exception())
    return task.result()


def claim_until(deadline: float | None, batch_seconds: float) -> float | None:
    """The last moment (``time.monotonic``) to claim a batch that may take ``batch_seconds``
    (its lease) and its last marks, for a sweep that must end by ``deadline``."""
    return None if deadline is None else deadline - batch_seconds - MARK_MARGIN_SECONDS


async def run_batches(
    claim: Callable[[], Awaitable[Sequence[C]]],
    send: Callable[[C], Awaitable[Outcome]],
    *,
    max_batches: int,
    until: float | None = None,
) -> Counter[Outcome]:
    """Claim and send batch after batch until none is due (or ``max_batches``), claiming none
    past ``until`` (``time.monotonic``; see :func:`claim_until`).

    Each row is sent and marked as a whole, in a task of its own that a cancellation of the sweep
    waits for (the send's timeouts bound it, and the lease's rule that it ends before the lease
    does): cut between the outside system's acceptance and the mark, the row would be sent again
    once its lease ends. Started before the send, that task adds nothing to the window."""
    outcomes: Counter[Outcome] = Counter()
    for _ in range(max_batches):
        if until is not None and time.monotonic() > until:
            break
        batch = await claim()
        if not batch:
            break
        for item in batch:
            try:
                outcomes[await finished_despite_cancellation(send(item))] += 1
            except asyncio.CancelledError as exc:
                if exc.__cause__ is None:
                    log.info("row_finished_despite_cancellation", row_id=str(item.id))
                raise
    return outcomes
