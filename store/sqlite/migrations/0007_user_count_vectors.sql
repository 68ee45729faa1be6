-- Per-user counts packed as vectors: activity_user_block_days has a row
-- per 32-day block (unix day / 32, rounded down) and user whose counts
-- hold the block's 32 daily counts, activity_user_day_hours a row per UTC
-- day and user with its 24 hourly counts (little-endian 32-bit integers,
-- the first unit first). They are kept with the other counters in the
-- transaction of every insert and delete through the driver's SQL
-- functions advisor_analytics_counts_add, advisor_analytics_days and
-- advisor_analytics_hours. Summaries by user and a user's totals over a
-- range read the days and hours at its edges here, one row per user and
-- edge block or day, in key order, instead of a row per user and day or
-- hour grouped in a temporary B-tree.
CREATE TABLE activity_user_block_days (
    block   INTEGER NOT NULL,
    user_id TEXT    NOT NULL,
    counts  BLOB    NOT NULL,
    PRIMARY KEY (block, user_id)
) WITHOUT ROWID;

CREATE TABLE activity_user_day_hours (
    day     INTEGER NOT NULL,
    user_id TEXT    NOT NULL,
    counts  BLOB    NOT NULL,
    PRIMARY KEY (day, user_id)
) WITHOUT ROWID;

INSERT INTO activity_user_block_days (block, user_id, counts)
SELECT (day + 3200000) / 32 - 100000, user_id,
       advisor_analytics_days(day - ((day + 3200000) / 32 - 100000) * 32, n)
FROM activity_user_day_counts
GROUP BY 1, 2;

INSERT INTO activity_user_day_hours (day, user_id, counts)
SELECT (hour + 2400000) / 24 - 100000, user_id,
       advisor_analytics_hours(hour - ((hour + 2400000) / 24 - 100000) * 24, n)
FROM activity_user_hour_counts
GROUP BY 1, 2;
