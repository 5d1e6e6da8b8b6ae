-- Clause progress (product.md §8.6, decision 0078): the set-based queries behind
-- services/core/ledger/progress.py. Each query starts with a "-- name:" line; the scope is the
-- same fragment everywhere (:scope_contracts, :scope_lot, :scope_company), values are bound.
--
-- ``in_scope`` is the attributions whose hours the scope counts: the attributions of its
-- contracts, narrowed to one lot, or to one company and the attributions below its own (a
-- subcontractor's hours count in its holder's total, §8).
--
-- Counted hours of a line repeat services/core/ledger/counted.py (decision 0074) as one SQL
-- expression; tests/core/test_progress.py checks both on the same lines.

-- name: obligations
-- The obligations of the scope, with what they owe (× the company's allocated share for a
-- company scope), their contract's dates and the hours worked declared up to the period's end.
WITH in_scope AS (
    SELECT a.id, a.contract_id, a.lot_id, a.role, a.allocated_share_percent
    FROM attribution a
    LEFT JOIN attribution parent ON parent.id = a.parent_attribution_id
    WHERE a.contract_id = ANY(:scope_contracts)
      AND (CAST(:scope_lot AS uuid) IS NULL OR a.lot_id = :scope_lot)
      AND (CAST(:scope_company AS uuid) IS NULL
           OR a.organisation_id = :scope_company OR parent.organisation_id = :scope_company)
),
shares AS (
    -- Company scope: the share of each obligation the company owes (its own attributions, not
    -- those it is a subcontractor on: those hours count in the holder's obligation).
    SELECT o.id AS obligation_id,
           sum(CASE
                   WHEN a.allocated_share_percent IS NOT NULL THEN a.allocated_share_percent
                   WHEN a.role = 'holder' THEN 100
                   ELSE 0
               END) AS percent
    FROM attribution a
    JOIN obligation o ON o.contract_id = a.contract_id AND o.lot_id IS NOT DISTINCT FROM a.lot_id
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

-- name: hours
-- Hours of the started placements, by attribution, modality, employer's kind and QPV
-- residence: counted in the period and up to its end, declared and not yet validated, rejected.
WITH in_scope AS (
    SELECT a.id, a.contract_id, a.lot_id
    FROM attribution a
    LEFT JOIN attribution parent ON parent.id = a.parent_attribution_id
    WHERE a.contract_id = ANY(:scope_contracts)
      AND (CAST(:scope_lot AS uuid) IS NULL OR a.lot_id = :scope_lot)
      AND (CAST(:scope_company AS uuid) IS NULL
           OR a.organisation_id = :scope_company OR parent.organisation_id = :scope_company)
),
lines AS (
    SELECT a.id AS attribution_id, p.modality, e.company_kind AS employer_kind,
           p.qpv_resident, l.month, l.status, l.hours_worked,
           CASE
               WHEN l.status = 'validated'
                AND p.modality = ANY(o.allowed_modalities)
                AND (nullif(p.exception_reason, '') IS NOT NULL
                     OR (cardinality(p.eligibility_criteria) > 0
                         AND (cardinality(o.eligible_publics) = 0
                              OR p.eligibility_criteria && o.eligible_publics)))
                AND l.month + interval '1 month' > p.start_date
                AND (p.end_date IS NULL OR l.month <= p.end_date)
                AND (o.cdi_cap_years IS NULL OR p.contract_type IS DISTINCT FROM 'CDI'
                     OR l.month < p.start_date + make_interval(years => o.cdi_cap_years))
               THEN l.hours_worked - CASE WHEN o.training_counts THEN 0 ELSE l.training_hours END
               ELSE 0
           END AS counted
    FROM in_scope a
    JOIN obligation o ON o.contract_id = a.contract_id AND o.lot_id IS NOT DISTINCT FROM a.lot_id
    JOIN placement p ON p.attribution_id = a.id AND p.status = 'active'
    JOIN organisation e ON e.id = p.employer_id
    JOIN statement_line l ON l.placement_id = p.id AND l.month <= :end
)
SELECT attribution_id, modality, employer_kind, qpv_resident,
       coalesce(sum(counted) FILTER (WHERE month >= :start_month), 0) AS counted,
       coalesce(sum(counted), 0) AS counted_to_date,
       coalesce(sum(hours_worked) FILTER (WHERE status = 'declared'), 0) AS pending,
       coalesce(sum(hours_worked) FILTER (WHERE status = 'rejected' AND month >= :start_month), 0)
           AS rejected
FROM lines
GROUP BY attribution_id, modality, employer_kind, qpv_resident;

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
WITH in_scope AS (
    SELECT a.id
    FROM attribution a
    LEFT JOIN attribution parent ON parent.id = a.parent_attribution_id
    WHERE a.contract_id = ANY(:scope_contracts)
      AND (CAST(:scope_lot AS uuid) IS NULL OR a.lot_id = :scope_lot)
      AND (CAST(:scope_company AS uuid) IS NULL
           OR a.organisation_id = :scope_company OR parent.organisation_id = :scope_company)
),
first_placements AS (
    SELECT DISTINCT ON (p.candidate_id)
           p.candidate_id, p.start_date, p.sex, p.age_bracket, p.qpv_resident,
           p.qualification_level, p.eligibility_criteria
    FROM placement p JOIN in_scope a ON a.id = p.attribution_id
    WHERE p.status = 'active' AND p.start_date <= :end
    ORDER BY p.candidate_id, p.start_date, p.id
),
present AS (
    SELECT DISTINCT p.candidate_id
    FROM placement p JOIN in_scope a ON a.id = p.attribution_id
    WHERE p.status = 'active' AND p.start_date <= :end
      AND (p.end_date IS NULL OR p.end_date >= :start)
)
SELECT f.sex, f.age_bracket, f.qpv_resident, f.qualification_level, f.eligibility_criteria,
       f.start_date >= :start AS is_new, count(*) AS people
FROM first_placements f JOIN present USING (candidate_id)
GROUP BY 1, 2, 3, 4, 5, 6;

-- name: placements
-- The placements of the period by contract type and length (months, whole; NULL: no end).
WITH in_scope AS (
    SELECT a.id
    FROM attribution a
    LEFT JOIN attribution parent ON parent.id = a.parent_attribution_id
    WHERE a.contract_id = ANY(:scope_contracts)
      AND (CAST(:scope_lot AS uuid) IS NULL OR a.lot_id = :scope_lot)
      AND (CAST(:scope_company AS uuid) IS NULL
           OR a.organisation_id = :scope_company OR parent.organisation_id = :scope_company)
)
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

-- name: statements
-- Statements due in the period: per attribution and statement period (of its obligation's
-- schedule) ending within the period and due by today, when one of its started placements meets
-- the statement period; received when a line of one of its months exists, late when none was
-- declared by the end of the due day (Paris).
WITH in_scope AS (
    SELECT a.id, a.contract_id, a.lot_id
    FROM attribution a
    LEFT JOIN attribution parent ON parent.id = a.parent_attribution_id
    WHERE a.contract_id = ANY(:scope_contracts)
      AND (CAST(:scope_lot AS uuid) IS NULL OR a.lot_id = :scope_lot)
      AND (CAST(:scope_company AS uuid) IS NULL
           OR a.organisation_id = :scope_company OR parent.organisation_id = :scope_company)
),
periods AS (
    SELECT a.id AS attribution_id, s.start AS period_start,
           (s.start + o.step - interval '1 day')::date AS period_end,
           (s.start + o.step + (o.statement_due_day - 1) * interval '1 day')::date AS due
    FROM in_scope a
    JOIN (SELECT *, CASE statement_schedule WHEN 'monthly' THEN interval '1 month'
                                            ELSE interval '3 months' END AS step,
                    CASE statement_schedule WHEN 'monthly' THEN 'month' ELSE 'quarter' END AS unit
          FROM obligation) o
      ON o.contract_id = a.contract_id AND o.lot_id IS NOT DISTINCT FROM a.lot_id
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
          SELECT 1 FROM placement p
          WHERE p.attribution_id = pe.attribution_id AND p.status = 'active'
            AND p.start_date <= pe.period_end
            AND (p.end_date IS NULL OR p.end_date >= pe.period_start))
)
SELECT d.attribution_id, count(*) AS due,
       count(*) FILTER (WHERE r.first_declared IS NOT NULL) AS received,
       count(*) FILTER (WHERE r.first_declared IS NULL
                          OR (r.first_declared AT TIME ZONE 'Europe/Paris')::date > d.due) AS late
FROM due d
LEFT JOIN LATERAL (
    SELECT min(l.declared_at) AS first_declared
    FROM placement p JOIN statement_line l ON l.placement_id = p.id
    WHERE p.attribution_id = d.attribution_id
      AND l.month BETWEEN d.period_start AND d.period_end
) r ON true
GROUP BY d.attribution_id;
