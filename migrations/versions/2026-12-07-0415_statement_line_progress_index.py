"""statement_line: a covering index for the clause-progress queries

Revision ID: 0037
Revises: 0034
Create Date: 2026-12-07 04:15:00+00:00

A territory's quarterly clause-progress report adds up every statement line of its placements up
to the period's end (decision 0078): with the status and the hours in the index, PostgreSQL reads
them in placement order from the index alone and merges them with the placements, where it
otherwise scans the table and hashes two million rows.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_statement_line_progress",
        "statement_line",
        ["placement_id", "month"],
        postgresql_include=["status", "hours_worked", "training_hours"],
    )


def downgrade() -> None:
    op.drop_index("ix_statement_line_progress", table_name="statement_line")
