"""candidates_by_contact: the people read with one index condition per contact key list

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 05:00:00+00:00

Joining the keys' list to ``candidate`` still left PostgreSQL a choice of join, made once per
connection (decision 0030) from the statistics of that moment: on a new instance's small table it
could walk a whole index where it meant to probe it (a perf profile under the P4 load showed the
function's time in heap fetches of index scans). The people are now read by conditions alone —
``phone_e164 = ANY(phones)``, ``email = ANY(emails)``, ``id = ANY(…)`` — which every plan
evaluates as index scans of those keys, whatever the table's size (decision 0033). Same locks,
same rows, same order.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HEAD = (
    "CREATE OR REPLACE FUNCTION candidates_by_contact(phones text[], emails text[]) "
    "RETURNS SETOF candidate LANGUAGE plpgsql VOLATILE "
    "SET plan_cache_mode = force_generic_plan SET enable_seqscan = off "
    "SET enable_hashjoin = off AS $fn$"
)
_LOCKS = """
BEGIN
  PERFORM count(pg_advisory_xact_lock(hashtextextended('maillon:contact:' || k, 0)))
  FROM (
    SELECT k FROM (
      SELECT 'phone:' || v FROM unnest(phones) AS p(v)
      UNION SELECT 'email:' || v FROM unnest(emails) AS e(v)
    ) AS keys(k)
    ORDER BY k
  ) AS ordered;
"""


def _function(people: str) -> str:
    """The function: the keys' locks, then the people ``people`` (a condition on ``c``) names,
    read and locked, oldest first."""
    return f"""{_HEAD}{_LOCKS}
  RETURN QUERY
  SELECT c.* FROM candidate AS c
  WHERE {people}
  ORDER BY c.created_at, c.id
  FOR UPDATE;
END
$fn$"""  # noqa: S608  (this file's constants)


def upgrade() -> None:
    op.execute(
        _function(
            """c.id = ANY(ARRAY(
    SELECT p.id FROM candidate AS p WHERE p.phone_e164 = ANY(phones)
    UNION SELECT e.id FROM candidate AS e WHERE e.email = ANY(emails)
  ))"""
        )
    )


def downgrade() -> None:
    op.execute(
        _function(
            """c.id IN (
    SELECT p.id FROM unnest(phones) AS k(v) JOIN candidate AS p ON p.phone_e164 = k.v
    UNION SELECT e.id FROM unnest(emails) AS k(v) JOIN candidate AS e ON e.email = k.v
  )"""
        )
    )
