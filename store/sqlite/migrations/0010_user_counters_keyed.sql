-- The per-user counters name their user by its key in activity_users, as
-- the activities do since version 8, instead of repeating the user's text
-- id in every row and index entry; 0 is anonymous activity (the '' of
-- before). Each table is rebuilt in the migration's transaction. Rows of
-- a user id that activity_users does not hold (emptied counters of users
-- whose activities are gone) are left out.
CREATE TABLE activity_user_counts_keyed (
    user_key      INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    activity_type TEXT    NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (user_key, day, activity_type)
) WITHOUT ROWID;
INSERT INTO activity_user_counts_keyed (user_key, day, activity_type, n)
SELECT COALESCE(u.user_key, 0), c.day, c.activity_type, c.n
FROM activity_user_counts c LEFT JOIN activity_users u ON u.user_id = c.user_id
WHERE c.user_id = '' OR u.user_key IS NOT NULL
ORDER BY 1, 2, 3;
DROP TABLE activity_user_counts;
ALTER TABLE activity_user_counts_keyed RENAME TO activity_user_counts;

CREATE TABLE activity_user_day_counts_keyed (
    user_key INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (user_key, day)
) WITHOUT ROWID;
INSERT INTO activity_user_day_counts_keyed (user_key, day, n)
SELECT COALESCE(u.user_key, 0), c.day, c.n
FROM activity_user_day_counts c LEFT JOIN activity_users u ON u.user_id = c.user_id
WHERE c.user_id = '' OR u.user_key IS NOT NULL
ORDER BY 1, 2;
DROP TABLE activity_user_day_counts;
ALTER TABLE activity_user_day_counts_keyed RENAME TO activity_user_day_counts;
CREATE INDEX activity_user_day_counts_day ON activity_user_day_counts (day, user_key, n);

CREATE TABLE activity_user_block_counts_keyed (
    user_key INTEGER NOT NULL,
    block    INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (user_key, block)
) WITHOUT ROWID;
INSERT INTO activity_user_block_counts_keyed (user_key, block, n)
SELECT COALESCE(u.user_key, 0), c.block, c.n
FROM activity_user_block_counts c LEFT JOIN activity_users u ON u.user_id = c.user_id
WHERE c.user_id = '' OR u.user_key IS NOT NULL
ORDER BY 1, 2;
DROP TABLE activity_user_block_counts;
ALTER TABLE activity_user_block_counts_keyed RENAME TO activity_user_block_counts;

CREATE TABLE activity_user_block_days_keyed (
    block    INTEGER NOT NULL,
    user_key INTEGER NOT NULL,
    counts   BLOB    NOT NULL,
    PRIMARY KEY (block, user_key)
) WITHOUT ROWID;
INSERT INTO activity_user_block_days_keyed (block, user_key, counts)
SELECT c.block, COALESCE(u.user_key, 0), c.counts
FROM activity_user_block_days c LEFT JOIN activity_users u ON u.user_id = c.user_id
WHERE c.user_id = '' OR u.user_key IS NOT NULL
ORDER BY 1, 2;
DROP TABLE activity_user_block_days;
ALTER TABLE activity_user_block_days_keyed RENAME TO activity_user_block_days;

CREATE TABLE activity_user_day_hours_keyed (
    day      INTEGER NOT NULL,
    user_key INTEGER NOT NULL,
    counts   BLOB    NOT NULL,
    PRIMARY KEY (day, user_key)
) WITHOUT ROWID;
INSERT INTO activity_user_day_hours_keyed (day, user_key, counts)
SELECT c.day, COALESCE(u.user_key, 0), c.counts
FROM activity_user_day_hours c LEFT JOIN activity_users u ON u.user_id = c.user_id
WHERE c.user_id = '' OR u.user_key IS NOT NULL
ORDER BY 1, 2;
DROP TABLE activity_user_day_hours;
ALTER TABLE activity_user_day_hours_keyed RENAME TO activity_user_day_hours;
