"""Reference versions read again only every few seconds (decision 0029)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.api.referentials import indexes
from services.api.referentials.indexes import ReferentialIndexes
from services.core.referentials.store import DatasetKind, DatasetVersion


class Ticking:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


async def test_a_version_is_read_again_once_the_delay_has_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[DatasetKind] = []
    current: dict[DatasetKind, DatasetVersion | None] = {DatasetKind.COMMUNES: None}

    async def counted(_session: Any, kind: DatasetKind) -> DatasetVersion | None:
        reads.append(kind)
        return current[kind]

    monkeypatch.setattr(indexes, "current_dataset", counted)
    clock = Ticking()
    kept = ReferentialIndexes(recheck_seconds=5, clock=clock)
    # Never imported: no communes, and the answer is kept for the delay too.
    assert await kept.communes(session=None) == frozenset()  # type: ignore[arg-type]
    current[DatasetKind.COMMUNES] = DatasetVersion(
        kind=DatasetKind.COMMUNES, version="v1", label=None, imported_at=datetime.now(UTC)
    )
    clock.now += 4.9
    assert await kept._current(None, DatasetKind.COMMUNES) is None  # type: ignore[arg-type]
    assert reads == [DatasetKind.COMMUNES]
    clock.now += 0.1
    version = await kept._current(None, DatasetKind.COMMUNES)  # type: ignore[arg-type]
    assert version is not None and version.version == "v1"
    assert reads == [DatasetKind.COMMUNES, DatasetKind.COMMUNES]


async def test_with_no_delay_every_use_reads_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[DatasetKind] = []

    async def counted(_session: Any, kind: DatasetKind) -> DatasetVersion | None:
        reads.append(kind)
        return None

    monkeypatch.setattr(indexes, "current_dataset", counted)
    kept = ReferentialIndexes(recheck_seconds=0)
    for _ in range(3):
        assert await kept.qpv_if_loaded(session=None) is None  # type: ignore[arg-type]
    assert reads == [DatasetKind.QPV] * 3
