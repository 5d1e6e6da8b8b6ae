"""webhook subscriptions receive events with a role

Revision ID: 0020
Revises: 0021
Create Date: 2026-12-07 03:05:00+00:00

A subscription receives what a caller of its role in its organisation may read through the API
(decision 0041): the role is its creator's. Existing subscriptions take their creating user's
role; those made by an API key (no creator recorded) take ``reception``, which receives only
what every caller reads (offers) until a facilitator, prescriber or employer subscribes anew,
so that none receives more than before without someone choosing it. Delivery errors already
logged become kinds of the fixed list of decision 0042.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("webhook_subscription", sa.Column("role", sa.String(length=20), nullable=True))
    op.execute(
        """
        UPDATE webhook_subscription AS s
           SET role = coalesce(
                   (SELECT u.role FROM user_account AS u WHERE u.id = s.created_by_user_id),
                   'reception')
        """
    )
    op.alter_column("webhook_subscription", "role", nullable=False)
    # Delivery errors become kinds from a fixed list (decision 0042) instead of the HTTP
    # client's exception names.
    op.execute(
        """
        UPDATE webhook_delivery
           SET last_error = CASE
                 WHEN last_error LIKE 'HTTP %' THEN 'http_status'
                 WHEN last_error IN ('ConnectError', 'ConnectTimeout') THEN 'connection_failed'
                 WHEN last_error LIKE '%Timeout%' THEN 'timeout'
                 WHEN last_error = 'abonnement supprimé' THEN 'subscription_deleted'
                 WHEN last_error LIKE 'abonnement désactivé%' THEN 'subscription_disabled'
                 ELSE 'request_failed'
               END
         WHERE last_error IS NOT NULL
           AND last_error NOT IN ('timeout', 'connection_failed', 'tls_error', 'refused_address',
                                  'name_not_resolved', 'http_status', 'request_failed',
                                  'subscription_disabled', 'subscription_deleted')
        """
    )


def downgrade() -> None:
    op.drop_column("webhook_subscription", "role")
