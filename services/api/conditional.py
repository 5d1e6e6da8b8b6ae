"""Strong ETags and conditional requests (RFC 9110 §13).

A resource endpoint computes ``etag_of(representation)`` and sets it on its response; a read
takes ``IfNoneMatchDep`` (304 when the client's copy is current), an update takes ``IfMatchDep``
(428 without the header, 412 when the resource changed since the client read it)::

    @router.put("/offers/{offer_id}")
    async def update(..., if_match: IfMatchDep, response: Response) -> OfferPublic:
        offer = await service.get(session, offer_id)
        if_match.check(etag_of(OfferPublic.model_validate(offer)))
        ...
        response.headers["ETag"] = etag_of(updated)

The ETag hashes the public representation, so it changes exactly when what clients see changes,
whatever the clock says (``updated_at`` can repeat under a frozen or coarse clock).
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, TypeVar

from fastapi import Depends, FastAPI, Header, Request
from pydantic import BaseModel
from starlette.responses import Response

from services.api.errors import PreconditionFailed, PreconditionRequired

RepresentationT = TypeVar("RepresentationT", bound=BaseModel)

_ENTITY_TAG = re.compile(r'(W/)?("[^"]*")')


def etag_of(representation: BaseModel) -> str:
    digest = hashlib.sha256(representation.model_dump_json().encode()).hexdigest()
    return f'"{digest[:32]}"'


def _entity_tags(header: str) -> list[tuple[bool, str]]:
    """``(weak, opaque tag)`` pairs of an If-Match / If-None-Match list."""
    return [(bool(weak), tag) for weak, tag in _ENTITY_TAG.findall(header)]


class NotModified(Exception):
    """Raised to answer 304; rendered by :func:`install_conditional_handlers`."""

    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


class IfNoneMatch:
    def __init__(self, header: str | None) -> None:
        self.header = header

    def check(self, current_etag: str) -> None:
        """Raise :class:`NotModified` when the client already has ``current_etag``."""
        if self.header is None:
            return
        if self.header.strip() == "*" or any(
            tag == current_etag for _weak, tag in _entity_tags(self.header)
        ):
            raise NotModified(current_etag)

    def answer(self, response: Response, representation: RepresentationT) -> RepresentationT:
        """Tag ``representation`` (``ETag`` header), or answer 304 if the client holds it."""
        etag = etag_of(representation)
        self.check(etag)
        response.headers["ETag"] = etag
        return representation


class IfMatch:
    def __init__(self, header: str) -> None:
        self.header = header

    def check(self, current_etag: str) -> None:
        """Raise 412 unless the client's tag is ``current_etag`` (strong comparison)."""
        if self.header.strip() == "*":
            return
        if not any(not weak and tag == current_etag for weak, tag in _entity_tags(self.header)):
            raise PreconditionFailed(headers={"ETag": current_etag})


async def get_if_none_match(
    if_none_match: Annotated[
        str | None, Header(alias="If-None-Match", description="ETag de la copie détenue.")
    ] = None,
) -> IfNoneMatch:
    return IfNoneMatch(if_none_match)


async def get_if_match(
    if_match: Annotated[
        str | None,
        Header(alias="If-Match", description="ETag de la version lue (obligatoire)."),
    ] = None,
) -> IfMatch:
    # Checked before anything is loaded: no header, no work.
    if if_match is None:
        raise PreconditionRequired()
    return IfMatch(if_match)


IfNoneMatchDep = Annotated[IfNoneMatch, Depends(get_if_none_match)]
IfMatchDep = Annotated[IfMatch, Depends(get_if_match)]


async def _not_modified(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotModified)
    return Response(status_code=304, headers={"ETag": exc.etag})


def install_conditional_handlers(app: FastAPI) -> None:
    app.add_exception_handler(NotModified, _not_modified)
