"""match profiles keep an unknown mobility radius unknown (NULL), reach still the default

Revision ID: 0019
Revises: 0020
Create Date: 2026-12-07 03:10:00+00:00

A person who gave no mobility radius was profiled with the default radius (20 km) and scored as
if they had declared it: more distance points than someone who declared 15 km at the same
distance (issue 13). The reach box still uses the default radius (who is within reach does not
change), but ``radius_km`` is now NULL when the person gave none, so the ranking can score an
unknown radius below a declared one (decision 0038).
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0019"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision_0016() -> ModuleType:
    """Revision 0016, whose ``match_profile_sync`` is the one in place."""
    path = Path(__file__).with_name("2026-11-23-0600_profiles_from_new_rows.py")
    spec = importlib.util.spec_from_file_location("maillon_migration_0016", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_0016 = _revision_0016()
_SYNC_BEFORE: str = _0016._sync(_0016._LISTS)
# The profile's radius column: the radius the reach was drawn with, now the declared one.
_RADIUS_BEFORE = "  point(h.lon, h.lat),\n  r.km,\n"
_RADIUS = "  point(h.lon, h.lat),\n  c.mobility_radius_km,\n"
_SYNC = _SYNC_BEFORE.replace(_RADIUS_BEFORE, _RADIUS, 1)
_DEFAULT_RADIUS_KM: int = _0016._0009.DEFAULT_RADIUS_KM


def upgrade() -> None:
    assert _SYNC_BEFORE.count(_RADIUS_BEFORE) == 1
    op.execute("ALTER TABLE match_profile ALTER COLUMN radius_km DROP NOT NULL")
    op.execute(_SYNC)
    op.execute(
        "UPDATE match_profile AS p SET radius_km = NULL FROM candidate AS c"
        " WHERE c.id = p.candidate_id AND c.mobility_radius_km IS NULL"
    )


def downgrade() -> None:
    op.execute(_SYNC_BEFORE)
    op.execute(
        f"UPDATE match_profile SET radius_km = {_DEFAULT_RADIUS_KM} WHERE radius_km IS NULL"  # noqa: S608
    )
    op.execute("ALTER TABLE match_profile ALTER COLUMN radius_km SET NOT NULL")
