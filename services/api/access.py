"""Access control, one mechanism for every resource.

Each resource declares a :class:`Policy`: which rows a caller may see at all (an SQL condition
applied to every query, so an object outside the caller's scope does not exist for them: 404 for
reads and writes alike), and which actions the caller may take on a visible object (403
otherwise). API keys are further narrowed by their scopes. Reads of personal data are written to
the audit log here, not in handlers.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from services.api.errors import Forbidden, NotFound
from services.core import audit
from services.core.security.principal import Access, Principal

ModelT = TypeVar("ModelT", bound=SQLModel)

READ = "read"
CREATE = "create"
UPDATE = "update"
DELETE = "delete"


class Policy(ABC, Generic[ModelT]):
    """Define :meth:`visible` and :meth:`permits`; set ``model``, ``resource``, ``audit_type``."""

    model: type[ModelT]
    resource: ClassVar[str]  # plural, as in API key scopes and audit entries: "contracts"
    audit_type: ClassVar[str]  # singular, for the audit log: "contract"
    personal_data: ClassVar[bool] = False  # reads are audited when True

    @abstractmethod
    def visible(self, principal: Principal) -> ColumnElement[bool]:
        """SQL condition: the rows ``principal`` may see at all."""

    @abstractmethod
    def permits(self, principal: Principal, action: str, obj: ModelT | None) -> bool:
        """May ``principal`` take ``action`` on ``obj`` (``None``: creating a new one)?"""

    # -- what handlers call ---------------------------------------------------------------

    def require_scope(self, principal: Principal, action: str) -> None:
        access = Access.READ if action == READ else Access.WRITE
        if not principal.may_use(self.resource, access):
            raise Forbidden(f"Cette clé d'API n'a pas le droit « {self.resource}:{access.value} ».")

    def authorize(self, principal: Principal, action: str, obj: ModelT | None = None) -> None:
        self.require_scope(principal, action)
        if not self.permits(principal, action, obj):
            raise Forbidden()

    def query(self, principal: Principal) -> Select[ModelT]:
        """``SELECT`` of the rows the caller may see (lists start here).

        A role that may not read this kind of object at all (``permits(READ, None)`` false) gets
        403 rather than an always-empty list.
        """
        self.authorize(principal, READ)
        return select(self.model).where(self.visible(principal))

    async def get(
        self,
        session: AsyncSession,
        principal: Principal,
        object_id: uuid.UUID,
        *,
        action: str = READ,
        for_update: bool = False,
        request_id: str | None = None,
    ) -> ModelT:
        """The object if the caller may see it (else 404) and take ``action`` (else 403)."""
        self.require_scope(principal, action)
        query = select(self.model).where(
            col(self.model.id) == object_id,  # type: ignore[attr-defined]
            self.visible(principal),
        )
        if for_update:
            query = query.with_for_update()
        obj = await session.scalar(query)
        if obj is None:
            raise NotFound()
        if not self.permits(principal, action, obj):
            raise Forbidden()
        if action == READ and self.personal_data:
            self.audit(session, principal, READ, obj, request_id=request_id)
        return obj

    def audit(
        self,
        session: AsyncSession,
        principal: Principal,
        action: str,
        obj: ModelT,
        *,
        request_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        audit.record(
            session,
            principal,
            action,
            self.audit_type,
            getattr(obj, "id", None),
            request_id=request_id,
            details=details,
        )

    def audit_list(
        self,
        session: AsyncSession,
        principal: Principal,
        items: list[ModelT],
        *,
        request_id: str | None = None,
    ) -> None:
        """A list of personal data is a read of each item: one entry naming them all."""
        self.audit_ids(
            session, principal, [getattr(item, "id", "") for item in items], request_id=request_id
        )

    def audit_ids(
        self,
        session: AsyncSession,
        principal: Principal,
        ids: Sequence[uuid.UUID | str],
        *,
        request_id: str | None = None,
    ) -> None:
        """:meth:`audit_list` for items known by their ids alone (rows written set-based)."""
        if not self.personal_data or not ids:
            return
        audit.record(
            session,
            principal,
            "list",
            self.audit_type,
            None,
            request_id=request_id,
            details={"ids": [str(item_id) for item_id in ids]},
        )
