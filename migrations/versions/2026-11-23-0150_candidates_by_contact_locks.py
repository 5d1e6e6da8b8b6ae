"""candidates_by_contact takes the contact keys' advisory locks itself

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 01:50:00+00:00

An intake locked its contact keys in one statement, then read the people they name in another:
two round trips. The function now takes the same transaction-level advisory locks, in the same
order (the keys sorted), then reads with a fresh snapshot (a volatile PL/pgSQL function takes one
per statement): a person created by a transaction that held a lock is seen once it is released.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_READ = """
  RETURN QUERY
  SELECT c.* FROM candidate AS c
  WHERE c.id IN (
    SELECT p.id FROM unnest(phones) AS k(v) JOIN candidate AS p ON p.phone_e164 = k.v
    UNION SELECT e.id FROM unnest(emails) AS k(v) JOIN candidate AS e ON e.email = k.v
  )
  ORDER BY c.created_at, c.id
  FOR UPDATE;
"""


def upgrade() -> None:
    op.execute("DROP FUNCTION candidates_by_contact(text[], text[])")
    # The keys as POST /v1/candidates locks them ("maillon:contact:phone:+33…", "…:email:…"),
    # sorted as one list: every locker takes them in the same order, no deadlock.
    op.execute(
        f"""
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
{_READ}
END
$fn$
"""
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION candidates_by_contact(text[], text[])")
    op.execute(
        f"""
CREATE FUNCTION candidates_by_contact(phones text[], emails text[]) RETURNS SETOF candidate
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $fn$
BEGIN
{_READ}
END
$fn$
"""
    )
