-- The per-day report counters also count the failed reports and the
-- processing time of the completed ones, so client-performance over every
-- client reads them instead of every report. Clearing the zone they were
-- built in makes the store fill them again, new columns included, when it
-- opens after this migration.
ALTER TABLE report_day_counts ADD COLUMN failed bigint NOT NULL DEFAULT 0;
ALTER TABLE report_day_counts ADD COLUMN timed bigint NOT NULL DEFAULT 0;
ALTER TABLE report_day_counts ADD COLUMN processing_us bigint NOT NULL DEFAULT 0;
UPDATE report_day_zone SET zone = '';
