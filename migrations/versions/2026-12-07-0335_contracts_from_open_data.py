"""contracts found in the public buyers' open data (DECP)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 03:35:00+00:00

``maillon import decp`` (decision 0064) creates ``discovered`` contracts, found again by their
DECP ``uid``; the buyers and holders it does not know yet are created by SIRET, without a commune
(the open data gives none).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contract", sa.Column("decp_uid", sa.String(length=100), nullable=True))
    op.create_unique_constraint(op.f("uq_contract_decp_uid"), "contract", ["decp_uid"])
    op.alter_column("organisation", "commune_insee", nullable=True)


def downgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM organisation WHERE commune_insee IS NULL) THEN
                RAISE EXCEPTION 'des organisations sans commune (trouvées dans les données '
                                'ouvertes) : renseignez leur commune avant de revenir en arrière';
            END IF;
        END $$
        """
    )
    op.alter_column("organisation", "commune_insee", nullable=False)
    op.execute("DELETE FROM contract WHERE status = 'discovered'")
    op.drop_constraint(op.f("uq_contract_decp_uid"), "contract", type_="unique")
    op.drop_column("contract", "decp_uid")
