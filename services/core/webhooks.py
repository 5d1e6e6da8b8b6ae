"""What the API and the notifications worker share about webhook subscriptions: the public event
types a subscription may choose (with their French labels), and the shape of a signing secret
(Standard Webhooks, ``whsec_`` + base64 of 32 random bytes)."""

from __future__ import annotations

import base64
import secrets

from services.core.events import (
    CallbackOverdue,
    CandidatePlaced,
    ContractBehindSchedule,
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

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
