-- Reports by local day (in the store's reporting zone) and type, with their
-- completed reports, recommendations and savings, maintained by every
-- report upsert in its transaction: the trends read one row per day and
-- type, the metrics a few hundred rows instead of every report. The rows
-- are filled on open (and refilled when the configured zone changes), as
-- the day of a report depends on the zone; report_day_zone records the
-- zone they were built in ('' before the first fill). Upserts change rows
-- in (day, report_type) order. Rows whose counts fall to 0 are kept; reads
-- skip them.
CREATE TABLE report_day_counts (
    day             date   NOT NULL,
    report_type     text COLLATE "C" NOT NULL,
    reports         bigint NOT NULL,
    completed       bigint NOT NULL,
    recommendations bigint NOT NULL,
    savings_cents   bigint NOT NULL,
    PRIMARY KEY (day, report_type)
);

CREATE TABLE report_day_zone (
    id   integer PRIMARY KEY CHECK (id = 1),
    zone text NOT NULL
);
INSERT INTO report_day_zone (id, zone) VALUES (1, '');

-- Report authors and the creation time of their first report: the metrics
-- count active users (and those active before the month) from one row per
-- author. Every report upsert locks the rows of the authors it touches
-- (after the other counters, in key order) and recomputes them from the
-- reports_created_by_idx index.
CREATE TABLE report_authors (
    created_by       text COLLATE "C" PRIMARY KEY,
    first_created_at timestamptz NOT NULL
);
INSERT INTO report_authors (created_by, first_created_at)
    SELECT created_by, min(created_at) FROM reports WHERE created_by IS NOT NULL GROUP BY 1;
