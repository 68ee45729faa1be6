-- Activities per user and UTC day over every type, kept with the other
-- counters in the transaction of every insert and delete. Summaries by user
-- and a user's totals over day ranges read a row per user and day here
-- instead of one per user, day and type in activity_user_counts; the
-- distinct users since a day read the day-first index. That index of
-- activity_user_counts served only those reads and goes: the per-type rows
-- are now read by user (a user's totals by type), through their key.
CREATE TABLE activity_user_day_counts (
    user_id TEXT    NOT NULL,
    day     INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (user_id, day)
) WITHOUT ROWID;
CREATE INDEX activity_user_day_counts_day ON activity_user_day_counts (day, user_id, n);

INSERT INTO activity_user_day_counts (user_id, day, n)
SELECT user_id, day, SUM(n) FROM activity_user_counts GROUP BY 1, 2;

DROP INDEX activity_user_counts_day;
