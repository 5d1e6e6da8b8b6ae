"""A service process settles Python's cycle collector once started (decision 0032)."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest

from services.api.app import create_app
from services.core import collector
from services.core.settings import Settings
from tests.conftest import ROOT


@pytest.fixture
def restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


SETTLING = """
import gc
from services.core import collector
_, middle, oldest = gc.get_threshold()
kept_for_life = [[n] for n in range(1000)]  # e.g. an index built at start-up
collector.settle(20_000)
print(gc.get_threshold() == (20_000, middle, oldest), gc.get_freeze_count() >= len(kept_for_life))
"""


def test_settling_freezes_the_start_up_heap_and_spaces_collections() -> None:
    """In a process of its own, as a service settles at start-up: the suite's process holds the
    heap of thousands of tests, which a full collection would walk for seconds."""
    done = subprocess.run(
        [sys.executable, "-c", SETTLING],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["True", "True"], done.stdout + done.stderr


def test_zero_leaves_pythons_collector_as_it_is(restored: None) -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    collector.settle(0)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


async def test_the_api_settles_once_started_with_its_setting(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(collector, "settle", calls.append)
    app = create_app(settings.model_copy(update={"gc_threshold": 12_345}))
    async with app.router.lifespan_context(app):
        assert calls == [12_345]
    assert Settings.model_fields["gc_threshold"].default == 20_000
