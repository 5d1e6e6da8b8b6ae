"""Settings, clock, ids, logs, heartbeats and housekeeping of the shared kernel."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import FrozenClock, now, use_clock
from services.core.events import CandidateCreated, emit, parse_event
from services.core.heartbeat import Activity, Heartbeat
from services.core.housekeeping import purge
from services.core.ids import uuid7
from services.core.logging import configure_logging, get_logger
from services.core.models.idempotency import IdempotencyRecord
from services.core.models.outbox import OutboxEvent
from services.core.settings import Settings, to_asyncpg_url


def test_settings_read_plain_and_prefixed_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/maillon")
    monkeypatch.setenv("MAILLON_REDIS_URL", "redis://cache:6379/2")
    monkeypatch.setenv("MAILLON_CORS_ORIGINS", '["https://app.example.org"]')
    settings = Settings(_env_file=None)
    assert settings.database_url == "postgresql://u@db:5432/maillon"
    assert settings.async_database_url == "postgresql+asyncpg://u@db:5432/maillon"
    assert settings.redis_url == "redis://cache:6379/2"
    assert settings.cors_origins == ["https://app.example.org"]


def test_production_refuses_default_secret_and_missing_servers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "MAILLON_DATABASE_URL", "MAILLON_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError, match="MAILLON_SECRET_KEY"):
        Settings(environment="production", database_url="postgresql://x/y", redis_url="redis://z")
    with pytest.raises(ValidationError, match="DATABASE_URL et REDIS_URL"):
        Settings(environment="production", secret_key="s" * 40)
    ok = Settings(
        environment="production",
        secret_key="s" * 40,
        database_url="postgresql://x/y",
        redis_url="redis://z",
    )
    assert ok.environment == "production"


def test_database_url_schemes() -> None:
    assert to_asyncpg_url("postgres://a/b") == "postgresql+asyncpg://a/b"
    assert to_asyncpg_url("postgresql+asyncpg://a/b") == "postgresql+asyncpg://a/b"
    with pytest.raises(ValueError, match="postgresql"):
        to_asyncpg_url("mysql://a/b")


def test_frozen_clock_is_what_now_returns_and_moves_only_when_told() -> None:
    start = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    with use_clock(FrozenClock(start)) as clock:
        assert now() == start
        assert isinstance(clock, FrozenClock)
        clock.advance(timedelta(days=30))
        assert now() == start + timedelta(days=30)
    assert now() != start + timedelta(days=30)
    with pytest.raises(ValueError, match="aware"):
        FrozenClock(datetime(2026, 1, 1))  # noqa: DTZ001


def test_uuid7_is_version_7_and_ordered_by_time() -> None:
    first = uuid7()
    with use_clock(FrozenClock(datetime.now(UTC))):
        later = [uuid7() for _ in range(3)]
    assert first.version == 7
    assert {u.variant for u in later} == {uuid.RFC_4122}
    assert first.bytes[:6] <= later[-1].bytes[:6]
    assert len({first, *later}) == 4


def test_uuid7_made_in_the_same_millisecond_keep_their_order() -> None:
    # Thousands in a row: most share a millisecond with their neighbours, and still sort in
    # the order they were made (the counter of RFC 9562 §6.2).
    made = [uuid7() for _ in range(20_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in made)


def test_logs_are_json_and_never_carry_personal_data(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)
    try:
        get_logger("test").info(
            "candidate_read", candidate_id="c-1", email="awa@example.org", phone="+33612345678"
        )
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        structlog.reset_defaults()
    assert line["event"] == "candidate_read"
    assert line["candidate_id"] == "c-1"
    assert line["email"] == line["phone"] == "[masqué]"
    assert "awa@example.org" not in json.dumps(line)


def test_heartbeat_fresh_then_stale(tmp_path: Path) -> None:
    beat = Heartbeat(tmp_path, "relay", min_interval=0)
    assert not beat.is_fresh()
    beat.beat()
    assert beat.is_fresh()
    assert not beat.is_fresh(max_age=-1)


def test_heartbeat_says_what_the_process_does(tmp_path: Path) -> None:
    beat = Heartbeat(tmp_path, "worker-matching", min_interval=60)
    probe = Heartbeat(tmp_path, "worker-matching")  # what `maillon health` reads
    assert probe.activity() is None
    beat.beat(Activity.STARTING)
    assert probe.activity() is Activity.STARTING
    # A change is written at once, whatever the interval.
    beat.beat(Activity.WAITING_FOR_REDIS)
    assert probe.activity() is Activity.WAITING_FOR_REDIS
    assert probe.is_fresh()
    beat.beat(Activity.SERVING)
    assert probe.activity() is Activity.SERVING


def test_events_serialise_ids_only_and_parse_back() -> None:
    event = CandidateCreated(candidate_id=uuid.uuid4())
    assert parse_event("candidate.created", event.model_dump(mode="json")) == event
    with pytest.raises(ValidationError):
        CandidateCreated(candidate_id=uuid.uuid4(), email="x@y.z")  # type: ignore[call-arg]


async def test_housekeeping_purges_expired_and_old_published_only(
    db_session: AsyncSession, clock: FrozenClock
) -> None:
    old = emit(db_session, CandidateCreated(candidate_id=uuid.uuid4()))
    pending = emit(db_session, CandidateCreated(candidate_id=uuid.uuid4()))
    recent = emit(db_session, CandidateCreated(candidate_id=uuid.uuid4()))
    old.published_at = clock.now() - timedelta(days=40)
    recent.published_at = clock.now() - timedelta(days=1)
    pending.occurred_at = clock.now() - timedelta(days=90)
    db_session.add_all(
        [
            IdempotencyRecord(
                principal="anonymous",
                key=key,
                method="POST",
                path="/v1/x",
                request_hash="0" * 64,
                expires_at=clock.now() + delta,
            )
            for key, delta in (("expired", timedelta(hours=-1)), ("live", timedelta(hours=1)))
        ]
    )
    await db_session.flush()

    purged = await purge(db_session, outbox_retention_days=30)

    assert (purged.outbox_events, purged.idempotency_records) == (1, 1)
    ids = set((await db_session.scalars(select(col(OutboxEvent.id)))).all())
    assert ids == {pending.id, recent.id}
    keys = (await db_session.scalars(select(col(IdempotencyRecord.key)))).all()
    assert keys == ["live"]
    assert await db_session.scalar(select(func.count()).select_from(OutboxEvent)) == 2
