-- Activities per user and block of 32 UTC days (block = unix day / 32,
-- rounded down) over every type, kept with the other counters by every
-- insert and delete. Summaries by user over all time or long ranges, and a
-- user's totals, read a row per user and block instead of one per user and
-- day; the days around the whole blocks of a range still come from
-- activity_user_day_counts. Filled from that table here, in the migration's
-- transaction (it reads the counters, not the activities).
CREATE TABLE activity_user_block_counts (
    user_id text COLLATE "C" NOT NULL,
    block   integer NOT NULL,
    n       bigint NOT NULL,
    PRIMARY KEY (user_id, block)
);

INSERT INTO activity_user_block_counts (user_id, block, n)
SELECT user_id, floor((day - DATE '1970-01-01') / 32.0)::integer, sum(n)
FROM activity_user_day_counts GROUP BY 1, 2;
