"""R1, bounded in time: intakes stream in while the workers are killed, Redis loses its data and
the SMTP server is down; at the end nothing is missing and nothing was sent twice.

    python -m bench.chaos [--intakes 2000] [--kill-every 4] [--smtp-down 20] [--write]

Everything runs as in production, as separate processes: the API (``maillon api``), the relay
(with its reconciler) and both workers, on a scratch database, with a Redis of the run's own
(loopback, nothing kept on disk) and an SMTP server of its own (aiosmtpd, loopback). A desk agent
sends the intakes through the HTTP API (one form per request, each with an ``Idempotency-Key``,
sent again if the answer is lost). Meanwhile the matching and notifications workers are killed
(SIGKILL) in turn every ``--kill-every`` seconds (one still starting is spared that time) and
started again; Redis is killed and started again empty once, a third of the way through the
intakes; the SMTP server is down for ``--smtp-down`` seconds once a tenth of the alerts arrived
(sending is under way); the killing goes on until the intakes are in and the SMTP server is
back. Each intake opens a callback case
whose ``assigned`` alert is due at once (office hours set to the whole day) and goes by e-mail to
the desk's manager.

At the end (once everything settled, or after ``--settle-limit`` seconds): every intake has its
callback case, every e-mail alert was received, no event is left unhandled by its consumers.
Messages are counted per ``Message-ID`` (the notification's id): an alert received again with
the same ``Message-ID`` is reported apart, as the receiver can drop it (decision 0072); the same
alert received under two different ``Message-ID`` (a true duplicate) fails the run. Each alert
received again is put down to the fault that struck within a second of its first acceptance (the
moments are recorded on one clock): the notifications worker killed between the SMTP server's
acceptance and the row's mark (unavoidable, at most one per kill), the SMTP server stopped after
it accepted (the server's fault), or the lanes stopped when Redis went away (a cancelled sweep:
its mark survives cancellation, so this fails the run, as does a resend nothing explains).
``--write`` adds the figures to ``bench/RESULTS.md``; the process exits 1 if a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.common import machine, scratch_database, server_urls
from bench.intake import FIRST_NAMES, LAST_NAMES, NEEDS, SECTORS
from bench.seed import to_plain_url
from bench.servers import Mailbox, Parts, SmtpServer, VolatileRedis, free_port
from services.core.db import create_engine, create_sessionmaker, unit_of_work
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import Role, User
from services.core.security.passwords import hash_password
from services.core.security.tokens import create_access_token
from services.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"

# A fault this soon after an alert's first acceptance explains that it was received again.
ATTRIBUTION_SECONDS = 1.0
# The server may count a message just after its sender was killed (the data was in the socket).
ATTRIBUTION_SLACK_SECONDS = 0.2
# A worker notices Redis went away at its next command (a poll): its lanes stop a little later.
REDIS_NOTICED_WITHIN_SECONDS = 5.0


class Cause(StrEnum):
    """Why an alert was received again with its ``Message-ID``."""

    KILLED = "worker killed between acceptance and mark"
    SMTP_STOPPED = "SMTP server stopped after accepting"
    REDIS = "lanes stopped when Redis went away"
    UNEXPLAINED = "unexplained"


@dataclass
class Timeline:
    """The run's faults, on ``time.monotonic`` (the mailbox's clock)."""

    kills: dict[str, list[float]] = field(default_factory=dict)  # victim → when
    smtp_stops: list[tuple[float, float]] = field(default_factory=list)  # (asked, stopped)
    redis_restarts: list[tuple[float, float]] = field(default_factory=list)  # (killed, back)

    def cause(self, accepted: float) -> tuple[Cause, float | None]:
        """What explains a message first accepted at ``accepted`` being received again, and how
        long after the acceptance the fault came (``None``: none did)."""
        low, high = accepted - ATTRIBUTION_SLACK_SECONDS, accepted + ATTRIBUTION_SECONDS

        def within(spans: list[tuple[float, float]]) -> float | None:
            hits = [
                max(start, low) - accepted for start, end in spans if start <= high and end >= low
            ]
            return min(hits, default=None)

        kills = [(at, at) for at in self.kills.get("notifications", [])]
        redis = [(down, back + REDIS_NOTICED_WITHIN_SECONDS) for down, back in self.redis_restarts]
        for cause, spans in (
            (Cause.KILLED, kills),
            (Cause.SMTP_STOPPED, self.smtp_stops),
            (Cause.REDIS, redis),
        ):
            after = within(spans)
            if after is not None:
                return cause, after
        return Cause.UNEXPLAINED, None


@dataclass(frozen=True)
class Plan:
    intakes: int = 2000
    concurrency: int = 8
    kill_every: float = 4.0
    smtp_down: float = 20.0
    reconcile_after: float = 10.0
    settle_limit: float = 300.0


@dataclass
class Outcome:
    accepted: int = 0
    resent: int = 0
    refused: int = 0
    stream_seconds: float = 0.0
    faults_seconds: float = 0.0
    settle_seconds: float = 0.0
    settled: bool = False
    intakes: int = 0
    without_case: int = 0
    alerts: int = 0
    alerts_unsent: int = 0
    received_once: int = 0
    # Received again with the same Message-ID: the receiver can deduplicate.
    received_twice_or_more: int = 0
    # The same alert (recipient, subject, body) under different Message-IDs: nobody can.
    true_duplicates: int = 0
    never_received: int = 0
    unexpected: int = 0
    unhandled_events: int = 0
    received_before_outage: int = 0
    sent_after_a_failure: int = 0
    requeued_events: int = 0
    dead_letters: int = 0
    kills: dict[str, int] = field(default_factory=dict)
    # Each alert received again: its cause and how long after its first acceptance that fault
    # came (seconds).
    resend_delays: list[tuple[Cause, float | None]] = field(default_factory=list)

    @property
    def resend_causes(self) -> Counter[Cause]:
        """The alerts received again, by what explains it."""
        return Counter(cause for cause, _ in self.resend_delays)

    @property
    def resends_within_the_crash_window(self) -> bool:
        """Every message sent again with its ``Message-ID`` came from a fault we cannot close:
        a notifications worker killed between the SMTP server's acceptance and the row's mark
        (decision 0072, at most one per kill), or the SMTP server stopped after it accepted.
        A cancelled sweep must not resend (its mark survives cancellation), and a resend
        nothing explains is a fault of ours."""
        causes = self.resend_causes
        killed = causes[Cause.KILLED]
        return killed + causes[
            Cause.SMTP_STOPPED
        ] == self.received_twice_or_more and killed <= self.kills.get("notifications", 0)

    @property
    def ok(self) -> bool:
        return (
            self.settled
            and self.refused == 0
            and self.without_case == 0
            and self.alerts == self.intakes
            and self.never_received == 0
            and self.received_once + self.received_twice_or_more == self.alerts
            and self.resends_within_the_crash_window
            and self.true_duplicates == 0
            and self.unexpected == 0
            and self.unhandled_events == 0
            and self.dead_letters == 0
        )


async def desk_agent(url: str, settings: Settings) -> dict[str, str]:
    """A front-desk agent, manager of its organisation: the one its cases' alerts go to."""
    engine = create_engine(settings, application_name="bench-chaos")
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            organisation = Organisation(
                name="Bailleur du banc d'essai",
                kind=OrganisationKind.SOCIAL_LANDLORD,
                commune_insee="93066",
            )
            session.add(organisation)
            await session.flush()
            user = User(
                email="accueil-chaos@exemple.fr",
                full_name="Accueil",
                password_hash=hash_password("un mot de passe de banc d'essai"),
                organisation_id=organisation.id,
                role=Role.RECEPTION,
                is_manager=True,
            )
            session.add(user)
            await session.flush()
    finally:
        await engine.dispose()
    token, _ = create_access_token(user.id, settings)
    return {"Authorization": f"Bearer {token}"}


def form(index: int) -> dict[str, Any]:
    """A distinct person each time (its own phone): one intake, one new case, one alert."""
    first, last = FIRST_NAMES[index % len(FIRST_NAMES)], LAST_NAMES[index % len(LAST_NAMES)]
    return {
        "last_name": last.upper(),
        "first_name": first,
        "mobile_phone": f"06{12_000_000 + index:08d}",
        "email": f"{first.lower()}.{last.lower()}.{index}@exemple.fr",
        "sectors_wanted": [SECTORS[index % len(SECTORS)]],
        "needs": [NEEDS[index % len(NEEDS)]],
        "consent": True,
        "consent_text_version": "borne-2024-01",
    }


async def stream(base: str, headers: dict[str, str], plan: Plan, outcome: Outcome) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(plan.intakes):
        queue.put_nowait(index)

    async def sender(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            index = queue.get_nowait()
            key = {"Idempotency-Key": str(uuid.uuid5(uuid.NAMESPACE_URL, f"chaos-{index}"))}
            for attempt in range(20):
                try:
                    answer = await client.post(
                        f"{base}/v1/intakes", json=form(index), headers={**headers, **key}
                    )
                except httpx.TransportError:
                    answer = None
                if answer is not None and answer.status_code < 500:
                    if answer.status_code in (200, 201):
                        outcome.accepted += 1
                    else:
                        outcome.refused += 1
                    break
                outcome.resent += 1
                await asyncio.sleep(min(2.0, 0.1 * 2**attempt))

    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(sender(client) for _ in range(plan.concurrency)))
    outcome.stream_seconds = time.monotonic() - started


async def chaos(plan: Plan, state: Path, server: str | None = None) -> Outcome:
    """One run of ``plan`` on a scratch database of PostgreSQL ``server`` (else
    ``DATABASE_URL``); ``state`` holds the Redis directory and the heartbeats."""
    server = server or server_urls()[0]
    redis = VolatileRedis(state / "redis").start()
    mailbox = Mailbox()
    smtp = SmtpServer(mailbox)
    smtp.start()
    outcome = Outcome()
    try:
        async with scratch_database(server, f"maillon_bench_chaos_{os.getpid()}") as url:
            settings = Settings(database_url=url, redis_url=redis.url(), log_json=False)
            headers = await desk_agent(url, settings)
            env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLON_")}
            env.update(
                DATABASE_URL=url,
                REDIS_URL=redis.url(),
                MAILLON_LOG_JSON="false",
                MAILLON_LOG_LEVEL="ERROR",
                MAILLON_HEARTBEAT_DIR=str(state),
                MAILLON_GEOCODER_ENABLED="false",
                MAILLON_SMTP_HOST="127.0.0.1",
                MAILLON_SMTP_PORT=str(smtp.port),
                MAILLON_SMTP_SECURITY="none",
                MAILLON_SMTP_TIMEOUT_SECONDS="5",
                MAILLON_NOTIFICATION_SWEEP_SECONDS="2",
                MAILLON_NOTIFICATION_RETRY_BASE_SECONDS="2",
                MAILLON_NOTIFICATION_RETRY_MAX_SECONDS="10",
                MAILLON_NOTIFICATION_LEASE_SECONDS="15",
                MAILLON_CALLBACK_OFFICE_START_HOUR="0",
                MAILLON_CALLBACK_OFFICE_END_HOUR="24",
                MAILLON_OUTBOX_RECONCILE_AFTER_SECONDS=str(plan.reconcile_after),
                MAILLON_OUTBOX_RECONCILE_INTERVAL_SECONDS="2",
                MAILLON_JOB_RETRY_BASE_SECONDS="0.5",
                MAILLON_JOB_RETRY_MAX_SECONDS="5",
                # A job cut short by a kill is taken again 30 s later (arq's in-progress mark).
                MAILLON_JOB_TIMEOUT_SECONDS="20",
            )
            parts = Parts(env, free_port(), state)
            try:
                for name in parts.commands():
                    parts.start(name)
                base = f"http://127.0.0.1:{parts.api_port}"
                await _ready(base)
                await _run_faults(base, headers, plan, parts, redis, smtp, outcome)
                outcome.kills = dict(parts.kills)
                timeline = Timeline(parts.killed_at, smtp.stops, redis.restarts)
                await _settle(url, plan, mailbox, outcome, timeline)
            finally:
                parts.stop()  # before the database goes
    finally:
        smtp.stop()
        redis.stop()
    return outcome


async def _ready(base: str, limit: float = 180.0) -> None:
    """Wait for the API (``limit`` seconds: four processes importing at once on two busy cores
    took a minute)."""
    deadline = time.monotonic() + limit
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{base}/health/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the API did not start")


async def _run_faults(
    base: str,
    headers: dict[str, str],
    plan: Plan,
    parts: Parts,
    redis: VolatileRedis,
    smtp: SmtpServer,
    outcome: Outcome,
) -> None:
    started = time.monotonic()
    sending = asyncio.create_task(stream(base, headers, plan, outcome))
    outage = asyncio.create_task(_smtp_outage(smtp, plan, outcome))
    redis_done = False
    victims = ("matching", "notifications")
    turn = 0
    # Killing goes on until the intakes are in and the SMTP server is back, each worker at least
    # once (a short run may send its intakes within seconds).
    while not (sending.done() and outage.done() and all(parts.kills[v] for v in victims)):
        await asyncio.wait({sending, outage}, timeout=plan.kill_every)
        if parts.up(victims[turn % 2]):  # never one still starting: it would never work
            parts.kill(victims[turn % 2])
        turn += 1
        if not redis_done and outcome.accepted >= plan.intakes / 3:
            redis.restart_empty()  # every queued job is gone
            redis_done = True
    await sending
    await outage
    outcome.faults_seconds = time.monotonic() - started
    if not redis_done:
        redis.restart_empty()


async def _smtp_outage(smtp: SmtpServer, plan: Plan, outcome: Outcome) -> None:
    """Down while alerts are being sent: once a tenth of them arrived (however long the workers
    take to get there), for ``plan.smtp_down`` seconds."""
    threshold = max(1, plan.intakes // 10)
    deadline = time.monotonic() + plan.settle_limit
    # The count grows in aiosmtpd's own thread and loop: polled.
    while smtp.mailbox.total() < threshold and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    smtp.stop()
    outcome.received_before_outage = smtp.mailbox.total()
    await asyncio.sleep(plan.smtp_down)
    smtp.start()


_FIGURES = """
SELECT
  (SELECT count(*) FROM intake),
  (SELECT count(*) FROM intake i WHERE NOT EXISTS
     (SELECT 1 FROM callback_case c WHERE c.intake_id = i.id)),
  (SELECT count(*) FROM notification WHERE channel = 'email'),
  (SELECT count(*) FROM notification
     WHERE channel = 'email' AND status NOT IN ('sent', 'delivered')),
  (SELECT count(*) FROM outbox_event WHERE handled_at IS NULL),
  (SELECT count(*) FROM outbox_event WHERE publish_attempts > 1),
  (SELECT count(*) FROM failed_event),
  (SELECT count(*) FROM notification WHERE channel = 'email' AND attempts > 1)
"""


async def _settle(
    url: str, plan: Plan, mailbox: Mailbox, outcome: Outcome, timeline: Timeline
) -> None:
    """Wait until every event is handled and every alert sent (or the limit), then count."""
    started = time.monotonic()
    connection = await asyncpg.connect(to_plain_url(url))
    try:
        while True:
            row = await connection.fetchrow(_FIGURES)
            assert row is not None
            (intakes, without_case, alerts, unsent, unhandled, requeued, dead, retried) = row
            outcome.settled = unhandled == 0 and unsent == 0 and without_case == 0
            if outcome.settled or time.monotonic() - started > plan.settle_limit:
                break
            await asyncio.sleep(1)
        await asyncio.sleep(2)  # an e-mail sent twice would arrive now
        ids = {
            f"<{r[0]}@maillon.notifications>"
            for r in await connection.fetch("SELECT id FROM notification WHERE channel = 'email'")
        }
    finally:
        await connection.close()
    outcome.settle_seconds = time.monotonic() - started
    outcome.intakes, outcome.without_case, outcome.alerts = intakes, without_case, alerts
    outcome.alerts_unsent, outcome.unhandled_events = unsent, unhandled
    outcome.requeued_events, outcome.dead_letters = requeued, dead
    outcome.sent_after_a_failure = retried
    tally(outcome, mailbox, ids, timeline)


def tally(
    outcome: Outcome, mailbox: Mailbox, ids: set[str], timeline: Timeline | None = None
) -> None:
    """Count what the SMTP server received against the alerts written (their ``Message-ID``),
    and put each alert received again down to the fault that explains it (``timeline``)."""
    counts = mailbox.received
    timeline = timeline or Timeline()
    outcome.resend_delays = [
        timeline.cause(mailbox.arrivals[message_id][0])
        for message_id in sorted(i for i in ids if counts[i] > 1)
    ]
    outcome.received_once = sum(1 for i in ids if counts[i] == 1)
    outcome.received_twice_or_more = sum(1 for i in ids if counts[i] > 1)
    outcome.never_received = sum(1 for i in ids if counts[i] == 0)
    outcome.unexpected = sum(n for i, n in counts.items() if i not in ids)
    outcome.true_duplicates = sum(1 for same in mailbox.ids_of.values() if len(same) > 1)


def report(plan: Plan, outcome: Outcome, command: str) -> str:
    kills = ", ".join(f"{name} {count}×" for name, count in sorted(outcome.kills.items()))
    verdict = "met" if outcome.ok else "**not met**"
    found = outcome.resend_causes
    causes = " / ".join(str(found[cause]) for cause in Cause)
    delays = ", ".join(
        f"{cause} {after * 1000:+.0f} ms" if after is not None else str(cause)
        for cause, after in outcome.resend_delays
    )
    return "\n".join(
        [
            f"## Chaos run (R1, bounded) — {time.strftime('%Y-%m-%d')}",
            "",
            f"Machine: {machine()}. Command: `{command}`.",
            "",
            f"{plan.intakes:,} intakes through `POST /v1/intakes` ({plan.concurrency} at a time) "
            f"in {outcome.stream_seconds:.0f} s. For {outcome.faults_seconds:.0f} s from the "
            f"first intake the workers were killed (SIGKILL) every "
            f"{plan.kill_every:g} s in turn ({kills}), Redis was killed and started again empty "
            f"a third of the way through the intakes, and the SMTP server was down "
            f"{plan.smtp_down:g} s once {outcome.received_before_outage:,} alerts had arrived. "
            f"Reconciler: events unhandled {plan.reconcile_after:g} s after publication enqueued "
            "again.",
            "",
            "| figure | value |",
            "|---|---|",
            f"| intakes accepted (201) / refused (4xx) / requests sent again | "
            f"{outcome.accepted:,} / {outcome.refused} / {outcome.resent} |",
            f"| intakes stored / without a callback case | {outcome.intakes:,} / "
            f"{outcome.without_case} |",
            f"| e-mail alerts written / not sent at the end | {outcome.alerts:,} / "
            f"{outcome.alerts_unsent} |",
            f"| alerts received exactly once / again with the same `Message-ID` (receiver can "
            f"deduplicate) / never / unknown messages | {outcome.received_once:,} / "
            f"{outcome.received_twice_or_more} / {outcome.never_received} / "
            f"{outcome.unexpected} |",
            f"| alerts received again, by cause: {' / '.join(Cause)} | {causes} |",
            *([f"| fault after the first acceptance, each | {delays} |"] if delays else []),
            f"| true duplicates (one alert under different `Message-ID`) | "
            f"{outcome.true_duplicates} |",
            f"| events enqueued again by the reconciler / left unhandled / dead letters | "
            f"{outcome.requeued_events:,} / {outcome.unhandled_events} / {outcome.dead_letters} |",
            f"| e-mail alerts sent after a failed try (SMTP down) | "
            f"{outcome.sent_after_a_failure:,} |",
            f"| time to settle once the SMTP server was back | {outcome.settle_seconds:.0f} s |",
            "",
            f"Target (quality.md R1, at this size, with decision 0072's reading of SMTP): every "
            f"intake has its case, every due alert delivered, once per `Message-ID`, no true "
            f"duplicate, no event unhandled — {verdict}"
            + (
                f"; {outcome.received_twice_or_more} alert(s) received again with the same "
                "`Message-ID`, the receiver can deduplicate them (only a worker killed between "
                "the SMTP server's acceptance and the row's mark, at most one per kill, or the "
                "SMTP server stopped after accepting, are allowed)."
                if outcome.received_twice_or_more
                else "."
            ),
        ]
    )


def _write(section: str) -> None:
    text = RESULTS.read_text()
    head, sep, rest = text.partition("\n## ")
    RESULTS.write_text(
        f"{head.rstrip()}\n\n{section}\n{sep}{rest}" if sep else f"{text}\n{section}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intakes", type=int, default=Plan.intakes)
    parser.add_argument("--concurrency", type=int, default=Plan.concurrency)
    parser.add_argument("--kill-every", type=float, default=Plan.kill_every)
    parser.add_argument("--smtp-down", type=float, default=Plan.smtp_down)
    parser.add_argument("--reconcile-after", type=float, default=Plan.reconcile_after)
    parser.add_argument("--settle-limit", type=float, default=Plan.settle_limit)
    parser.add_argument("--write", action="store_true", help="add the figures to RESULTS.md")
    args = parser.parse_args()
    plan = Plan(
        intakes=args.intakes,
        concurrency=args.concurrency,
        kill_every=args.kill_every,
        smtp_down=args.smtp_down,
        reconcile_after=args.reconcile_after,
        settle_limit=args.settle_limit,
    )
    with tempfile.TemporaryDirectory(prefix="maillon-chaos-") as state:
        outcome = asyncio.run(chaos(plan, Path(state)))
    section = report(plan, outcome, " ".join(["python -m bench.chaos", *sys.argv[1:]]))
    print(section)
    if args.write:
        _write(section)
    if not outcome.ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
