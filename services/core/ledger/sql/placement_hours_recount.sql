-- placement_hours_recount: Makes again, from their statement lines, the hours totals of the given
-- placements (placement_hours, decision 0085): a row per placement with lines, none without.
-- Called by placement_hours_track when lines change or leave, and after a bulk load. The rows
-- are locked first: a writer adding lines meanwhile has committed before the totals are read.
-- Current text installed by migration 0038 (2026-12-07-1030_placement_hours.py).

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
$fn$;
