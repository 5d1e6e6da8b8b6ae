"""What one request carries from the middlewares to the routes and back, in the ASGI scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.requests import HTTPConnection
from starlette.types import Scope

REQUEST_ID_HEADER = "X-Request-ID"

TRANSACTION_KEY = "maillon.transaction"

TransactionState = Literal["committed", "rolled_back"]


def set_request_id(scope: Scope, request_id: str) -> None:
    scope.setdefault("state", {})["request_id"] = request_id


def request_id_of(connection: HTTPConnection) -> str | None:
    value = connection.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


@dataclass
class TransactionOutcome:
    """How the request's database transaction ended (``None``: the request opened none).

    The session dependency writes it; the idempotency middleware reads it to store a response
    only when the work it describes was committed.
    """

    state: TransactionState | None = None


def transaction_outcome(scope: Scope) -> TransactionOutcome:
    outcome = scope.get(TRANSACTION_KEY)
    if not isinstance(outcome, TransactionOutcome):
        outcome = TransactionOutcome()
        scope[TRANSACTION_KEY] = outcome
    return outcome
