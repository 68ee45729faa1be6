-- Per-report aggregates of the recommendations, maintained by every report
-- upsert in its transaction, so the analytics read reports (and a few
-- counter rows) instead of every recommendation.

ALTER TABLE reports ADD COLUMN recommendation_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN savings_cents INTEGER NOT NULL DEFAULT 0;
UPDATE reports SET
    recommendation_count = (SELECT COUNT(*) FROM recommendations c WHERE c.report_id = reports.id),
    savings_cents = (SELECT COALESCE(SUM(c.potential_savings_cents), 0) FROM recommendations c WHERE c.report_id = reports.id);

-- Recommendations of one report by category.
CREATE TABLE report_category_counts (
    report_id TEXT    NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    category  TEXT    NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (report_id, category)
) WITHOUT ROWID;
INSERT INTO report_category_counts (report_id, category, n)
    SELECT report_id, category, COUNT(*) FROM recommendations GROUP BY report_id, category;

-- Every recommendation by category and by business impact ('' when none).
-- Rows whose count falls to 0 are kept; reads skip them.
CREATE TABLE recommendation_category_counts (
    category TEXT    NOT NULL PRIMARY KEY,
    n        INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO recommendation_category_counts (category, n)
    SELECT category, COUNT(*) FROM recommendations GROUP BY category;

CREATE TABLE recommendation_impact_counts (
    business_impact TEXT    NOT NULL PRIMARY KEY,
    n               INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO recommendation_impact_counts (business_impact, n)
    SELECT COALESCE(business_impact, ''), COUNT(*) FROM recommendations GROUP BY 1;

-- The metrics read distinct report authors from an index, and take the
-- most recently completed reports in (processing_completed_at, id) order
-- without sorting.
CREATE INDEX reports_created_by ON reports (created_by, created_at) WHERE created_by IS NOT NULL;
DROP INDEX reports_completed_at;
CREATE INDEX reports_completed_at ON reports (processing_completed_at, id)
    WHERE status = 'completed' AND processing_started_at IS NOT NULL AND processing_completed_at IS NOT NULL;
