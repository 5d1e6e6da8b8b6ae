"""Unique constraints as 409s: the database decides, the client reads a French conflict."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.errors import MaillonError

UNIQUE_VIOLATION = "23505"


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the unique constraint ``error`` broke, if that is what happened."""
    if getattr(error.orig, "sqlstate", None) != UNIQUE_VIOLATION:
        return None
    cause = getattr(error.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None)
    return name if isinstance(name, str) else None


@asynccontextmanager
async def unique_or_conflict(
    session: AsyncSession, conflicts: Mapping[str, MaillonError]
) -> AsyncIterator[None]:
    """Flush what the block adds or changes in a savepoint; a violation of one of the named
    unique constraints becomes its error, and the request's transaction stays usable.

    A check before the write would race with a concurrent request; the constraint does not.
    Changes pending before the block are flushed before the savepoint opens.
    """
    try:
        async with session.begin_nested():
            yield
            await session.flush()
    except IntegrityError as error:
        conflict = conflicts.get(violated_constraint(error) or "")
        if conflict is None:
            raise
        raise conflict from None
