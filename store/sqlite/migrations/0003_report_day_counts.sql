-- Reports by local day (in the store's reporting zone) and type, with their
-- completed reports, recommendations and savings, maintained by every
-- report upsert in its transaction: the trends read one row per day and
-- type, the metrics a few hundred rows instead of every report. The rows
-- are filled on open (and refilled when the configured zone changes), as
-- the day of a report depends on the zone; report_day_zone records the
-- zone they were built in ('' before the first fill). Rows whose counts
-- fall to 0 are kept; reads skip them.
CREATE TABLE report_day_counts (
    day             TEXT    NOT NULL,
    report_type     TEXT    NOT NULL,
    reports         INTEGER NOT NULL,
    completed       INTEGER NOT NULL,
    recommendations INTEGER NOT NULL,
    savings_cents   INTEGER NOT NULL,
    PRIMARY KEY (day, report_type)
) WITHOUT ROWID;

CREATE TABLE report_day_zone (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    zone TEXT    NOT NULL
);
INSERT INTO report_day_zone (id, zone) VALUES (1, '');

-- Report authors and the creation time of their first report: the metrics
-- count active users (and those active before the month) from one row per
-- author. Every report upsert recomputes the rows of the authors it
-- touches from the reports_created_by index.
CREATE TABLE report_authors (
    created_by       TEXT    NOT NULL PRIMARY KEY,
    first_created_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO report_authors (created_by, first_created_at)
    SELECT created_by, MIN(created_at) FROM reports WHERE created_by IS NOT NULL GROUP BY created_by;
