-- Clause progress (product.md §8.6, decision 0078): the set-based queries behind
-- services/core/ledger/progress.py. Each query starts with a "-- name:" line; values are bound.
--
-- ``{in_scope}`` stands for the attributions whose hours the scope counts (``in_scope`` below,
-- with the lines ``in_scope_lot`` / ``in_scope_company`` added for a lot / a company): the
-- attributions of its contracts, narrowed to one lot, or to one company and the attributions
-- below its own (a subcontractor's hours count in its holder's total, §8). Written out per
-- scope rather than as "parameter IS NULL OR …", so that each query keeps a plan made for it.
-- ``{ruled}``: those attributions with their obligation's rules (one obligation per lot, or per
-- contract without lots, decision 0075), two joins on plain columns that PostgreSQL estimates.
--
-- Counted hours of a line repeat services/core/ledger/counted.py (decision 0074) as one SQL
-- expression; tests/api/test_clause_progress.py checks both on the same lines.

-- name: in_scope
SELECT a.id, a.contract_id, a.lot_id
FROM attribution a
LEFT JOIN attribution parent ON parent.id = a.parent_attribution_id
WHERE a.contract_id = ANY(:scope_contracts)

-- name: in_scope_lot
  AND a.lot_id = :scope_lot

-- name: in_scope_company
  AND (a.organisation_id = :scope_company OR parent.organisation_id = :scope_company)

-- name: ruled
-- The scope's attributions with their obligation's rules: a lot's, or a contract's without lots.
SELECT a.id, o.allowed_modalities, o.eligible_publics, o.training_counts, o.cdi_cap_years,
       o.statement_schedule, o.statement_due_day
FROM in_scope a JOIN obligation o ON o.lot_id = a.lot_id
UNION ALL
SELECT a.id, o.allowed_modalities, o.eligible_publics, o.training_counts, o.cdi_cap_years,
       o.statement_schedule, o.statement_due_day
FROM in_scope a JOIN obligation o ON o.contract_id = a.contract_id AND o.lot_id IS NULL
WHERE a.lot_id IS NULL

-- name: obligations
-- The obligations of the scope, with what they owe (× the company's allocated share for a
-- company scope), their contract's dates and the hours worked declared up to the period's end.
WITH shares AS (
    -- Company scope: the share of each obligation the company owes (its own attributions, not
    -- those it is a subcontractor on: those hours count in the holder's obligation).
    SELECT o.id AS obligation_id,
           sum(CASE
                   WHEN a.allocated_share_percent IS NOT NULL THEN a.allocated_share_percent
                   WHEN a.role = 'holder' THEN 100
                   ELSE 0
               END) AS percent
    FROM attribution a
    JOIN obligation o ON o.contract_id = a.contract_id AND coalesce(o.lot_id, o.contract_id) = coalesce(a.lot_id, a.contract_id)
    WHERE CAST(:scope_company AS uuid) IS NOT NULL
      AND a.organisation_id = :scope_company
      AND a.role <> 'subcontractor'
      AND a.contract_id = ANY(:scope_contracts)
    GROUP BY o.id
)
SELECT o.id, o.contract_id, o.lot_id, l.number AS lot_number, l.title AS lot_title,
       c.reference AS contract_reference, c.title AS contract_title,
       c.start_date, c.end_date, o.method,
       CASE
           WHEN CAST(:scope_company AS uuid) IS NULL THEN o.hours_owed
           ELSE round(o.hours_owed * coalesce(s.percent, 0) / 100, 2)
       END AS hours_owed,
       o.penalty_per_missing_hour, o.anru_family, o.budget_plan_line,
       o.statement_schedule, o.statement_due_day,
       (SELECT sum(d.hours_worked) FROM obligation_declaration d
        WHERE d.obligation_id = o.id AND d.period_start <= :end) AS hours_worked_declared
FROM obligation o
JOIN contract c ON c.id = o.contract_id
LEFT JOIN contract_lot l ON l.id = o.lot_id
LEFT JOIN shares s ON s.obligation_id = o.id
WHERE o.contract_id = ANY(:scope_contracts)
  AND (CAST(:scope_lot AS uuid) IS NULL OR o.lot_id = :scope_lot)
  AND (CAST(:scope_company AS uuid) IS NULL OR s.obligation_id IS NOT NULL)
ORDER BY c.reference, l.number NULLS FIRST;

-- name: sums
-- Every sum of the report, added up here rather than row by row in Python: hours of the
-- started placements (counted in the period and up to its end, declared and not yet validated,
-- rejected; in hundredths of an hour, integers add up faster than numerics, and exactly) and
-- statements due, received and late, per attribution first, then per obligation (contract, lot),
-- per company (its own attributions and those of its subcontractors below them, each once),
-- for the whole scope, and the period's counted hours by modality, employer's kind and company
-- size. One row per figure's key: ``kind`` says which (obligation, company, total, modality,
-- employer_kind, size), ``label`` holds the modality, kind or size.
--
-- Hours: ``counting`` gives each placement what its lines count by (decision 0074): whether its
-- modality and its participant's criteria count at all, and the months that do — from its
-- start's month to its end, and for a capped CDI to the day before its start + the cap.
-- Each sum takes a window of months; a placement's totals by status (placement_hours, decision
-- 0085: count, hours, first and last month) give it at once when its lines of that status all
-- fall inside the window (their total) or outside (nothing); only a placement whose lines
-- straddle a bound has them read, those of the window alone. A placement counts when it has a
-- line up to the period's end.
--
-- Statements due in the period: per attribution and statement period (of its obligation's
-- schedule) ending within the period and due by today, when one of its started placements meets
-- the statement period; received when a line of one of its months exists, late when none was
-- declared by the end of the due day (Paris).
WITH in_scope AS ({in_scope}),
ruled AS ({ruled}),
counting AS (
    SELECT p.id, o.id AS attribution_id, p.modality, e.company_kind AS employer_kind,
           p.qpv_resident, o.training_counts,
           p.modality = ANY(o.allowed_modalities)
               AND (nullif(p.exception_reason, '') IS NOT NULL
                    OR (cardinality(p.eligibility_criteria) > 0
                        AND (cardinality(o.eligible_publics) = 0
                             OR p.eligibility_criteria && o.eligible_publics))) AS counts,
           date_trunc('month', p.start_date)::date AS first_month,
           least(
               p.end_date,
               CASE WHEN o.cdi_cap_years IS NOT NULL AND p.contract_type = 'CDI'
                    THEN (p.start_date + make_interval(years => o.cdi_cap_years)
                          - interval '1 day')::date
               END
           ) AS last_day
    FROM ruled o
    JOIN placement p ON p.attribution_id = o.id AND p.status = 'active'
    JOIN organisation e ON e.id = p.employer_id
),
per_placement AS (
    SELECT c.attribution_id, c.modality, c.employer_kind, c.qpv_resident,
           CASE
               WHEN NOT c.counts OR h.validated_lines = 0
                    OR h.validated_first > w.counted_to OR h.validated_last < w.period_from
                   THEN 0
               WHEN h.validated_first >= w.period_from AND h.validated_last <= w.counted_to
                   THEN ((h.validated_worked - w.training) * 100)::bigint
               ELSE (SELECT sum(((l.hours_worked - CASE WHEN c.training_counts THEN 0
                                                        ELSE l.training_hours END) * 100)::int)
                     FROM statement_line l
                     WHERE l.placement_id = c.id AND l.status = 'validated'
                       AND l.month BETWEEN w.period_from AND w.counted_to)
           END AS counted,
           CASE
               WHEN NOT c.counts OR h.validated_lines = 0
                    OR h.validated_first > w.counted_to OR h.validated_last < c.first_month
                   THEN 0
               WHEN h.validated_first >= c.first_month AND h.validated_last <= w.counted_to
                   THEN ((h.validated_worked - w.training) * 100)::bigint
               ELSE (SELECT sum(((l.hours_worked - CASE WHEN c.training_counts THEN 0
                                                        ELSE l.training_hours END) * 100)::int)
                     FROM statement_line l
                     WHERE l.placement_id = c.id AND l.status = 'validated'
                       AND l.month BETWEEN c.first_month AND w.counted_to)
           END AS counted_to_date,
           CASE
               WHEN h.declared_lines = 0 OR h.declared_first > :end THEN 0
               WHEN h.declared_last <= :end THEN (h.declared_worked * 100)::bigint
               ELSE (SELECT sum((l.hours_worked * 100)::int)
                     FROM statement_line l
                     WHERE l.placement_id = c.id AND l.status = 'declared' AND l.month <= :end)
           END AS pending,
           CASE
               WHEN h.rejected_lines = 0
                    OR h.rejected_first > :end OR h.rejected_last < :start_month THEN 0
               WHEN h.rejected_first >= :start_month AND h.rejected_last <= :end
                   THEN (h.rejected_worked * 100)::bigint
               ELSE (SELECT sum((l.hours_worked * 100)::int)
                     FROM statement_line l
                     WHERE l.placement_id = c.id AND l.status = 'rejected'
                       AND l.month BETWEEN :start_month AND :end)
           END AS rejected
    FROM counting c
    JOIN placement_hours h ON h.placement_id = c.id AND h.first_month <= :end
    CROSS JOIN LATERAL (
        -- The months counted in the period, and up to its end; the training hours not counted.
        SELECT greatest(CAST(:start_month AS date), c.first_month) AS period_from,
               least(CAST(:end AS date), c.last_day) AS counted_to,
               CASE WHEN c.training_counts THEN 0 ELSE h.validated_training END AS training
    ) w
),
scoped AS MATERIALIZED (
    -- The placements of the scope's attributions, found by attribution: PostgreSQL misjudges
    -- how many statement periods there are, and would otherwise hash every placement of the
    -- database to check a contract's few.
    SELECT p.id, p.attribution_id, p.status, p.start_date, p.end_date
    FROM in_scope a JOIN placement p ON p.attribution_id = a.id
),
periods AS (
    SELECT o.id AS attribution_id, s.start AS period_start,
           (s.start + o.step - interval '1 day')::date AS period_end,
           (s.start + o.step + (o.statement_due_day - 1) * interval '1 day')::date AS due
    FROM (SELECT *, CASE statement_schedule WHEN 'monthly' THEN interval '1 month'
                                            ELSE interval '3 months' END AS step,
                    CASE statement_schedule WHEN 'monthly' THEN 'month' ELSE 'quarter' END AS unit
          FROM ruled) o
    CROSS JOIN LATERAL (
        SELECT g::date AS start
        FROM generate_series(date_trunc(o.unit, CAST(:start AS date)), CAST(:end AS date), o.step) g
    ) s
),
due AS (
    SELECT pe.*
    FROM periods pe
    WHERE pe.period_end BETWEEN :start AND :end
      AND pe.due <= :today
      AND EXISTS (
          SELECT 1 FROM scoped p
          WHERE p.attribution_id = pe.attribution_id AND p.status = 'active'
            AND p.start_date <= pe.period_end
            AND (p.end_date IS NULL OR p.end_date >= pe.period_start))
),
received AS (
    -- The first line declared for each statement due, in one pass over the lines of the months
    -- concerned (a statement period ending in the report's period starts at most two months
    -- before it).
    SELECT d.attribution_id, d.period_start, min(l.declared_at) AS first_declared
    FROM due d
    JOIN scoped p ON p.attribution_id = d.attribution_id
    JOIN statement_line l ON l.placement_id = p.id
         AND l.month BETWEEN d.period_start AND d.period_end
    WHERE l.month BETWEEN CAST(:start_month AS date) - interval '2 months' AND :end
    GROUP BY d.attribution_id, d.period_start
),
statements AS (
    SELECT d.attribution_id, count(*) AS due,
           count(r.first_declared) AS received,
           count(*) FILTER (WHERE r.first_declared IS NULL
                              OR (r.first_declared AT TIME ZONE 'Europe/Paris')::date > d.due) AS late
    FROM due d
    LEFT JOIN received r USING (attribution_id, period_start)
    GROUP BY d.attribution_id
),
hours AS (
    SELECT attribution_id,
           sum(counted) AS counted,
           sum(counted_to_date) AS counted_to_date,
           sum(pending) AS pending,
           sum(rejected) AS rejected,
           coalesce(sum(counted) FILTER (WHERE qpv_resident), 0) AS qpv,
           coalesce(sum(counted_to_date) FILTER (WHERE qpv_resident), 0) AS qpv_to_date
    FROM per_placement
    GROUP BY attribution_id
),
attributed AS (
    -- Each attribution with hours or statements due, its obligation's keys, its company and
    -- the company above it (a subcontractor's holder, when another company).
    SELECT a.contract_id, a.lot_id, a.organisation_id AS company,
           nullif(parent.organisation_id, a.organisation_id) AS holder,
           org.size_bracket, h.attribution_id IS NOT NULL AS has_hours,
           coalesce(h.counted, 0) AS counted,
           coalesce(h.counted_to_date, 0) AS counted_to_date,
           coalesce(h.pending, 0) AS pending,
           coalesce(h.rejected, 0) AS rejected,
           coalesce(h.qpv, 0) AS qpv,
           CASE WHEN a.role = 'subcontractor' THEN coalesce(h.counted, 0) ELSE 0 END
               AS subcontracted,
           coalesce(s.due, 0) AS due,
           coalesce(s.received, 0) AS received,
           coalesce(s.late, 0) AS late,
           coalesce(h.qpv_to_date, 0) AS qpv_to_date
    FROM hours h
    FULL JOIN statements s ON s.attribution_id = h.attribution_id
    JOIN attribution a ON a.id = coalesce(h.attribution_id, s.attribution_id)
    JOIN organisation org ON org.id = a.organisation_id
    LEFT JOIN attribution parent ON parent.id = a.parent_attribution_id
)
SELECT 'obligation' AS kind, contract_id, lot_id, NULL::uuid AS company, NULL AS label,
       sum(counted)::bigint, sum(counted_to_date)::bigint, sum(pending)::bigint,
       sum(rejected)::bigint, sum(qpv)::bigint, sum(subcontracted)::bigint, sum(due)::bigint,
       sum(received)::bigint, sum(late)::bigint, sum(qpv_to_date)::bigint
FROM attributed
GROUP BY contract_id, lot_id
UNION ALL
SELECT 'company', NULL, NULL, owner.id, NULL,
       sum(counted)::bigint, sum(counted_to_date)::bigint, sum(pending)::bigint,
       sum(rejected)::bigint, sum(qpv)::bigint, sum(subcontracted)::bigint, sum(due)::bigint,
       sum(received)::bigint, sum(late)::bigint, sum(qpv_to_date)::bigint
FROM attributed
CROSS JOIN LATERAL (VALUES (company), (holder)) AS owner (id)
WHERE owner.id IS NOT NULL
GROUP BY owner.id
UNION ALL
SELECT 'total', NULL, NULL, NULL, NULL,
       coalesce(sum(counted), 0)::bigint, coalesce(sum(counted_to_date), 0)::bigint,
       coalesce(sum(pending), 0)::bigint, coalesce(sum(rejected), 0)::bigint,
       coalesce(sum(qpv), 0)::bigint, coalesce(sum(subcontracted), 0)::bigint,
       coalesce(sum(due), 0)::bigint, coalesce(sum(received), 0)::bigint,
       coalesce(sum(late), 0)::bigint, coalesce(sum(qpv_to_date), 0)::bigint
FROM attributed
UNION ALL
SELECT 'size', NULL, NULL, NULL, size_bracket, sum(counted)::bigint,
       0, 0, 0, 0, 0, 0, 0, 0, 0
FROM attributed
WHERE has_hours
GROUP BY size_bracket
UNION ALL
SELECT 'modality', NULL, NULL, NULL, modality, sum(counted)::bigint, 0, 0, 0, 0, 0, 0, 0, 0, 0
FROM per_placement
GROUP BY modality
UNION ALL
SELECT 'employer_kind', NULL, NULL, NULL, employer_kind, sum(counted)::bigint,
       0, 0, 0, 0, 0, 0, 0, 0, 0
FROM per_placement
GROUP BY employer_kind;

-- name: attributions
-- The attributions the hours come from: their lot, contract, company, its size and role.
SELECT a.id, a.contract_id, a.lot_id, a.role, a.organisation_id, org.name, org.size_bracket,
       a.allocated_share_percent,
       a.parent_attribution_id
FROM attribution a
JOIN organisation org ON org.id = a.organisation_id
WHERE a.contract_id = ANY(:scope_contracts);

-- name: participants
-- Participants of the period (a started placement meeting its days), each counted once with
-- what their first placement of the scope froze; new entrants: that first placement started
-- within the period.
WITH in_scope AS ({in_scope}),
first_placements AS (
    -- One sorted pass: each person's first placement of the scope, and whether one of their
    -- placements meets the period's days.
    SELECT DISTINCT ON (p.candidate_id)
           p.candidate_id, p.start_date, p.sex, p.age_bracket, p.qpv_resident,
           p.qualification_level, p.eligibility_criteria,
           bool_or(p.end_date IS NULL OR p.end_date >= :start)
               OVER (PARTITION BY p.candidate_id ORDER BY p.start_date, p.id
                     ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS present
    FROM placement p JOIN in_scope a ON a.id = p.attribution_id
    WHERE p.status = 'active' AND p.start_date <= :end
    ORDER BY p.candidate_id, p.start_date, p.id
)
SELECT sex, age_bracket, qpv_resident, qualification_level, eligibility_criteria,
       start_date >= :start AS is_new, count(*) AS people
FROM first_placements
WHERE present
GROUP BY 1, 2, 3, 4, 5, 6;

-- name: placements
-- The placements of the period by contract type and length (months, whole; NULL: no end).
WITH in_scope AS ({in_scope})
SELECT p.contract_type,
       CASE
           WHEN p.end_date IS NULL THEN NULL
           ELSE (p.end_date - p.start_date + 1)
       END AS days,
       count(*) AS placements
FROM placement p JOIN in_scope a ON a.id = p.attribution_id
WHERE p.status = 'active' AND p.start_date <= :end
  AND (p.end_date IS NULL OR p.end_date >= :start)
GROUP BY 1, 2;
