-- Activities per user and UTC day, a row per 32-day block and user: days
-- holds the block's 32 daily counts (little-endian 32-bit integers, the
-- first day of the block first; a block is unix day / 32, rounded down),
-- kept with the other counters in the transaction of every insert and
-- delete through the driver's SQL functions advisor_analytics_days_add
-- and advisor_analytics_days. Summaries by user over a day range read the
-- days at the edges of its whole blocks here, one row per user and edge
-- block in key order, instead of one row per user and day from
-- activity_user_day_counts grouped in a temporary B-tree.
CREATE TABLE activity_user_block_days (
    block   INTEGER NOT NULL,
    user_id TEXT    NOT NULL,
    days    BLOB    NOT NULL,
    PRIMARY KEY (block, user_id)
) WITHOUT ROWID;

INSERT INTO activity_user_block_days (block, user_id, days)
SELECT (day + 3200000) / 32 - 100000, user_id,
       advisor_analytics_days(day - ((day + 3200000) / 32 - 100000) * 32, n)
FROM activity_user_day_counts
GROUP BY 1, 2;
