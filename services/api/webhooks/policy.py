"""Webhook subscriptions: an organisation's own. Seen and managed by the administrator (all),
and within the organisation by a facilitator, a manager, or an API key with the scope
``webhooks:read|write`` (decision 0023). Other roles: 403; other organisations': 404."""

from __future__ import annotations

from sqlalchemy import ColumnElement, true
from sqlmodel import col

from services.api.access import Policy
from services.core.models.notification import WebhookSubscription
from services.core.models.user import Role
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
        if principal.everywhere:
            return True
        if principal.kind == "api_key":
            return True  # its scopes decide (checked before)
        return principal.role is Role.FACILITATOR or principal.is_manager


policy = WebhooksPolicy()
