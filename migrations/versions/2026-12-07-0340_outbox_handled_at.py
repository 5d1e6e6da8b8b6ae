"""outbox_event.handled_at: events done when their consumers handled them, reconciled otherwise

Revision ID: 0026
Revises: 0029
Create Date: 2026-12-07 03:40:00+00:00

An event was done once enqueued; Redis losing its queues lost it for good. The reconciler
(decision 0057) marks an event handled once every consumer has a ``processed_event`` (or a
``failed_event``) row for it, and enqueues it again otherwise; a partial index keeps its scan to
the events not yet handled. Events published before this revision are taken as handled: their
consumption marks may already be purged, and enqueuing them again could repeat their effects.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox_event", sa.Column("handled_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE outbox_event SET handled_at = published_at WHERE published_at IS NOT NULL")
    op.create_index(
        "ix_outbox_event_unhandled",
        "outbox_event",
        ["published_at"],
        postgresql_where=sa.text("published_at IS NOT NULL AND handled_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_event_unhandled", table_name="outbox_event")
    op.drop_column("outbox_event", "handled_at")
