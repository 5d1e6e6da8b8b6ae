"""The kinds of alert, their French labels, and the kinds nobody may opt out of.

Read by the API (preferences, the notification list) and by the notifications worker (routing,
rendering): one list for both.
"""

from __future__ import annotations

from enum import StrEnum

from services.core.models.notification import DIGEST_KIND, WEBHOOK_DISABLED_KIND


class AlertKind(StrEnum):
    CALLBACK_ASSIGNED = "callback.assigned"  # a case assigned to a prescriber / organisation
    CALLBACK_REMINDER = "callback.reminder"  # no attempt by day 14
    CALLBACK_URGENT = "callback.urgent"  # day 25
    CALLBACK_OVERDUE = "callback.overdue"  # day 30 — to the organisation's managers; mandatory
    CALLBACK_FOLLOW_UP = "callback.follow_up"  # next follow-up, 2 working days after a failure
    MATCH_SUGGESTED = "match.suggested"  # new top match for an offer
    CANDIDATE_RETENTION = "candidate.retention"  # anonymised in 30 days for want of activity


ALERT_KIND_LABELS: dict[AlertKind, str] = {
    AlertKind.CALLBACK_ASSIGNED: "Rappel à effectuer (nouvelle attribution)",
    AlertKind.CALLBACK_REMINDER: "Relance : aucune tentative de rappel au 14e jour",
    AlertKind.CALLBACK_URGENT: "Rappel urgent : 25e jour",
    AlertKind.CALLBACK_OVERDUE: "Délai de rappel de 30 jours dépassé",
    AlertKind.CALLBACK_FOLLOW_UP: "Nouvelle tentative de rappel à faire",
    AlertKind.MATCH_SUGGESTED: "Nouveau candidat suggéré pour une offre",
    AlertKind.CANDIDATE_RETENTION: "Dossier sans activité bientôt anonymisé",
}

MANDATORY_KINDS: frozenset[AlertKind] = frozenset({AlertKind.CALLBACK_OVERDUE})
"""Kinds nobody may opt out of; they are also always sent immediately (never held for the
digest)."""


def label(kind: str) -> str:
    """The French label of a notification's kind (an alert kind, the digest, a disabled
    webhook); the kind itself when unknown."""
    try:
        return ALERT_KIND_LABELS[AlertKind(kind)]
    except ValueError:
        return {
            DIGEST_KIND: "Récapitulatif quotidien",
            WEBHOOK_DISABLED_KIND: "Abonnement webhook désactivé",
        }.get(kind, kind)
