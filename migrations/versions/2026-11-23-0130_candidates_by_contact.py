"""candidates_by_contact: lock the contact keys, read the people they name, planned once

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 01:30:00+00:00

Every intake and import chunk locks its contact keys, then reads the stored people they name,
locked: two round trips, and planning the read over ``candidate`` (fourteen indexes) took about
1 ms at each call, more than running it. One PL/pgSQL function with a generic plan does both,
planned once per connection (decision 0030). It takes the same transaction-level advisory locks
as ``POST /v1/candidates``, in the same order (the keys sorted), then reads with a fresh snapshot
(a volatile PL/pgSQL function takes one per statement): a person created by a transaction that
held a lock is seen once it is released.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The keys as POST /v1/candidates locks them ("maillon:contact:phone:+33…", "…:email:…"),
    # sorted as one list: every locker takes them in the same order, no deadlock. Then each key
    # looked up through its own index (a join on the keys' list, whatever their number), and the
    # people read and locked by id, oldest first.
    op.execute(
        """
CREATE FUNCTION candidates_by_contact(phones text[], emails text[]) RETURNS SETOF candidate
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $fn$
BEGIN
  PERFORM count(pg_advisory_xact_lock(hashtextextended('maillon:contact:' || k, 0)))
  FROM (
    SELECT k FROM (
      SELECT 'phone:' || v FROM unnest(phones) AS p(v)
      UNION SELECT 'email:' || v FROM unnest(emails) AS e(v)
    ) AS keys(k)
    ORDER BY k
  ) AS ordered;
  RETURN QUERY
  SELECT c.* FROM candidate AS c
  WHERE c.id IN (
    SELECT p.id FROM unnest(phones) AS k(v) JOIN candidate AS p ON p.phone_e164 = k.v
    UNION SELECT e.id FROM unnest(emails) AS k(v) JOIN candidate AS e ON e.email = k.v
  )
  ORDER BY c.created_at, c.id
  FOR UPDATE;
END
$fn$
"""
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION candidates_by_contact(text[], text[])")
