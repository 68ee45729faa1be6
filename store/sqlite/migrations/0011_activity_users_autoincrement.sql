-- activity_users keys are never used again once their user is erased
-- (AUTOINCREMENT), so a process may keep a key's user id and first names
-- in memory: they never change while the key exists, and a key that no
-- longer exists is never read again. The summaries by user read those
-- from memory instead of joining activity_users for every key counted.
--
-- The users that some activity renamed are found through a partial index:
-- the flag changes as activities are written, by any process sharing the
-- file, so it is read from the table each time.
--
-- The table is copied with its keys; the view over it is dropped while the
-- table is replaced.
DROP VIEW activity_rows;

CREATE TABLE activity_users_seq (
    user_key       INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        TEXT NOT NULL UNIQUE,
    user_name      TEXT NOT NULL,
    user_full_name TEXT NOT NULL,
    renamed        INTEGER NOT NULL DEFAULT 0
);

INSERT INTO activity_users_seq (user_key, user_id, user_name, user_full_name, renamed)
SELECT user_key, user_id, user_name, user_full_name, renamed FROM activity_users ORDER BY user_key;

DROP TABLE activity_users;
ALTER TABLE activity_users_seq RENAME TO activity_users;

CREATE INDEX activity_users_renamed ON activity_users (user_key) WHERE renamed = 1;

CREATE VIEW activity_rows AS
SELECT a.rowid AS rowid, a.id, u.user_id,
    COALESCE(a.username, u.user_name) AS username, COALESCE(a.full_name, u.user_full_name) AS full_name,
    a.activity_type, a.description, a.client_id, a.report_id, a.ip_address, a.user_agent, a.method, a.path,
    a.status_code, a.duration_ns, a.metadata, a.created_at, a.user_key
FROM activities a LEFT JOIN activity_users u ON u.user_key = a.user_key;
