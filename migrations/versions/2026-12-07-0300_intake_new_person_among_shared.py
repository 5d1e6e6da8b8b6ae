"""intake_new_person: somebody known only to another organisation does not count

Revision ID: 0021
Revises: 0018
Create Date: 2026-12-07 03:00:00+00:00

A phone or an e-mail must not open another organisation's record (decision 0044): a form finds a
person again only among the candidates already shared with the caller's organisations. The one
round trip of decision 0036 now says "somebody known" only of such a person, so that a form
naming somebody held elsewhere is written at once, as for somebody new, instead of falling back
to the locked read (which would not find them either, one round trip later). The function takes
the organisations as its third argument; the contact keys' locks, the snapshot taken after them
and the write are unchanged.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0021"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision_0017() -> ModuleType:
    """Revision 0017, whose function this one replaces (same locks, same write)."""
    path = Path(__file__).with_name("2026-11-23-0620_intake_in_one_round_trip.py")
    spec = importlib.util.spec_from_file_location("maillon_migration_0017", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_0017 = _revision_0017()
# Among the candidates shared with ``organisations``: the share's primary key
# (candidate_id, organisation_id) answers for each living person found by a key.
_SHARED = (
    "EXISTS (SELECT 1 FROM candidate_share AS s "
    "WHERE s.candidate_id = c.id AND s.organisation_id = ANY(organisations))"
)
INTAKE_NEW_PERSON = f"""
CREATE FUNCTION intake_new_person(
  phones text[], emails text[], organisations uuid[], candidates jsonb, shares jsonb,
  intakes jsonb, events jsonb, audits jsonb
) RETURNS boolean LANGUAGE plpgsql VOLATILE {_0017._SETTINGS} AS $fn$
{_0017._KEY_LOCKS}  -- A new statement, a new snapshot: whoever held a key before us has committed by now.
  IF EXISTS (
    SELECT 1 FROM candidate AS c
    WHERE c.phone_e164 = ANY(phones) AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
      AND {_SHARED}
  ) OR EXISTS (
    SELECT 1 FROM candidate AS c
    WHERE c.email = ANY(emails) AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
      AND {_SHARED}
  ) THEN
    RETURN false;
  END IF;
  {_0017._write(updates=False)}
  RETURN true;
END
$fn$
"""
_OLD = "intake_new_person(text[], text[], jsonb, jsonb, jsonb, jsonb, jsonb)"
_NEW = "intake_new_person(text[], text[], uuid[], jsonb, jsonb, jsonb, jsonb, jsonb)"


def upgrade() -> None:
    # Dropped, not overloaded: one function of the name, as the writer and its tests name it.
    op.execute(f"DROP FUNCTION {_OLD}")
    op.execute(INTAKE_NEW_PERSON)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {_NEW}")
    op.execute(_0017.INTAKE_NEW_PERSON)
