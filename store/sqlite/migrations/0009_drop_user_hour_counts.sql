-- The hourly counts per user are the hour vectors of activity_user_day_hours
-- (version 7) over again: the reads that used them (distinct users since a
-- time, a user's local days and UTC days) read the vectors now, and every
-- batch of inserts updates one counter table fewer.
DROP TABLE activity_user_hour_counts;
