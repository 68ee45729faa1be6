-- The hours of each row of activity_user_day_counts, one column each: h0
-- is the UTC day's first hour, h23 its last, and n stays their sum. The
-- part of a UTC day at an edge of a summary by user (or of one user's
-- count) is then read from that day's rows, one per user active on it, for
-- its whole hours, and only the partial hours at the edge from activities:
-- before, up to half a day of activities (13,600 index entries at
-- 10,000,000 activities a year). A day's rows lie together when activities
-- arrive in time order, as live ingestion writes them (about 60 heap pages
-- for 2,000 users); after a backfill in random time order they are
-- scattered, and reading them costs about what counting the activities did.
-- Kept with the other counters by every insert and delete.
--
-- Filled here from activities, in the migration's transaction: one read of
-- the table grouped by user and day, and one rewrite of each row of
-- activity_user_day_counts (users times days). Adding the columns rewrites
-- nothing, but takes an ACCESS EXCLUSIVE lock on activity_user_day_counts
-- until the migration commits: writers of activities (which keep its
-- counts) and the reads of it (summaries by user, active users) wait
-- meanwhile; other reads go on. 32 s for 10,000,000 activities of 2,000
-- users over a year on 2 vCPUs; the table grows by 96 bytes a row (about 7
-- bytes per activity at that density).
ALTER TABLE activity_user_day_counts
    ADD COLUMN h0 integer NOT NULL DEFAULT 0,
    ADD COLUMN h1 integer NOT NULL DEFAULT 0,
    ADD COLUMN h2 integer NOT NULL DEFAULT 0,
    ADD COLUMN h3 integer NOT NULL DEFAULT 0,
    ADD COLUMN h4 integer NOT NULL DEFAULT 0,
    ADD COLUMN h5 integer NOT NULL DEFAULT 0,
    ADD COLUMN h6 integer NOT NULL DEFAULT 0,
    ADD COLUMN h7 integer NOT NULL DEFAULT 0,
    ADD COLUMN h8 integer NOT NULL DEFAULT 0,
    ADD COLUMN h9 integer NOT NULL DEFAULT 0,
    ADD COLUMN h10 integer NOT NULL DEFAULT 0,
    ADD COLUMN h11 integer NOT NULL DEFAULT 0,
    ADD COLUMN h12 integer NOT NULL DEFAULT 0,
    ADD COLUMN h13 integer NOT NULL DEFAULT 0,
    ADD COLUMN h14 integer NOT NULL DEFAULT 0,
    ADD COLUMN h15 integer NOT NULL DEFAULT 0,
    ADD COLUMN h16 integer NOT NULL DEFAULT 0,
    ADD COLUMN h17 integer NOT NULL DEFAULT 0,
    ADD COLUMN h18 integer NOT NULL DEFAULT 0,
    ADD COLUMN h19 integer NOT NULL DEFAULT 0,
    ADD COLUMN h20 integer NOT NULL DEFAULT 0,
    ADD COLUMN h21 integer NOT NULL DEFAULT 0,
    ADD COLUMN h22 integer NOT NULL DEFAULT 0,
    ADD COLUMN h23 integer NOT NULL DEFAULT 0;

UPDATE activity_user_day_counts AS c SET h0 = x.h0, h1 = x.h1, h2 = x.h2, h3 = x.h3, h4 = x.h4, h5 = x.h5, h6 = x.h6, h7 = x.h7, h8 = x.h8, h9 = x.h9, h10 = x.h10, h11 = x.h11, h12 = x.h12, h13 = x.h13, h14 = x.h14, h15 = x.h15, h16 = x.h16, h17 = x.h17, h18 = x.h18, h19 = x.h19, h20 = x.h20, h21 = x.h21, h22 = x.h22, h23 = x.h23
FROM (
    SELECT user_key, day,
        count(*) FILTER (WHERE hour = 0)::integer AS h0,
        count(*) FILTER (WHERE hour = 1)::integer AS h1,
        count(*) FILTER (WHERE hour = 2)::integer AS h2,
        count(*) FILTER (WHERE hour = 3)::integer AS h3,
        count(*) FILTER (WHERE hour = 4)::integer AS h4,
        count(*) FILTER (WHERE hour = 5)::integer AS h5,
        count(*) FILTER (WHERE hour = 6)::integer AS h6,
        count(*) FILTER (WHERE hour = 7)::integer AS h7,
        count(*) FILTER (WHERE hour = 8)::integer AS h8,
        count(*) FILTER (WHERE hour = 9)::integer AS h9,
        count(*) FILTER (WHERE hour = 10)::integer AS h10,
        count(*) FILTER (WHERE hour = 11)::integer AS h11,
        count(*) FILTER (WHERE hour = 12)::integer AS h12,
        count(*) FILTER (WHERE hour = 13)::integer AS h13,
        count(*) FILTER (WHERE hour = 14)::integer AS h14,
        count(*) FILTER (WHERE hour = 15)::integer AS h15,
        count(*) FILTER (WHERE hour = 16)::integer AS h16,
        count(*) FILTER (WHERE hour = 17)::integer AS h17,
        count(*) FILTER (WHERE hour = 18)::integer AS h18,
        count(*) FILTER (WHERE hour = 19)::integer AS h19,
        count(*) FILTER (WHERE hour = 20)::integer AS h20,
        count(*) FILTER (WHERE hour = 21)::integer AS h21,
        count(*) FILTER (WHERE hour = 22)::integer AS h22,
        count(*) FILTER (WHERE hour = 23)::integer AS h23
    FROM (
        SELECT user_key, (created_at AT TIME ZONE 'UTC')::date AS day,
            extract(hour FROM created_at AT TIME ZONE 'UTC')::integer AS hour
        FROM activities WHERE user_key IS NOT NULL
    ) y
    GROUP BY 1, 2
) x
WHERE c.user_key = x.user_key AND c.day = x.day;
