"""R1, reduced (bench/chaos.py runs it at full size): intakes through the API while the workers
are killed, Redis restarted without its data and the SMTP server down — nothing missing, nothing
sent twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos import Plan, chaos

pytestmark = pytest.mark.slow


async def test_intakes_survive_killed_workers_a_redis_without_its_data_and_smtp_down(
    tmp_path: Path, server_database_url: str
) -> None:
    plan = Plan(
        intakes=100,
        concurrency=4,
        kill_every=4.0,
        smtp_down=3.0,
        reconcile_after=3.0,
        settle_limit=120.0,  # a bound for a slow machine, not a measure
    )
    outcome = await chaos(plan, tmp_path, server_database_url)

    assert outcome.kills["matching"] >= 1 and outcome.kills["notifications"] >= 1
    assert outcome.accepted == 100 and outcome.refused == 0
    assert outcome.intakes == 100
    assert outcome.without_case == 0  # every intake has its callback case
    assert outcome.alerts == 100  # one assigned alert per case, by e-mail
    assert outcome.never_received == 0  # each received…
    # …once, or again with its Message-ID when the worker died between the SMTP server's
    # acceptance and the row's mark (the crash window, decision 0072): one per kill at most, and
    # the receiver can deduplicate them. Never the same alert under another Message-ID.
    assert outcome.received_once + outcome.received_twice_or_more == 100
    assert outcome.resends_within_the_crash_window
    assert outcome.true_duplicates == 0
    assert outcome.unexpected == 0
    assert outcome.unhandled_events == 0
    assert outcome.dead_letters == 0
    assert outcome.ok
