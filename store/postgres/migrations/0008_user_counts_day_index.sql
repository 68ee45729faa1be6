-- The day-first index of the per-type user counters goes. Reads find those
-- rows by user (a user's totals and summaries by type); retention and
-- partition drops, which took rows by day, now find the users of those
-- days through activity_user_day_counts' own day index and the rows through
-- the key (user_id, day, activity_type). One index entry fewer for every
-- new (user, day, type) on the ingest path, and a smaller database (the
-- index was 54 MB for 1,000,000 activities of 2,000 users over a year).
DROP INDEX IF EXISTS activity_user_counts_day_idx;
