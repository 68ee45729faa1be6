-- Initial schema. Times are INTEGER unix microseconds (UTC), money is INTEGER
-- cents, maps are JSON text; optional text fields are NULL when empty.

CREATE TABLE clients (
    id           TEXT    NOT NULL PRIMARY KEY,
    company_name TEXT    NOT NULL,
    industry     TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX clients_created_at ON clients (created_at);
CREATE INDEX clients_status ON clients (status);

CREATE TABLE reports (
    id                      TEXT    NOT NULL PRIMARY KEY,
    client_id               TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    created_by              TEXT,
    report_type             TEXT    NOT NULL,
    status                  TEXT    NOT NULL,
    created_at              INTEGER NOT NULL,
    processing_started_at   INTEGER,
    processing_completed_at INTEGER,
    csv_size_bytes          INTEGER
);
CREATE INDEX reports_created_at ON reports (created_at);
CREATE INDEX reports_client_status ON reports (client_id, status);
CREATE INDEX reports_completed_at ON reports (processing_completed_at)
    WHERE status = 'completed' AND processing_started_at IS NOT NULL AND processing_completed_at IS NOT NULL;

CREATE TABLE recommendations (
    id                      TEXT    NOT NULL PRIMARY KEY,
    report_id               TEXT    NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    position                INTEGER NOT NULL,
    category                TEXT    NOT NULL,
    business_impact         TEXT,
    recommendation          TEXT,
    subscription_id         TEXT,
    subscription_name       TEXT,
    resource_group          TEXT,
    resource_name           TEXT,
    resource_type           TEXT,
    potential_savings_cents INTEGER NOT NULL,
    currency                TEXT    NOT NULL
);
CREATE INDEX recommendations_report_category ON recommendations (report_id, category);

-- Activity ids are random UUIDs: a unique index on id alone would dirty a
-- random page per row on every insert, so uniqueness is enforced on
-- (created_at, id), the key every read uses (a replayed event carries its
-- original time).
CREATE TABLE activities (
    id            TEXT    NOT NULL,
    user_id       TEXT,
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
CREATE UNIQUE INDEX activities_created_at ON activities (created_at, id);
CREATE INDEX activities_user_created_at ON activities (user_id, created_at, id) WHERE user_id IS NOT NULL;
CREATE INDEX activities_type_created_at ON activities (activity_type, created_at);
CREATE INDEX activities_client_id ON activities (client_id) WHERE client_id IS NOT NULL;
CREATE INDEX activities_report_id ON activities (report_id) WHERE report_id IS NOT NULL;

-- Activity counters, maintained in the transaction of every insert and
-- delete, so exact totals never need a COUNT over the whole table. day is
-- the UTC day number (unix days); user_id is '' for anonymous activity.
CREATE TABLE activity_day_counts (
    day           INTEGER NOT NULL,
    activity_type TEXT    NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (day, activity_type)
) WITHOUT ROWID;

-- The same by UTC hour (unix hours), for the partial days at the edges of a
-- range.
CREATE TABLE activity_hour_counts (
    hour          INTEGER NOT NULL,
    activity_type TEXT    NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (hour, activity_type)
) WITHOUT ROWID;

CREATE TABLE activity_user_counts (
    user_id       TEXT    NOT NULL,
    day           INTEGER NOT NULL,
    activity_type TEXT    NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (user_id, day, activity_type)
) WITHOUT ROWID;
CREATE INDEX activity_user_counts_day ON activity_user_counts (day, user_id, activity_type, n);

-- Per user by UTC hour, for the partial days at the edges of a range.
CREATE TABLE activity_user_hour_counts (
    hour    INTEGER NOT NULL,
    user_id TEXT    NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (hour, user_id)
) WITHOUT ROWID;

CREATE TABLE metrics_snapshots (
    period                  TEXT    NOT NULL,
    period_start            TEXT    NOT NULL,
    from_at                 INTEGER NOT NULL,
    to_at                   INTEGER NOT NULL,
    total_reports           INTEGER NOT NULL,
    reports_created         INTEGER NOT NULL,
    reports_completed       INTEGER NOT NULL,
    reports_failed          INTEGER NOT NULL,
    active_users            INTEGER NOT NULL,
    new_clients             INTEGER NOT NULL,
    total_recommendations   INTEGER NOT NULL,
    total_potential_savings REAL    NOT NULL,
    activities              INTEGER NOT NULL,
    logins                  INTEGER NOT NULL,
    uploads                 INTEGER NOT NULL,
    downloads               INTEGER NOT NULL,
    shares                  INTEGER NOT NULL,
    avg_generation_seconds  REAL    NOT NULL,
    success_rate            REAL    NOT NULL,
    category_counts         TEXT    NOT NULL,
    report_type_counts      TEXT    NOT NULL,
    computed_at             INTEGER NOT NULL,
    PRIMARY KEY (period, period_start)
) WITHOUT ROWID;

CREATE TABLE usage_stats (
    hour_start             INTEGER NOT NULL PRIMARY KEY,
    reports_generated      INTEGER NOT NULL,
    reports_failed         INTEGER NOT NULL,
    csv_uploads            INTEGER NOT NULL,
    failed_uploads         INTEGER NOT NULL,
    downloads              INTEGER NOT NULL,
    shares                 INTEGER NOT NULL,
    avg_csv_size_bytes     REAL    NOT NULL,
    avg_processing_minutes REAL    NOT NULL,
    report_type_counts     TEXT    NOT NULL,
    computed_at            INTEGER NOT NULL
);

CREATE TABLE health_samples (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    taken_at INTEGER NOT NULL,
    status   TEXT    NOT NULL,
    data     TEXT    NOT NULL
);
CREATE INDEX health_samples_taken_at ON health_samples (taken_at);

CREATE TABLE job_runs (
    id            TEXT    NOT NULL PRIMARY KEY,
    job           TEXT    NOT NULL,
    run_key       TEXT UNIQUE,
    scheduled_at  INTEGER,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    outcome       TEXT    NOT NULL,
    error         TEXT,
    rows_affected INTEGER NOT NULL,
    message       TEXT,
    instance      TEXT
);
CREATE INDEX job_runs_job_started_at ON job_runs (job, started_at);
CREATE INDEX job_runs_started_at ON job_runs (started_at);

CREATE TABLE weekly_reports (
    week_start TEXT    NOT NULL PRIMARY KEY,
    summary    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
