"""What the API and the notifications worker share about webhook subscriptions: the public event
types a subscription may choose (with their French labels), the body sent (versioned, decision
0083) and the shape of a signing secret (Standard Webhooks, ``whsec_`` + base64 of 32 random
bytes)."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime

from services.core.events import (
    CallbackOverdue,
    CandidatePlaced,
    ContractBehindSchedule,
    Event,
    MatchSuggested,
    OfferClosed,
    OfferPublished,
)

PUBLIC_EVENTS: dict[str, str] = {
    OfferPublished.type: "Offre publiée",
    OfferClosed.type: "Offre clôturée",
    MatchSuggested.type: "Candidats suggérés pour des offres",
    CallbackOverdue.type: "Délai de rappel de 30 jours dépassé",
    CandidatePlaced.type: "Candidat recruté",
    ContractBehindSchedule.type: "Marché en retard sur son rythme d'heures d'insertion",
}
"""Event types a subscription may choose, with their French labels."""

PAYLOAD_VERSION = 1
"""The version of the bodies sent (decision 0083): raised when a change could break a receiver
(a member removed, renamed or changing meaning); adding a member does not raise it."""


def body_of(event: Event, occurred_at: datetime) -> str:
    """The exact JSON sent and signed: ``{"version", "type", "timestamp", "data"}`` (ids only),
    described in the OpenAPI document's ``webhooks`` (services/api/openapi/webhooks.py)."""
    return json.dumps(
        {
            "version": PAYLOAD_VERSION,
            "type": event.type,
            "timestamp": occurred_at.isoformat().replace("+00:00", "Z"),
            "data": event.model_dump(mode="json", exclude=set(event.internal_fields)),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
