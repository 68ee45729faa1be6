-- Activities per user and block of 32 UTC days (block = unix day / 32,
-- rounded down) over every type, maintained with the other counters in the
-- transaction of every insert and delete. Summaries by user over all time
-- or long ranges, and a user's totals, read a row per user and block
-- instead of one per user, day and type; the days around the whole blocks
-- of a range still come from activity_user_counts.
CREATE TABLE activity_user_block_counts (
    user_id TEXT    NOT NULL,
    block   INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (user_id, block)
) WITHOUT ROWID;

INSERT INTO activity_user_block_counts (user_id, block, n)
SELECT user_id, (day + 3200000) / 32 - 100000, SUM(n) FROM activity_user_counts GROUP BY 1, 2;
