-- placement_hours_track: Keeps placement_hours (decision 0085) equal to the statement lines, in
-- the transaction that writes them. New lines are added to their placement's totals, and lines
-- whose hours alone changed add the difference (a locked row each: concurrent writers queue);
-- lines that changed status, month or placement (validated, rejected, declared again…) or were
-- deleted have their placements' totals made again from the lines (placement_hours_recount).
-- Current text installed by migration 0038 (2026-12-07-1030_placement_hours.py).

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
$fn$;

CREATE TRIGGER placement_hours_on_insert AFTER INSERT ON statement_line
  REFERENCING NEW TABLE AS new_lines
  FOR EACH STATEMENT EXECUTE FUNCTION placement_hours_track();

CREATE TRIGGER placement_hours_on_update AFTER UPDATE ON statement_line
  REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines
  FOR EACH STATEMENT EXECUTE FUNCTION placement_hours_track();

CREATE TRIGGER placement_hours_on_delete AFTER DELETE ON statement_line
  REFERENCING OLD TABLE AS old_lines
  FOR EACH STATEMENT EXECUTE FUNCTION placement_hours_track();
