"""placement_hours: each placement's statement hours by status, kept by a trigger; backfilled

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07 10:30:00+00:00

The clause-progress report of a territory added up every statement line of its placements up to
the period's end (two million on P8). ``placement_hours`` holds, per placement with lines, the
count, hours and first and last month of its validated, declared and rejected lines, and the
first month of any (decision 0085); the progress queries read a placement's lines only when its
totals straddle the period's bounds. Triggers on ``statement_line`` keep it in the transaction
that writes the lines (``placement_hours_track``, ``placement_hours_recount``); the rows are made
here from the lines already stored.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The text each statement installs, frozen here as it ran (decision 0068): a later change is a
# later migration embedding its own text; the current text lives in
# services/core/ledger/sql/.

PLACEMENT_HOURS_RECOUNT = """
CREATE OR REPLACE FUNCTION placement_hours_recount(placements uuid[]) RETURNS void
LANGUAGE plpgsql
AS $fn$
BEGIN
  PERFORM 1 FROM placement_hours
  WHERE placement_id = ANY(placements)
  ORDER BY placement_id
  FOR UPDATE;
  INSERT INTO placement_hours AS t (
    placement_id, first_month,
    validated_lines, validated_worked, validated_training, validated_first, validated_last,
    declared_lines, declared_worked, declared_first, declared_last,
    rejected_lines, rejected_worked, rejected_first, rejected_last
  )
  SELECT l.placement_id, min(l.month),
         count(*) FILTER (WHERE l.status = 'validated'),
         coalesce(sum(l.hours_worked) FILTER (WHERE l.status = 'validated'), 0),
         coalesce(sum(l.training_hours) FILTER (WHERE l.status = 'validated'), 0),
         min(l.month) FILTER (WHERE l.status = 'validated'),
         max(l.month) FILTER (WHERE l.status = 'validated'),
         count(*) FILTER (WHERE l.status = 'declared'),
         coalesce(sum(l.hours_worked) FILTER (WHERE l.status = 'declared'), 0),
         min(l.month) FILTER (WHERE l.status = 'declared'),
         max(l.month) FILTER (WHERE l.status = 'declared'),
         count(*) FILTER (WHERE l.status = 'rejected'),
         coalesce(sum(l.hours_worked) FILTER (WHERE l.status = 'rejected'), 0),
         min(l.month) FILTER (WHERE l.status = 'rejected'),
         max(l.month) FILTER (WHERE l.status = 'rejected')
  FROM statement_line l
  WHERE l.placement_id = ANY(placements)
  GROUP BY l.placement_id
  ORDER BY l.placement_id
  ON CONFLICT (placement_id) DO UPDATE
  SET first_month = excluded.first_month,
      validated_lines = excluded.validated_lines,
      validated_worked = excluded.validated_worked,
      validated_training = excluded.validated_training,
      validated_first = excluded.validated_first,
      validated_last = excluded.validated_last,
      declared_lines = excluded.declared_lines,
      declared_worked = excluded.declared_worked,
      declared_first = excluded.declared_first,
      declared_last = excluded.declared_last,
      rejected_lines = excluded.rejected_lines,
      rejected_worked = excluded.rejected_worked,
      rejected_first = excluded.rejected_first,
      rejected_last = excluded.rejected_last;
  DELETE FROM placement_hours t
  WHERE t.placement_id = ANY(placements)
    AND NOT EXISTS (SELECT 1 FROM statement_line l WHERE l.placement_id = t.placement_id);
END
$fn$
"""

PLACEMENT_HOURS_TRACK = """
CREATE OR REPLACE FUNCTION placement_hours_track() RETURNS trigger
LANGUAGE plpgsql
AS $fn$
DECLARE
  moved uuid[];
BEGIN
  IF TG_OP = 'UPDATE' THEN
    -- Both statements join the two transition tables: EXECUTE plans them for this statement's
    -- number of lines (a plan cached from a small first statement would join 10,000 lines
    -- to 10,000 by nested loop).
    EXECUTE $q$
      SELECT ARRAY(
        SELECT x.placement_id
        FROM old_lines o JOIN new_lines n ON n.id = o.id
        CROSS JOIN LATERAL (VALUES (o.placement_id), (n.placement_id)) AS x (placement_id)
        WHERE (o.placement_id, o.month, o.status)
              IS DISTINCT FROM (n.placement_id, n.month, n.status)
      )
    $q$ INTO moved;
    IF cardinality(moved) > 0 THEN
      PERFORM placement_hours_recount(moved);
    END IF;
    EXECUTE $q$
      UPDATE placement_hours AS t
      SET validated_worked = t.validated_worked + d.validated_worked,
          validated_training = t.validated_training + d.validated_training,
          declared_worked = t.declared_worked + d.declared_worked,
          rejected_worked = t.rejected_worked + d.rejected_worked
      FROM (
        SELECT n.placement_id,
               coalesce(sum(n.hours_worked - o.hours_worked)
                        FILTER (WHERE n.status = 'validated'), 0) AS validated_worked,
               coalesce(sum(n.training_hours - o.training_hours)
                        FILTER (WHERE n.status = 'validated'), 0) AS validated_training,
               coalesce(sum(n.hours_worked - o.hours_worked)
                        FILTER (WHERE n.status = 'declared'), 0) AS declared_worked,
               coalesce(sum(n.hours_worked - o.hours_worked)
                        FILTER (WHERE n.status = 'rejected'), 0) AS rejected_worked
        FROM old_lines o JOIN new_lines n ON n.id = o.id
        WHERE (o.placement_id, o.month, o.status) = (n.placement_id, n.month, n.status)
          AND (o.hours_worked, o.training_hours) <> (n.hours_worked, n.training_hours)
          AND n.placement_id <> ALL($1)
        GROUP BY n.placement_id
      ) AS d
      WHERE t.placement_id = d.placement_id
    $q$ USING moved;
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN
    PERFORM placement_hours_recount(ARRAY(SELECT DISTINCT placement_id FROM old_lines));
    RETURN NULL;
  END IF;
  INSERT INTO placement_hours AS t (
    placement_id, first_month,
    validated_lines, validated_worked, validated_training, validated_first, validated_last,
    declared_lines, declared_worked, declared_first, declared_last,
    rejected_lines, rejected_worked, rejected_first, rejected_last
  )
  SELECT n.placement_id, min(n.month),
         count(*) FILTER (WHERE n.status = 'validated'),
         coalesce(sum(n.hours_worked) FILTER (WHERE n.status = 'validated'), 0),
         coalesce(sum(n.training_hours) FILTER (WHERE n.status = 'validated'), 0),
         min(n.month) FILTER (WHERE n.status = 'validated'),
         max(n.month) FILTER (WHERE n.status = 'validated'),
         count(*) FILTER (WHERE n.status = 'declared'),
         coalesce(sum(n.hours_worked) FILTER (WHERE n.status = 'declared'), 0),
         min(n.month) FILTER (WHERE n.status = 'declared'),
         max(n.month) FILTER (WHERE n.status = 'declared'),
         count(*) FILTER (WHERE n.status = 'rejected'),
         coalesce(sum(n.hours_worked) FILTER (WHERE n.status = 'rejected'), 0),
         min(n.month) FILTER (WHERE n.status = 'rejected'),
         max(n.month) FILTER (WHERE n.status = 'rejected')
  FROM new_lines n
  GROUP BY n.placement_id
  ORDER BY n.placement_id
  ON CONFLICT (placement_id) DO UPDATE
  SET first_month = least(t.first_month, excluded.first_month),
      validated_lines = t.validated_lines + excluded.validated_lines,
      validated_worked = t.validated_worked + excluded.validated_worked,
      validated_training = t.validated_training + excluded.validated_training,
      validated_first = least(t.validated_first, excluded.validated_first),
      validated_last = greatest(t.validated_last, excluded.validated_last),
      declared_lines = t.declared_lines + excluded.declared_lines,
      declared_worked = t.declared_worked + excluded.declared_worked,
      declared_first = least(t.declared_first, excluded.declared_first),
      declared_last = greatest(t.declared_last, excluded.declared_last),
      rejected_lines = t.rejected_lines + excluded.rejected_lines,
      rejected_worked = t.rejected_worked + excluded.rejected_worked,
      rejected_first = least(t.rejected_first, excluded.rejected_first),
      rejected_last = greatest(t.rejected_last, excluded.rejected_last);
  RETURN NULL;
END
$fn$
"""

TRIGGERS = (
    """
CREATE TRIGGER placement_hours_on_insert AFTER INSERT ON statement_line
  REFERENCING NEW TABLE AS new_lines
  FOR EACH STATEMENT EXECUTE FUNCTION placement_hours_track()
""",
    """
CREATE TRIGGER placement_hours_on_update AFTER UPDATE ON statement_line
  REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines
  FOR EACH STATEMENT EXECUTE FUNCTION placement_hours_track()
""",
    """
CREATE TRIGGER placement_hours_on_delete AFTER DELETE ON statement_line
  REFERENCING OLD TABLE AS old_lines
  FOR EACH STATEMENT EXECUTE FUNCTION placement_hours_track()
""",
)


def upgrade() -> None:
    op.create_table(
        "placement_hours",
        sa.Column("placement_id", sa.Uuid(), nullable=False),
        sa.Column("first_month", sa.Date(), nullable=False),
        sa.Column("validated_lines", sa.Integer(), nullable=False),
        sa.Column("validated_worked", sa.Numeric(12, 2), nullable=False),
        sa.Column("validated_training", sa.Numeric(12, 2), nullable=False),
        sa.Column("validated_first", sa.Date(), nullable=True),
        sa.Column("validated_last", sa.Date(), nullable=True),
        sa.Column("declared_lines", sa.Integer(), nullable=False),
        sa.Column("declared_worked", sa.Numeric(12, 2), nullable=False),
        sa.Column("declared_first", sa.Date(), nullable=True),
        sa.Column("declared_last", sa.Date(), nullable=True),
        sa.Column("rejected_lines", sa.Integer(), nullable=False),
        sa.Column("rejected_worked", sa.Numeric(12, 2), nullable=False),
        sa.Column("rejected_first", sa.Date(), nullable=True),
        sa.Column("rejected_last", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["placement.id"],
            name=op.f("fk_placement_hours_placement_id_placement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("placement_id", name=op.f("pk_placement_hours")),
    )
    op.execute(PLACEMENT_HOURS_RECOUNT)
    op.execute(PLACEMENT_HOURS_TRACK)
    for trigger in TRIGGERS:
        op.execute(trigger)
    op.execute(
        "SELECT placement_hours_recount(ARRAY(SELECT DISTINCT placement_id FROM statement_line))"
    )


def downgrade() -> None:
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER placement_hours_on_{name} ON statement_line")
    op.execute("DROP FUNCTION placement_hours_track()")
    op.execute("DROP FUNCTION placement_hours_recount(uuid[])")
    op.drop_table("placement_hours")
