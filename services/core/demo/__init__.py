"""``maillon up --demo``: a small believable territory to try Maillon with.

Each domain adds its loader to :data:`DEMO_LOADERS` (organisations, contracts and offers,
candidates…). Loaders are idempotent: running ``up --demo`` twice loads nothing twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.db import SessionMaker, unit_of_work
from services.core.demo.ledger import load_ledger
from services.core.demo.territory import load_territory

DemoLoader = Callable[[AsyncSession], Awaitable[str]]

DEMO_LOADERS: list[DemoLoader] = [load_territory, load_ledger]


async def load_demo(
    sessionmaker: SessionMaker, loaders: Sequence[DemoLoader] = DEMO_LOADERS
) -> str:
    """Run the demo loaders (by default the core's; the CLI adds those of the services) in one
    transaction; return what was loaded, in French."""
    async with unit_of_work(sessionmaker) as session:
        lines = [await loader(session) for loader in loaders]
    return "Jeu de démonstration :\n" + "\n".join(f"  {line}" for line in lines)
