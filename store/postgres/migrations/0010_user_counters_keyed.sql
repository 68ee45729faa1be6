-- The per-user counters name their user by activity_users.user_key, as
-- activities do, instead of the user's text id: 4 bytes in each row and
-- key instead of the id (often a 36-character UUID). Rows of users no
-- longer in activity_users (whose counts are all zero) are not kept. The
-- counter tables are rebuilt in the migration's transaction; they hold a
-- row per user and day (and type), far fewer than the activities.
ALTER TABLE activity_user_counts RENAME TO activity_user_counts_by_text;
ALTER TABLE activity_user_counts_by_text RENAME CONSTRAINT activity_user_counts_pkey TO activity_user_counts_by_text_pkey;
ALTER TABLE activity_user_day_counts RENAME TO activity_user_day_counts_by_text;
ALTER TABLE activity_user_day_counts_by_text RENAME CONSTRAINT activity_user_day_counts_pkey TO activity_user_day_counts_by_text_pkey;
ALTER INDEX activity_user_day_counts_day_idx RENAME TO activity_user_day_counts_by_text_day_idx;
ALTER TABLE activity_user_block_counts RENAME TO activity_user_block_counts_by_text;
ALTER TABLE activity_user_block_counts_by_text RENAME CONSTRAINT activity_user_block_counts_pkey TO activity_user_block_counts_by_text_pkey;

CREATE TABLE activity_user_counts (
    user_key      integer NOT NULL,
    day           date NOT NULL,
    n             bigint NOT NULL,
    activity_type varchar(50) COLLATE "C" NOT NULL
);
INSERT INTO activity_user_counts (user_key, day, n, activity_type)
SELECT u.user_key, c.day, c.n, c.activity_type
FROM activity_user_counts_by_text c JOIN activity_users u USING (user_id)
ORDER BY 1, 2, 4;
ALTER TABLE activity_user_counts ADD PRIMARY KEY (user_key, day, activity_type);

CREATE TABLE activity_user_day_counts (
    user_key integer NOT NULL,
    day      date NOT NULL,
    n        bigint NOT NULL
);
INSERT INTO activity_user_day_counts (user_key, day, n)
SELECT u.user_key, c.day, c.n
FROM activity_user_day_counts_by_text c JOIN activity_users u USING (user_id)
ORDER BY 1, 2;
ALTER TABLE activity_user_day_counts ADD PRIMARY KEY (user_key, day);
CREATE INDEX activity_user_day_counts_day_idx ON activity_user_day_counts (day, user_key);

CREATE TABLE activity_user_block_counts (
    user_key integer NOT NULL,
    block    integer NOT NULL,
    n        bigint NOT NULL
);
INSERT INTO activity_user_block_counts (user_key, block, n)
SELECT u.user_key, c.block, c.n
FROM activity_user_block_counts_by_text c JOIN activity_users u USING (user_id)
ORDER BY 1, 2;
ALTER TABLE activity_user_block_counts ADD PRIMARY KEY (user_key, block);

DROP TABLE activity_user_counts_by_text, activity_user_day_counts_by_text, activity_user_block_counts_by_text;
