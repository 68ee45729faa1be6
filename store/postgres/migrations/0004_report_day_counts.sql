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
