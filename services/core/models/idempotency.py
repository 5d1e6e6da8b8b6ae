"""Stored responses of POST requests sent with an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from services.core.models.base import TableBase


class IdempotencyRecord(TableBase, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    # Who sent it (user, API key or "anonymous"): keys are only unique per caller.
    principal: str = Field(sa_type=String(100), nullable=False)
    key: str = Field(sa_type=String(255), nullable=False)
    method: str = Field(sa_type=String(10), nullable=False)
    path: str = Field(sa_type=String(2000), nullable=False)
    request_hash: str = Field(sa_type=String(64), nullable=False)
    # NULL while the first request is still running.
    status_code: int | None = Field(default=None, sa_type=Integer)
    response_headers: list[list[str]] | None = Field(default=None, sa_type=JSONB)
    response_body: bytes | None = Field(default=None, sa_type=LargeBinary)
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False, index=True)

    def replay_headers(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in (self.response_headers or [])]

    @staticmethod
    def encode_headers(headers: Any) -> list[list[str]]:
        return [[str(k), str(v)] for k, v in headers]
