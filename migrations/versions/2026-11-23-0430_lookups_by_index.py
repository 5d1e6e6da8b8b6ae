"""The write path's PL/pgSQL functions read through their indexes whatever the tables' size

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 04:30:00+00:00

``candidates_by_contact`` and ``match_profile_sync`` keep one generic plan per connection
(decision 0030), made at their first call from the statistics of that moment: a connection
opened while ``candidate`` or ``match_profile`` was small kept plans scanning the whole table
(a hash join over ``candidate``, a sequential scan of ``match_profile`` for the ids to delete),
and paid them at every intake as the tables grew, until the next ``ANALYZE``: a new instance
pays it most. Both only look up a handful of keys, each through an index: sequential scans and
hash joins are off for these two functions only, so every plan they can get probes the indexes
(decision 0033).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTIONS = ("candidates_by_contact(text[], text[])", "match_profile_sync(uuid[])")


def upgrade() -> None:
    for function in _FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SET enable_seqscan = off")
        op.execute(f"ALTER FUNCTION {function} SET enable_hashjoin = off")


def downgrade() -> None:
    for function in _FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} RESET enable_hashjoin")
        op.execute(f"ALTER FUNCTION {function} RESET enable_seqscan")
