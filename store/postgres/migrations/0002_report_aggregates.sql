-- Per-report aggregates of the recommendations, maintained by every report
-- upsert in its transaction, so the analytics read reports (and a few
-- counter rows) instead of every recommendation. Savings are in cents:
-- bigint sums are exact and much faster than numeric ones.

ALTER TABLE reports
    ADD COLUMN recommendation_count integer NOT NULL DEFAULT 0,
    ADD COLUMN savings_cents bigint NOT NULL DEFAULT 0;
UPDATE reports r SET recommendation_count = a.n, savings_cents = a.s
FROM (SELECT report_id, count(*) AS n, (sum(potential_savings) * 100)::bigint AS s FROM recommendations GROUP BY report_id) a
WHERE a.report_id = r.id;

-- Recommendations of one report by category.
CREATE TABLE report_category_counts (
    report_id uuid NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    category  text COLLATE "C" NOT NULL,
    n         integer NOT NULL,
    PRIMARY KEY (report_id, category)
);
INSERT INTO report_category_counts (report_id, category, n)
    SELECT report_id, category, count(*) FROM recommendations GROUP BY 1, 2;

-- Every recommendation by category and by business impact ('' when none).
-- Upserts change them in key order (categories first), so concurrent
-- upserts never wait on each other in a cycle. Rows whose count falls to 0
-- are kept; reads skip them.
CREATE TABLE recommendation_category_counts (
    category text COLLATE "C" PRIMARY KEY,
    n        bigint NOT NULL
);
INSERT INTO recommendation_category_counts (category, n)
    SELECT category, count(*) FROM recommendations GROUP BY 1;

CREATE TABLE recommendation_impact_counts (
    business_impact text COLLATE "C" PRIMARY KEY,
    n               bigint NOT NULL
);
INSERT INTO recommendation_impact_counts (business_impact, n)
    SELECT COALESCE(business_impact, ''), count(*) FROM recommendations GROUP BY 1;

-- The metrics read distinct report authors from an index, and take the
-- most recently completed reports in (processing_completed_at, id) order.
CREATE INDEX reports_created_by_idx ON reports (created_by, created_at) WHERE created_by IS NOT NULL;
DROP INDEX reports_completed_idx;
CREATE INDEX reports_completed_idx ON reports (processing_completed_at, id)
    WHERE status = 'completed' AND processing_started_at IS NOT NULL AND processing_completed_at IS NOT NULL;
