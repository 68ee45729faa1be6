-- Activities name their user by a small integer key into activity_users
-- instead of repeating the user's text id, username and full name on every
-- row and in the user index. activity_users holds each user's names as
-- first recorded; a row keeps its own username or full name only where it
-- differs from those (NULL: the user's; '' where it was empty). The view
-- activity_rows joins them back: it reads as the table read before, with
-- the row's rowid and its user_key.
--
-- renamed is 1 once some activity of the user keeps a username of its own:
-- the latest username of any other user is user_name, with no need to
-- look for its latest activity.
--
-- The table is rebuilt in the migration's transaction, which holds the
-- database's write lock: every row is copied with its rowid, then the
-- indexes are built once the rows are in.
CREATE TABLE activity_users (
    user_key       INTEGER PRIMARY KEY,
    user_id        TEXT NOT NULL UNIQUE,
    user_name      TEXT NOT NULL,
    user_full_name TEXT NOT NULL,
    renamed        INTEGER NOT NULL DEFAULT 0
);

INSERT INTO activity_users (user_id, user_name, user_full_name)
SELECT user_id, COALESCE(username, ''), COALESCE(full_name, '')
FROM (SELECT user_id, username, full_name,
             ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY created_at, id) AS n
      FROM activities WHERE user_id IS NOT NULL)
WHERE n = 1
ORDER BY user_id;

CREATE TABLE activities_keyed (
    id            TEXT    NOT NULL,
    user_key      INTEGER,
    username      TEXT,
    full_name     TEXT,
    activity_type TEXT    NOT NULL,
    description   TEXT,
    client_id     TEXT,
    report_id     TEXT,
    ip_address    TEXT,
    user_agent    TEXT,
    method        TEXT,
    path          TEXT,
    status_code   INTEGER NOT NULL,
    duration_ns   INTEGER NOT NULL,
    metadata      TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

INSERT INTO activities_keyed (rowid, id, user_key, username, full_name, activity_type, description, client_id,
    report_id, ip_address, user_agent, method, path, status_code, duration_ns, metadata, created_at)
SELECT a.rowid, a.id, u.user_key,
    CASE WHEN u.user_key IS NULL THEN a.username
         WHEN COALESCE(a.username, '') = u.user_name THEN NULL
         ELSE COALESCE(a.username, '') END,
    CASE WHEN u.user_key IS NULL THEN a.full_name
         WHEN COALESCE(a.full_name, '') = u.user_full_name THEN NULL
         ELSE COALESCE(a.full_name, '') END,
    a.activity_type, a.description, a.client_id, a.report_id, a.ip_address, a.user_agent, a.method, a.path,
    a.status_code, a.duration_ns, a.metadata, a.created_at
FROM activities a LEFT JOIN activity_users u ON u.user_id = a.user_id
ORDER BY a.rowid;

DROP TABLE activities;
ALTER TABLE activities_keyed RENAME TO activities;

UPDATE activity_users SET renamed = 1
WHERE user_key IN (SELECT user_key FROM activities WHERE user_key IS NOT NULL AND username IS NOT NULL);

CREATE UNIQUE INDEX activities_created_at ON activities (created_at, id);
CREATE INDEX activities_user_created_at ON activities (user_key, created_at, id) WHERE user_key IS NOT NULL;
CREATE INDEX activities_type_created_at ON activities (activity_type, created_at);
CREATE INDEX activities_client_id ON activities (client_id) WHERE client_id IS NOT NULL;
CREATE INDEX activities_report_id ON activities (report_id) WHERE report_id IS NOT NULL;

CREATE VIEW activity_rows AS
SELECT a.rowid AS rowid, a.id, u.user_id,
    COALESCE(a.username, u.user_name) AS username, COALESCE(a.full_name, u.user_full_name) AS full_name,
    a.activity_type, a.description, a.client_id, a.report_id, a.ip_address, a.user_agent, a.method, a.path,
    a.status_code, a.duration_ns, a.metadata, a.created_at, a.user_key
FROM activities a LEFT JOIN activity_users u ON u.user_key = a.user_key;
