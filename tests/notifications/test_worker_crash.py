"""The reliability acceptance (quality.md R1, R5): a real ``maillon worker notifications``
process killed with SIGKILL in the middle of a batch, then restarted, loses no alert and sends
none twice — counted by the real SMTP server that receives them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select
from sqlmodel import col

from services.core.alerts.kinds import AlertKind
from services.core.alerts.raising import AlertRequest, raise_alert
from services.core.db import SessionMaker
from services.core.events import (
    Consumer,
    MatchSuggested,
    SuggestedMatch,
    emit,
    job_id,
    queue_name,
)
from services.core.models.notification import Notification, NotificationStatus, WebhookSubscription
from services.core.models.offer import OfferStatus
from services.core.models.organisation import OrganisationKind
from services.core.models.user import Role
from services.core.queue import create_queue_pool
from services.core.relay import JOB_FUNCTION
from services.core.settings import Settings
from services.core.webhooks import new_secret
from services.notifications.channels.webhook import verify
from tests.factories import make_candidate, make_match, make_offer, make_organisation, make_user
from tests.notifications.conftest import Team
from tests.notifications.servers import Request, SmtpSink, http_server, smtp_server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ALERTS = 20
KILL_AFTER = 7  # messages accepted before the worker is killed
LEASE_SECONDS = 3  # a lease is this plus the longest send timeout (5 s here)


def start_worker(settings: Settings, smtp_port: int, heartbeats: Path) -> subprocess.Popen[bytes]:
    assert settings.database_url is not None and settings.redis_url is not None
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "MAILLON_ENVIRONMENT": "test",
        "MAILLON_SMTP_HOST": "127.0.0.1",
        "MAILLON_SMTP_PORT": str(smtp_port),
        "MAILLON_SMTP_SECURITY": "none",
        "MAILLON_NOTIFICATION_SWEEP_SECONDS": "1",
        "MAILLON_NOTIFICATION_LEASE_SECONDS": str(LEASE_SECONDS),
        "MAILLON_SMTP_TIMEOUT_SECONDS": "5",
        "MAILLON_WEBHOOK_TIMEOUT_SECONDS": "5",
        "MAILLON_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "MAILLON_HEARTBEAT_DIR": str(heartbeats),
        "MAILLON_LOG_JSON": "false",
    }
    # The worker's log, for whoever reads a failure (the child keeps its own descriptor).
    with (heartbeats / "worker.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker", "notifications"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def count_by_status(sessionmaker: SessionMaker) -> dict[NotificationStatus, int]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(col(Notification.status), func.count())
            .where(col(Notification.key).like("crash:%"))
            .group_by(col(Notification.status))
        )
        return dict(rows.all())


async def wait_for(condition: object, what: str, limit: float = 90.0) -> None:
    """Poll until ``condition()`` is true (a synchronisation bound, not a speed assertion)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"toujours pas : {what}")


async def test_a_killed_worker_loses_no_alert_and_duplicates_none(
    committing_sessionmaker: SessionMaker,
    settings: Settings,
    team: Team,
    redis_client: aioredis.Redis,
    tmp_path: Path,
) -> None:
    async with committing_sessionmaker() as session:
        for n in range(ALERTS):
            await raise_alert(
                session,
                AlertRequest(
                    kind=AlertKind.CALLBACK_URGENT,
                    key=f"crash:{n}",
                    recipient_user_ids=[team.prescribers[n % len(team.prescribers)].id],
                    organisation_id=team.organisation.id,
                    subject_type="callback_case",
                    subject_id=uuid.uuid4(),
                    context={"case_reference": f"RAP-{n:04d}", "days_left": 5},
                ),
            )
        await session.commit()

    sink = SmtpSink(stall_after=KILL_AFTER)
    with smtp_server(sink) as port:
        worker = start_worker(settings, port, tmp_path)
        try:
            # The worker took its batch and sent KILL_AFTER messages; it now waits in the next
            # message's RCPT: killed there, mid-batch.
            stalled = await asyncio.to_thread(sink.stalled.wait, 90)
            assert stalled, "the worker never reached the SMTP server"
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

        assert len(sink.messages) == KILL_AFTER
        statuses = await count_by_status(committing_sessionmaker)
        # Each accepted message was marked before the next one was started; the rest of the
        # batch is still pending, held by the dead worker's lease.
        assert statuses == {
            NotificationStatus.SENT: KILL_AFTER,
            NotificationStatus.PENDING: ALERTS - KILL_AFTER,
        }

        sink.stall_after = None
        sink.release.set()
        restarted = start_worker(settings, port, tmp_path)
        try:

            async def all_sent() -> bool:
                done = await count_by_status(committing_sessionmaker)
                return done.get(NotificationStatus.SENT, 0) == ALERTS

            await wait_for(all_sent, "toutes les alertes envoyées")
        finally:
            restarted.send_signal(signal.SIGTERM)
            try:
                restarted.wait(timeout=30)
            except subprocess.TimeoutExpired:
                restarted.kill()
                restarted.wait()

    message_ids = [m["Message-ID"] for m in sink.messages]
    assert len(message_ids) == ALERTS
    assert len(set(message_ids)) == ALERTS
    references = sorted(str(m["Subject"]).split("(")[-1].rstrip(")") for m in sink.messages)
    assert references == [f"RAP-{n:04d}" for n in range(ALERTS)]
    async with committing_sessionmaker() as session:
        attempts = list(
            await session.scalars(
                select(col(Notification.attempts)).where(col(Notification.key).like("crash:%"))
            )
        )
    # The messages of the killed batch were claimed twice (the crash counts as an attempt).
    assert sorted(attempts) == [1] * KILL_AFTER + [2] * (ALERTS - KILL_AFTER)


async def test_the_worker_process_turns_an_event_into_an_alert_and_a_signed_webhook(
    committing_sessionmaker: SessionMaker,
    settings: Settings,
    redis_client: aioredis.Redis,
    tmp_path: Path,
    reference_data: object,
) -> None:
    """``match.suggested`` as the relay hands it to the real worker: the referent prescriber gets
    the e-mail, the candidate's organisation the webhook."""
    async with committing_sessionmaker() as session:
        employer = await make_organisation(session)
        agency = await make_organisation(session, kind=OrganisationKind.MISSION_LOCALE)
        referent = await make_user(session, agency, Role.PRESCRIBER)
        candidate = await make_candidate(session, agency)
        candidate.referent_prescriber_id = referent.id
        offer = await make_offer(session, employer, status=OfferStatus.OPEN)
        match = await make_match(session, offer, candidate)
        event = emit(
            session,
            MatchSuggested(
                matches=(
                    SuggestedMatch(match_id=match.id, offer_id=offer.id, candidate_id=candidate.id),
                )
            ),
        )
        subscription = WebhookSubscription(
            organisation_id=agency.id,
            url="",
            event_types=["match.suggested"],
            secret=new_secret(),
            role=Role.PRESCRIBER,
        )
        session.add(subscription)
        await session.commit()

    async def ok(request: Request) -> tuple[int, bytes]:
        return 204, b""

    sink = SmtpSink()
    async with http_server(ok) as receiver:
        async with committing_sessionmaker() as session:
            stored = await session.get(WebhookSubscription, subscription.id)
            assert stored is not None
            stored.url = receiver.url + "/maillon"
            await session.commit()
        with smtp_server(sink) as port:
            worker = start_worker(settings, port, tmp_path)
            queue = await create_queue_pool(settings.redis_url or "")
            try:
                # What the relay does with the outbox row.
                await queue.enqueue_job(
                    JOB_FUNCTION,
                    str(event.id),
                    _job_id=job_id(Consumer.NOTIFICATIONS, event.id),
                    _queue_name=queue_name(Consumer.NOTIFICATIONS),
                )

                async def both_arrived() -> bool:
                    return len(sink.messages) == 1 and len(receiver.requests) == 1

                await wait_for(both_arrived, "l'alerte et le webhook")
            finally:
                await queue.aclose()
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()

    (mail,) = sink.messages
    assert mail["To"] == referent.email
    assert str(mail["Subject"]).startswith("Maillon — nouveau candidat suggéré")
    (request,) = receiver.requests
    assert request.path == "/maillon"
    assert verify(subscription.secret, request.headers, request.body)
    (pair,) = json.loads(request.body)["data"]["matches"]
    assert pair["match_id"] == str(match.id)
