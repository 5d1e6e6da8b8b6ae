"""In-memory indexes of reference data, built once per imported version and kept per process.

The lifespan puts one :class:`ReferentialIndexes` on ``app.state.referential_indexes``. An index
is built on first use (the API starts even while PostgreSQL is down) and rebuilt only when a new
version of its data has been imported: a use compares the current ``reference_dataset`` version,
one indexed query, read again at most every ``referential_recheck_seconds`` (decision 0029).
See docs/decisions/0010-referentials-api.md.

- ROME: word search over 1,584 fiche labels and 13,120 appellation labels, accents and case
  ignored. PostgreSQL has no ``unaccent`` here and folding 13,000 labels on the fly costs
  20–200 ms a query; in memory it takes well under a millisecond.
- QPV: the :class:`~services.core.geo.qpv.QpvIndex` of decision 0005.
- Communes: the set of INSEE codes a form or row may name (35,000 codes, about 3 MB).
"""

from __future__ import annotations

import asyncio
import re
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.applications import Starlette

from services.api.errors import ServiceUnavailable
from services.core.geo.communes import normalise_name
from services.core.geo.qpv import QpvIndex, load_qpv_index
from services.core.models import RomeAppellation, RomeDomaine, RomeFiche, RomeGrandDomaine
from services.core.models.geo import Commune
from services.core.referentials.sectors import Sector, SectorCode, get_sector, sector_for_rome
from services.core.referentials.store import DatasetKind, DatasetVersion, current_dataset

MAX_MATCHED_APPELLATIONS = 5
_CODE_PREFIX = re.compile(r"^[A-Za-z][0-9]{0,4}$")
# Skipped when the query has other words: they match most labels and select nothing.
_STOP_WORDS = frozenset(
    {"a", "au", "aux", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les"}
)


class ReferentialNotLoaded(ServiceUnavailable):
    code = "referential-not-loaded"
    title = "Référentiel non chargé"


_NOT_LOADED = {
    DatasetKind.ROME: "Référentiel ROME non chargé : importez-le avec « maillon import rome ».",
    DatasetKind.QPV: "Référentiel QPV non chargé : importez-le avec « maillon import qpv ».",
    DatasetKind.COMMUNES: (
        "Référentiel des communes non chargé : importez-le avec « maillon import communes »."
    ),
}


def not_loaded(kind: DatasetKind) -> ReferentialNotLoaded:
    return ReferentialNotLoaded(_NOT_LOADED[kind])


class WordIndex:
    """Which texts contain every given word at the start of one of their words.

    Texts are normalised (``normalise_name``: lower case, no accents, words separated by one
    space) and laid end to end in one string, each preceded by a space and followed by a newline.
    ``str.find`` of `` <longest word>`` over that string finds the candidates at C speed; the
    other words are then checked on those few texts only.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        self._texts = [f" {text}" for text in texts]
        self._starts: list[int] = []
        position = 0
        for text in self._texts:
            self._starts.append(position)
            position += len(text) + 1
        self._blob = "\n".join(self._texts)

    def matching(self, words: Sequence[str]) -> list[int]:
        """Positions (ascending) of the texts holding every word of ``words`` as a word start."""
        if not words:
            return list(range(len(self._texts)))
        needles = sorted({f" {word}" for word in words}, key=len, reverse=True)
        first, others = needles[0], needles[1:]
        found: list[int] = []
        at = self._blob.find(first)
        while at != -1:
            index = bisect_right(self._starts, at) - 1
            text = self._texts[index]
            if all(needle in text for needle in others):
                found.append(index)
            following = index + 1
            if following == len(self._starts):
                break
            at = self._blob.find(first, self._starts[following])
        return found


@dataclass(frozen=True, slots=True)
class Appellation:
    code: str
    label: str


@dataclass(frozen=True, slots=True)
class Fiche:
    code: str
    label: str
    domaine_code: str
    parent_code: str | None
    sector: SectorCode | None
    appellations: tuple[Appellation, ...]

    @property
    def grand_domaine_code(self) -> str:
        return self.code[:1]


@dataclass(frozen=True, slots=True)
class FicheMatch:
    fiche: Fiche
    label_matched: bool
    matching_appellations: Sequence[Appellation] = ()

    def best_appellations(self, limit: int = MAX_MATCHED_APPELLATIONS) -> list[Appellation]:
        """A few of the matching appellations, shortest (most general) first.

        Sorted here, for the page being shown only: a common word matches thousands of them.
        """
        return sorted(self.matching_appellations, key=lambda a: (len(a.label), a.code))[:limit]


@dataclass(frozen=True, slots=True)
class RomeIndex:
    """ROME v4 in memory: fiches by code, their domaines, and word indexes of the labels."""

    dataset: DatasetVersion
    grands_domaines: dict[str, str]  # code → label
    domaines: dict[str, tuple[str, str]]  # code → (label, grand domaine code)
    fiches: tuple[Fiche, ...]  # by code
    _by_code: dict[str, Fiche] = field(repr=False)
    _fiche_words: WordIndex = field(repr=False)
    _appellations: tuple[tuple[Fiche, Appellation], ...] = field(repr=False)
    _appellation_words: WordIndex = field(repr=False)

    @property
    def version(self) -> str:
        return self.dataset.version

    def fiche(self, code: str) -> Fiche | None:
        return self._by_code.get(code.strip().upper())

    def search(self, query: str | None, sector: SectorCode | None = None) -> list[FicheMatch]:
        """Fiches matching ``query``, best first.

        ``F17``, ``f1703``: fiches whose code starts so. Otherwise every word must start a word
        of the fiche's label or of one of its appellations (accents, case and punctuation
        ignored; "de", "la"… only count when nothing else was typed); fiches whose own label
        matches come first, then by code.
        """
        fiches: Sequence[Fiche] = self.fiches
        if sector is not None:
            fiches = [fiche for fiche in fiches if fiche.sector is sector]
        text = (query or "").strip()
        if _CODE_PREFIX.match(text):
            prefix = text.upper()
            return [
                FicheMatch(fiche, True, ()) for fiche in fiches if fiche.code.startswith(prefix)
            ]
        words = normalise_name(text).split()
        words = [word for word in words if word not in _STOP_WORDS] or words
        if not words:
            return [FicheMatch(fiche, True, ()) for fiche in fiches]
        by_label = {self.fiches[i].code for i in self._fiche_words.matching(words)}
        by_appellation: defaultdict[str, list[Appellation]] = defaultdict(list)
        for index in self._appellation_words.matching(words):
            owner, appellation = self._appellations[index]
            by_appellation[owner.code].append(appellation)
        matches = [
            FicheMatch(fiche, fiche.code in by_label, by_appellation.get(fiche.code, ()))
            for fiche in fiches
            if fiche.code in by_label or fiche.code in by_appellation
        ]
        matches.sort(key=lambda match: (not match.label_matched, match.fiche.code))
        return matches

    def sector_prefixes(self, sector: Sector) -> list[tuple[str, str | None, list[str]]]:
        """For each ROME prefix of ``sector``: (prefix, grand domaine code, domaine codes)."""
        result: list[tuple[str, str | None, list[str]]] = []
        for prefix in sector.rome_prefixes:
            letter = prefix[:1]
            result.append(
                (
                    prefix,
                    letter if letter in self.grands_domaines else None,
                    sorted(code for code in self.domaines if code.startswith(prefix)),
                )
            )
        return result


def build_rome_index(
    dataset: DatasetVersion,
    grands_domaines: Sequence[tuple[str, str]],
    domaines: Sequence[tuple[str, str, str]],
    fiches: Sequence[tuple[str, str, str, str | None]],
    appellations: Sequence[tuple[str, str, str]],
) -> RomeIndex:
    """Build the index from stored rows (CPU work: run it off the event loop)."""
    owned: defaultdict[str, list[Appellation]] = defaultdict(list)
    for code, label, rome_code in sorted(appellations, key=lambda row: (row[2], row[1], row[0])):
        owned[rome_code].append(Appellation(code, label))
    built = tuple(
        Fiche(
            code=code,
            label=label,
            domaine_code=domaine_code,
            parent_code=parent_code,
            sector=sector_for_rome(code),
            appellations=tuple(owned.get(code, ())),
        )
        for code, label, domaine_code, parent_code in sorted(fiches)
    )
    pairs = tuple((fiche, appellation) for fiche in built for appellation in fiche.appellations)
    return RomeIndex(
        dataset=dataset,
        grands_domaines=dict(grands_domaines),
        domaines={code: (label, parent) for code, label, parent in domaines},
        fiches=built,
        _by_code={fiche.code: fiche for fiche in built},
        _fiche_words=WordIndex([normalise_name(fiche.label) for fiche in built]),
        _appellations=pairs,
        _appellation_words=WordIndex([normalise_name(a.label) for _, a in pairs]),
    )


async def load_rome_index(session: AsyncSession, dataset: DatasetVersion) -> RomeIndex:
    grands = await session.execute(select(col(RomeGrandDomaine.code), col(RomeGrandDomaine.label)))
    domaines = await session.execute(
        select(col(RomeDomaine.code), col(RomeDomaine.label), col(RomeDomaine.grand_domaine_code))
    )
    fiches = await session.execute(
        select(
            col(RomeFiche.code),
            col(RomeFiche.label),
            col(RomeFiche.domaine_code),
            col(RomeFiche.parent_code),
        )
    )
    appellations = await session.execute(
        select(
            col(RomeAppellation.code), col(RomeAppellation.label), col(RomeAppellation.rome_code)
        )
    )
    return await asyncio.to_thread(
        build_rome_index,
        dataset,
        [(r[0], r[1]) for r in grands.all()],
        [(r[0], r[1], r[2]) for r in domaines.all()],
        [(r[0], r[1], r[2], r[3]) for r in fiches.all()],
        [(r[0], r[1], r[2]) for r in appellations.all()],
    )


class ReferentialIndexes:
    """The process's in-memory indexes, each rebuilt only when its data has a new version.

    Concurrent requests share one build: the first takes the lock and builds, the others wait
    and use its result. Reads never block on a lock once the index is current.
    """

    def __init__(
        self, recheck_seconds: float = 0.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rome: RomeIndex | None = None
        self._qpv: QpvIndex | None = None
        self._communes: tuple[str, frozenset[str]] | None = None
        self._rome_lock = asyncio.Lock()
        self._qpv_lock = asyncio.Lock()
        self._communes_lock = asyncio.Lock()
        # The current version of each kind, as last read, and when (``time.monotonic``).
        self._recheck_seconds = recheck_seconds
        self._clock = clock
        self._seen: dict[DatasetKind, tuple[float, DatasetVersion | None]] = {}

    async def _current(self, session: AsyncSession, kind: DatasetKind) -> DatasetVersion | None:
        """The imported version of ``kind``, read again once ``recheck_seconds`` have passed."""
        seen = self._seen.get(kind)
        if seen is not None and self._clock() - seen[0] < self._recheck_seconds:
            return seen[1]
        dataset = await current_dataset(session, kind)
        self._seen[kind] = (self._clock(), dataset)
        return dataset

    async def rome(self, session: AsyncSession) -> RomeIndex:
        """The current ROME index; 503 when ROME was never imported."""
        dataset = await self._current(session, DatasetKind.ROME)
        if dataset is None:
            raise not_loaded(DatasetKind.ROME)
        index = self._rome
        if index is not None and index.version == dataset.version:
            return index
        async with self._rome_lock:
            index = self._rome
            if index is None or index.version != dataset.version:
                index = self._rome = await load_rome_index(session, dataset)
        return index

    async def qpv(self, session: AsyncSession) -> QpvIndex:
        """The current QPV index; 503 when no QPV polygons were imported."""
        index = await self.qpv_if_loaded(session)
        if index is None:
            raise not_loaded(DatasetKind.QPV)
        return index

    async def communes(self, session: AsyncSession) -> frozenset[str]:
        """The INSEE codes of the imported communes (none when they were never imported)."""
        dataset = await self._current(session, DatasetKind.COMMUNES)
        if dataset is None:
            return frozenset()
        known = self._communes
        if known is not None and known[0] == dataset.version:
            return known[1]
        async with self._communes_lock:
            known = self._communes
            if known is None or known[0] != dataset.version:
                codes = frozenset((await session.scalars(select(col(Commune.insee)))).all())
                known = self._communes = (dataset.version, codes)
        return known[1]

    async def qpv_if_loaded(self, session: AsyncSession) -> QpvIndex | None:
        dataset = await self._current(session, DatasetKind.QPV)
        if dataset is None:
            return None
        index = self._qpv
        if index is not None and _version_of(index) == dataset.version:
            return index
        async with self._qpv_lock:
            index = self._qpv
            if index is None or _version_of(index) != dataset.version:
                index = await load_qpv_index(session)
                if len(index) == 0:
                    return None
                self._qpv = index
        return index


def _version_of(index: QpvIndex) -> str | None:
    return index.dataset.version if index.dataset is not None else None


def indexes_of(app: Starlette) -> ReferentialIndexes:
    indexes = getattr(app.state, "referential_indexes", None)
    if not isinstance(indexes, ReferentialIndexes):
        raise RuntimeError("the application's lifespan has not run: no referential indexes")
    return indexes


def sector_or_none(code: str) -> Sector | None:
    try:
        return get_sector(code)
    except (KeyError, ValueError):
        return None
