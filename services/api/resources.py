"""The routes every resource of its kind repeats (contracts, offers): read one (``If-None-Match``),
create one (201, ``Location``, ``ETag``), change the fields sent (``If-Match``), and the locked
read every change starts with.

:class:`Resource` declares them on the resource's router with the names, path parameter and
documentation a route written by hand would have (``read_offer``, ``/{offer_id}``…), so the
OpenAPI document does not tell them apart. What is particular to a resource — its list and its
filters, its state changes — stays in its router, built on :meth:`Resource.locked` and
:meth:`Resource.respond`.

No ``from __future__ import annotations`` in this module: FastAPI reads the routes' annotations,
which name the resource's own schemas and path parameter, as they are declared.
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel
from starlette.status import HTTP_201_CREATED

from services.api.access import CREATE, UPDATE, Policy
from services.api.auth.dependencies import CurrentPrincipal
from services.api.body import Partly, body_schema, partly
from services.api.conditional import IfMatch, IfMatchDep, IfNoneMatchDep, etag_of
from services.api.deps import RequestIdDep, SessionDep
from services.api.locations import location
from services.api.validation import FieldError
from services.core.security.principal import Principal

RowT = TypeVar("RowT", bound=SQLModel)
PublicT = TypeVar("PublicT", bound=BaseModel)


class Creates(Protocol):
    """A service's creation: the fields read, the errors of those that could not be."""

    def __call__(
        self,
        session: AsyncSession,
        data: Any,
        principal: Principal,
        /,
        *,
        refused: Sequence[FieldError] = ...,
    ) -> Awaitable[Any]: ...


class Updates(Protocol):
    """A service's change of the fields sent, on the row locked for it."""

    def __call__(
        self,
        session: AsyncSession,
        row: Any,
        data: Any,
        principal: Principal,
        /,
        *,
        request_id: str | None = ...,
        refused: Sequence[FieldError] = ...,
    ) -> Awaitable[None]: ...


@dataclass(frozen=True)
class Resource(Generic[RowT, PublicT]):
    """One kind of resource: its router, its policy and its public representation (``of``
    makes it from a row; ``public`` is its class, the routes' response model). ``name`` names
    the routes (``read_<name>``…) and the path parameter (``<name>_id``)."""

    router: APIRouter
    policy: Policy[RowT]
    public: type[PublicT]
    of: Callable[[RowT], PublicT]
    name: str

    @property
    def _id(self) -> str:
        return f"{self.name}_id"

    def respond(self, response: Response, row: RowT) -> PublicT:
        """The representation of ``row``, its ``ETag`` set on ``response``."""
        public = self.of(row)
        response.headers["ETag"] = etag_of(public)
        return public

    async def locked(
        self,
        session: AsyncSession,
        principal: Principal,
        object_id: uuid.UUID,
        if_match: IfMatch | None = None,
    ) -> RowT:
        """The row, locked for a change the caller may make (404, 403); with ``if_match``, only
        if the caller read its current version (412)."""
        row = await self.policy.get(session, principal, object_id, action=UPDATE, for_update=True)
        if if_match is not None:
            if_match.check(etag_of(self.of(row)))
        return row

    def add_read(self, *, summary: str, description: str) -> None:
        """``GET /{<name>_id}``: the representation, or 304 when the caller's copy is current."""

        async def read(
            object_id: Annotated[uuid.UUID, Path(alias=self._id)],
            principal: CurrentPrincipal,
            session: SessionDep,
            if_none_match: IfNoneMatchDep,
            response: Response,
        ) -> Any:
            public = self.of(await self.policy.get(session, principal, object_id))
            return if_none_match.answer(response, public)

        self._add("GET", read, one=True, summary=summary, description=description)

    def add_create(
        self, body: type[BaseModel], creates: Creates, *, summary: str, description: str
    ) -> None:
        """``POST``: a new one (201, its ``Location`` and ``ETag``), with every error of the body
        and of the service's rules reported at once."""

        async def create(
            principal: CurrentPrincipal,
            sent: Annotated[Partly[Any], Depends(partly(body))],
            session: SessionDep,
            request: Request,
            response: Response,
        ) -> Any:
            self.policy.authorize(principal, CREATE)
            row = await creates(session, sent.readable(), principal, refused=sent.errors)
            ids = {self._id: row.id}
            response.headers["Location"] = location(request, f"read_{self.name}", **ids)
            return self.respond(response, row)

        self._add(
            "POST",
            create,
            one=False,
            status_code=HTTP_201_CREATED,
            openapi_extra=body_schema(body),
            summary=summary,
            description=description,
        )

    def add_update(
        self, body: type[BaseModel], updates: Updates, *, summary: str, description: str
    ) -> None:
        """``PATCH /{<name>_id}``: the fields sent changed, on the version the caller read
        (``If-Match``)."""

        async def update(
            object_id: Annotated[uuid.UUID, Path(alias=self._id)],
            principal: CurrentPrincipal,
            sent: Annotated[Partly[Any], Depends(partly(body))],
            if_match: IfMatchDep,
            session: SessionDep,
            request_id: RequestIdDep,
            response: Response,
        ) -> Any:
            row = await self.locked(session, principal, object_id, if_match)
            await updates(
                session,
                row,
                sent.readable(),
                principal,
                request_id=request_id,
                refused=sent.errors,
            )
            return self.respond(response, row)

        self._add(
            "PATCH",
            update,
            one=True,
            openapi_extra=body_schema(body),
            summary=summary,
            description=description,
        )

    def _add(
        self, method: str, endpoint: Callable[..., Any], *, one: bool, **documentation: Any
    ) -> None:
        """Declare ``endpoint`` as ``<its name>_<resource>`` (``read_offer``), on one resource
        (``/{<name>_id}``) or on the collection, answering the public representation."""
        self.router.add_api_route(
            f"/{{{self._id}}}" if one else "",
            endpoint,
            methods=[method],
            name=f"{endpoint.__name__}_{self.name}",
            response_model=self.public,
            **documentation,
        )
