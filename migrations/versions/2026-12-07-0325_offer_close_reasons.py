"""offer_close_reasons: an offer's close reason is one of a fixed list, never free text

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-07 03:25:00+00:00

A free-text close reason could carry personal data ("pourvu par M. Dupont"). The reason is now
one of ``CloseReason`` (services/core/models/offer.py), checked by the database too. Existing
texts are mapped on their words (filled, cancelled, duplicate, contract ended, no suitable
candidate); any other text becomes ``other`` — the text itself is dropped, as it may name a
person. Downgrading keeps the codes as they are (they fit the old column).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REASONS = (
    "filled",
    "filled_elsewhere",
    "cancelled",
    "contract_ended",
    "no_suitable_candidate",
    "duplicate",
    "other",
)

# First matching pattern wins (PostgreSQL POSIX regular expressions, on the unaccented text in
# lower case — accents are folded by translate() so that no extension is needed).
_FOLD = "translate(lower(close_reason), 'àâäéèêëîïôöùûüç', 'aaaeeeeiioouuuc')"
_MAPPING = (
    ("duplicate", r"doublon|en double|duplicate"),
    ("contract_ended", r"march[e]? (termine|clos|resilie|fini)|fin du marche|resiliation"),
    ("cancelled", r"annul|abandon|plus de besoin|supprim"),
    ("no_suitable_candidate", r"aucun(e)? (candidat|profil)|pas de (candidat|profil)|infructueu"),
    ("filled_elsewhere", r"pourvu.*(hors|autre|ailleurs|interim|en direct)"),
    ("filled", r"pourvu|recrut|embauch|filled"),
)


def upgrade() -> None:
    cases = " ".join(f"WHEN {_FOLD} ~ '{pattern}' THEN '{code}'" for code, pattern in _MAPPING)
    op.execute(
        "UPDATE offer SET close_reason = CASE "  # noqa: S608  (this file's constants)
        f"WHEN close_reason IN ({', '.join(repr(r) for r in REASONS)}) THEN close_reason "
        f"{cases} ELSE 'other' END "
        "WHERE close_reason IS NOT NULL"
    )
    op.alter_column(
        "offer",
        "close_reason",
        type_=sa.String(30),
        existing_type=sa.String(500),
        existing_nullable=True,
    )
    op.create_check_constraint(
        op.f("ck_offer_close_reason_known"),
        "offer",
        f"close_reason IS NULL OR close_reason IN ({', '.join(repr(r) for r in REASONS)})",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_offer_close_reason_known"), "offer", type_="check")
    op.alter_column(
        "offer",
        "close_reason",
        type_=sa.String(500),
        existing_type=sa.String(30),
        existing_nullable=True,
    )
