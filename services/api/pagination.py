"""The one pagination of every list: ``?page=&limit=`` in, ``{"items", "pagination"}`` out.

``limit`` above the instance maximum is refused (422), not silently lowered: a client that asked
for 500 rows and got 200 would think it had them all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Generic, NamedTuple, Self, TypeVar

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, QueryableAttribute

from services.api.deps import settings_of

T = TypeVar("T")


class PaginationParams(NamedTuple):
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


async def get_pagination(
    request: Request,
    page: Annotated[int, Query(ge=1, description="Numéro de page, à partir de 1.")] = 1,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            description="Éléments par page. Défaut et maximum : réglages de l'instance "
            "(MAILLON_PAGE_SIZE_DEFAULT, MAILLON_PAGE_SIZE_MAX).",
        ),
    ] = None,
) -> PaginationParams:
    settings = settings_of(request.app)
    if limit is None:
        return PaginationParams(page, settings.page_size_default)
    if limit > settings.page_size_max:
        raise RequestValidationError(
            [
                {
                    "type": "less_than_equal",
                    "loc": ("query", "limit"),
                    "msg": f"Input should be less than or equal to {settings.page_size_max}",
                    "ctx": {"le": settings.page_size_max},
                }
            ]
        )
    return PaginationParams(page, limit)


PaginationDep = Annotated[PaginationParams, Depends(get_pagination)]


class Pagination(BaseModel):
    page: int = Field(description="Numéro de cette page, à partir de 1.")
    limit: int = Field(description="Éléments par page demandés.")
    total_count: int = Field(
        description="Nombre d'éléments de toute la liste, toutes pages confondues."
    )
    max_page: int = Field(description="Numéro de la dernière page (0 si la liste est vide).")


class Page(BaseModel, Generic[T]):
    items: list[T] = Field(description="Les éléments de cette page, dans l'ordre de la liste.")
    pagination: Pagination = Field(description="Où en est la lecture de la liste.")

    @classmethod
    def build(cls, items: Sequence[T], total_count: int, params: PaginationParams) -> Self:
        return cls(
            items=list(items),
            pagination=Pagination(
                page=params.page,
                limit=params.limit,
                total_count=total_count,
                max_page=math.ceil(total_count / params.limit),
            ),
        )


async def paginate(
    session: AsyncSession, statement: Select[T], params: PaginationParams
) -> tuple[list[T], int]:
    """One page of ``statement``'s first column, and the total count of its rows.

    ``statement`` must have a total ``order_by`` (ending with a unique column), or pages overlap.
    Two queries rather than a window count: a page past the end still reports the true total.
    """
    count_query = select(func.count()).select_from(statement.order_by(None).subquery())
    total = (await session.execute(count_query)).scalar_one()
    if total == 0 or params.offset >= total:
        return [], total
    rows = await session.scalars(statement.offset(params.offset).limit(params.limit))
    return list(rows), total


async def paginate_by_key(
    session: AsyncSession,
    statement: Select[T],
    key: ColumnElement[Any] | QueryableAttribute[Any] | Mapped[Any],
    params: PaginationParams,
) -> tuple[list[T], int]:
    """:func:`paginate` for wide rows: the page's keys are chosen first on the sort columns
    alone, then its rows read by key. A search matching thousands of rows sorts their keys, not
    the rows (which spilled to disk for a common surname at a million candidates)."""
    count_query = select(func.count()).select_from(statement.order_by(None).subquery())
    total = (await session.execute(count_query)).scalar_one()
    if total == 0 or params.offset >= total:
        return [], total
    keys = list(
        await session.scalars(
            statement.with_only_columns(key).offset(params.offset).limit(params.limit)
        )
    )
    rows = await session.scalars(statement.where(key.in_(keys)))
    return list(rows), total
