"""Webhook subscriptions: an organisation's own. Seen and managed by the administrator (all), and
within the organisation by its facilitators, prescribers and employers — users and API keys of
those roles alike, a key also needing the scope ``webhooks:read|write``; front desks never
(decision 0041). Other roles: 403; other organisations': 404."""

from __future__ import annotations

from sqlalchemy import ColumnElement, true
from sqlmodel import col

from services.api.access import Policy
from services.core.models.notification import WEBHOOK_ROLES, WebhookSubscription
from services.core.security.principal import Principal


class WebhooksPolicy(Policy[WebhookSubscription]):
    model = WebhookSubscription
    resource = "webhooks"
    audit_type = "webhook_subscription"

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        alive = col(WebhookSubscription.deleted_at).is_(None)
        if principal.everywhere:
            return alive & true()
        return alive & (col(WebhookSubscription.organisation_id) == principal.organisation_id)

    def permits(self, principal: Principal, action: str, obj: WebhookSubscription | None) -> bool:
        # The role alone decides, whoever holds it: a user and a key of one role get one answer.
        return principal.role in WEBHOOK_ROLES


policy = WebhooksPolicy()
