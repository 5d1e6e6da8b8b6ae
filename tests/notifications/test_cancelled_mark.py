"""A sweep cancelled between the outside system's acceptance and the row's mark (its job's
timeout, or its lanes stopped when Redis went away) still marks the row: the message is not
sent again (decision 0087). And a sweep claims no batch it could not finish before its job would
be cancelled."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import text

from services.core.alerts.raising import raise_alert
from services.core.clock import FrozenClock
from services.core.db import SessionMaker
from services.core.models.notification import NotificationStatus, WebhookDeliveryStatus
from services.core.settings import Settings
from services.notifications import delivery, webhooks
from tests.notifications.conftest import Team
from tests.notifications.servers import Request, SmtpSink, http_server, smtp_server
from tests.notifications.test_delivery import reminder, rows, smtp_settings
from tests.notifications.test_webhook_egress import _delivery, _one_offer_event

pytestmark = pytest.mark.usefixtures("reference_data")


async def eventually(condition: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    for _ in range(400):
        outcome = condition()
        if await outcome if isinstance(outcome, Awaitable) else outcome:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"toujours pas : {what}")


@asynccontextmanager
async def table_held(sessionmaker: SessionMaker, table: str) -> AsyncIterator[None]:
    """``table`` locked against writes (a claim's locks pass, an ``UPDATE`` waits) until the
    block ends: the mark that follows an acceptance waits there, for as long as the test needs."""
    async with sessionmaker() as session:
        await session.execute(text(f"LOCK TABLE {table} IN SHARE MODE"))
        try:
            yield
        finally:
            await session.rollback()


async def waiting_on(sessionmaker: SessionMaker, table: str) -> bool:
    async with sessionmaker() as session:
        waiting = await session.scalar(
            text("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = :t ::regclass"),
            {"t": table},
        )
    return bool(waiting)


async def cancelled_while_marking(
    sessionmaker: SessionMaker,
    table: str,
    sweeping: asyncio.Task[Any],
    accepted: Callable[[], bool],
    release: Callable[[], None],
) -> None:
    """Hold ``table`` once the row is claimed, let the outside system accept, cancel the sweep
    while its mark waits, then let the mark through."""
    async with table_held(sessionmaker, table):
        release()
        await eventually(accepted, "message accepted")
        await eventually(lambda: waiting_on(sessionmaker, table), "mark waiting")
        sweeping.cancel()
        await asyncio.sleep(0.1)  # the cancellation lands in the waiting mark
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(sweeping, timeout=30)


async def one_reminder(sessionmaker: SessionMaker, team: Team) -> None:
    """One e-mail alert due, committed (the senders read it on their own connections)."""
    async with sessionmaker() as session:
        await raise_alert(session, reminder(team))
        await session.commit()


async def test_an_email_accepted_then_its_sweep_cancelled_is_still_marked_sent(
    committing_sessionmaker: SessionMaker, settings: Settings, team: Team, clock: FrozenClock
) -> None:
    await one_reminder(committing_sessionmaker, team)
    sink = SmtpSink(stall_after=0)  # RCPT waits: the row is claimed, nothing accepted yet
    with smtp_server(sink) as port:
        sweeping = asyncio.create_task(
            delivery.sweep(committing_sessionmaker, smtp_settings(settings, port))
        )
        await eventually(sink.stalled.is_set, "row claimed")
        await cancelled_while_marking(
            committing_sessionmaker,
            "notification",
            sweeping,
            lambda: len(sink.messages) == 1,
            sink.release.set,
        )
    (row,) = await rows(committing_sessionmaker, "callback:c1:reminder")
    # Marked: no later sweep sends it again.
    assert (row.status, row.sent_at, row.lease_until) == (
        NotificationStatus.SENT,
        clock.now(),
        None,
    )
    assert len(sink.messages) == 1


class SlowToAnswer(SmtpSink):
    """Counts the message, then holds its ``250`` until ``release``: accepted on its side, not
    yet on the sender's."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        self.stalled.set()
        await asyncio.get_running_loop().run_in_executor(None, self.go.wait, 60)
        return answer


async def test_a_sweep_cancelled_while_the_server_answers_its_data_still_marks_the_row(
    committing_sessionmaker: SessionMaker, settings: Settings, team: Team, clock: FrozenClock
) -> None:
    """The cancellation lands while the sender waits for the ``250``: the row's send ends (its
    own timeouts bound it) and is marked before the cancellation goes on."""
    await one_reminder(committing_sessionmaker, team)
    sink = SlowToAnswer()
    with smtp_server(sink) as port:
        s = smtp_settings(settings, port)
        sweeping = asyncio.create_task(delivery.sweep(committing_sessionmaker, s))
        await eventually(sink.stalled.is_set, "message counted by the server")
        sweeping.cancel()
        await asyncio.sleep(0.1)
        sink.go.set()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(sweeping, timeout=30)
        # A later sweep finds nothing to send again.
        assert (await delivery.sweep(committing_sessionmaker, s)).sent == 0
    (row,) = await rows(committing_sessionmaker, "callback:c1:reminder")
    assert (row.status, row.lease_until) == (NotificationStatus.SENT, None)
    assert len(sink.messages) == 1


async def test_a_webhook_answered_then_its_sweep_cancelled_is_still_marked_delivered(
    committing_sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    answered = asyncio.Event()
    go = asyncio.Event()

    async def ok(request: Request) -> tuple[int, bytes]:
        await go.wait()  # the delivery is claimed, the POST not answered yet
        answered.set()
        return 200, b"{}"

    async with http_server(ok) as receiver:
        subscription_id = await _one_offer_event(
            committing_sessionmaker, settings, f"{receiver.url}/hook"
        )
        sweeping = asyncio.create_task(webhooks.sweep(committing_sessionmaker, settings))
        await eventually(lambda: len(receiver.requests) == 1, "delivery claimed")
        await cancelled_while_marking(
            committing_sessionmaker, "webhook_delivery", sweeping, answered.is_set, go.set
        )
    row = await _delivery(committing_sessionmaker, subscription_id)
    assert (row.status, row.lease_until) == (WebhookDeliveryStatus.DELIVERED, None)
    assert len(receiver.requests) == 1


async def test_a_sweep_claims_no_batch_it_could_not_finish_before_its_deadline(
    committing_sessionmaker: SessionMaker, settings: Settings, team: Team, clock: FrozenClock
) -> None:
    """A batch may take its whole lease (sends started until its end) and its last marks: a
    sweep whose job would be cancelled before that claims nothing more, and the row waits for
    the next sweep, unclaimed."""
    await one_reminder(committing_sessionmaker, team)
    sink = SmtpSink()
    with smtp_server(sink) as port:
        s = smtp_settings(settings, port)
        batch = s.notification_lease_seconds + s.smtp_timeout_seconds
        late = await delivery.sweep(
            committing_sessionmaker, s, deadline=time.monotonic() + batch + 1
        )
        assert late.as_dict() == {"sent": 0, "retried": 0, "failed": 0}
        (row,) = await rows(committing_sessionmaker, "callback:c1:reminder")
        assert (row.status, row.attempts, row.lease_until) == (NotificationStatus.PENDING, 0, None)
        assert sink.messages == []

        in_time = await delivery.sweep(
            committing_sessionmaker, s, deadline=time.monotonic() + batch + 60
        )
    assert in_time.as_dict() == {"sent": 1, "retried": 0, "failed": 0}
    assert len(sink.messages) == 1


async def test_a_webhook_sweep_claims_no_batch_it_could_not_finish_before_its_deadline(
    committing_sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    async def ok(request: Request) -> tuple[int, bytes]:
        return 200, b"{}"

    async with http_server(ok) as receiver:
        subscription_id = await _one_offer_event(
            committing_sessionmaker, settings, f"{receiver.url}/hook"
        )
        batch = settings.notification_lease_seconds + settings.webhook_timeout_seconds
        late = await webhooks.sweep(
            committing_sessionmaker, settings, deadline=time.monotonic() + batch + 1
        )
        assert late.delivered == 0 and receiver.requests == []
        row = await _delivery(committing_sessionmaker, subscription_id)
        assert (row.status, row.attempts) == (WebhookDeliveryStatus.PENDING, 0)
        in_time = await webhooks.sweep(
            committing_sessionmaker, settings, deadline=time.monotonic() + batch + 60
        )
    assert in_time.delivered == 1
