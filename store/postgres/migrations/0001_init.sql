-- Initial schema of Advisor Analytics. Objects are created in the current
-- schema (search_path); nothing names a schema explicitly.
--
-- Keys that results are grouped or ordered by use the "C" collation: byte
-- order is what every driver and Go agree on, and it is the fastest to index.

CREATE TABLE clients (
    id           uuid PRIMARY KEY,
    company_name varchar(255) NOT NULL,
    industry     text NOT NULL,
    status       text NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX clients_created_at_idx ON clients (created_at);

CREATE TABLE reports (
    id                      uuid PRIMARY KEY,
    client_id               uuid NOT NULL,
    created_by              text COLLATE "C",
    report_type             text COLLATE "C" NOT NULL,
    status                  text NOT NULL,
    created_at              timestamptz NOT NULL,
    processing_started_at   timestamptz,
    processing_completed_at timestamptz,
    csv_size_bytes          bigint,
    CONSTRAINT reports_client_id_fkey FOREIGN KEY (client_id) REFERENCES clients (id) ON DELETE CASCADE
);
CREATE INDEX reports_created_at_idx ON reports (created_at, id);
CREATE INDEX reports_client_id_status_idx ON reports (client_id, status);
CREATE INDEX reports_completed_idx ON reports (processing_completed_at)
    WHERE status = 'completed' AND processing_started_at IS NOT NULL AND processing_completed_at IS NOT NULL;

-- Money is kept to the cent; 15 digits hold every amount the contract
-- accepts (up to 1e12).
CREATE TABLE recommendations (
    id                uuid PRIMARY KEY,
    report_id         uuid NOT NULL,
    position          integer NOT NULL,
    category          text COLLATE "C" NOT NULL,
    business_impact   text COLLATE "C",
    recommendation    text,
    subscription_id   text,
    subscription_name text,
    resource_group    text,
    resource_name     text,
    resource_type     text,
    potential_savings numeric(15,2) NOT NULL DEFAULT 0,
    currency          char(3) NOT NULL DEFAULT 'USD',
    CONSTRAINT recommendations_report_id_fkey FOREIGN KEY (report_id) REFERENCES reports (id) ON DELETE CASCADE
);
CREATE INDEX recommendations_report_id_category_idx ON recommendations (report_id, category);

-- The audit trail. No foreign keys: activities outlive the entities they
-- mention.
CREATE TABLE activities (
    id            uuid PRIMARY KEY,
    user_id       text COLLATE "C",
    username      text,
    full_name     text,
    activity_type varchar(50) COLLATE "C" NOT NULL,
    description   varchar(255),
    client_id     uuid,
    report_id     uuid,
    ip_address    text,
    user_agent    varchar(500),
    method        text,
    path          text,
    status_code   integer NOT NULL DEFAULT 0,
    duration_ns   bigint NOT NULL DEFAULT 0,
    metadata      jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL
);
CREATE INDEX activities_created_at_id_idx ON activities (created_at, id);
CREATE INDEX activities_user_id_created_at_id_idx ON activities (user_id, created_at, id);
CREATE INDEX activities_type_created_at_idx ON activities (activity_type, created_at);
CREATE INDEX activities_client_id_idx ON activities (client_id) WHERE client_id IS NOT NULL;
CREATE INDEX activities_report_id_idx ON activities (report_id) WHERE report_id IS NOT NULL;

-- Exact activity counts, maintained in the transaction of every insert and
-- delete of activities. activity_day_counts (per UTC day) and
-- activity_hour_counts cover every activity; activity_user_counts and
-- activity_user_day_counts only those with a user.
CREATE TABLE activity_day_counts (
    day           date NOT NULL,
    activity_type varchar(50) COLLATE "C" NOT NULL,
    n             bigint NOT NULL,
    PRIMARY KEY (day, activity_type)
);
CREATE TABLE activity_user_counts (
    user_id       text COLLATE "C" NOT NULL,
    day           date NOT NULL,
    activity_type varchar(50) COLLATE "C" NOT NULL,
    n             bigint NOT NULL,
    PRIMARY KEY (user_id, day, activity_type)
);
CREATE INDEX activity_user_counts_day_idx ON activity_user_counts (day, user_id);
-- The same per user and day over every type: what user totals, top users
-- and distinct users read.
CREATE TABLE activity_user_day_counts (
    user_id text COLLATE "C" NOT NULL,
    day     date NOT NULL,
    n       bigint NOT NULL,
    PRIMARY KEY (user_id, day)
);
CREATE INDEX activity_user_day_counts_day_idx ON activity_user_day_counts (day, user_id);
-- Per UTC hour, so days can be bucketed in any zone whose offset is a whole
-- number of hours.
CREATE TABLE activity_hour_counts (
    hour          timestamptz NOT NULL,
    activity_type varchar(50) COLLATE "C" NOT NULL,
    n             bigint NOT NULL,
    PRIMARY KEY (hour, activity_type)
);

CREATE TABLE metrics_snapshots (
    period                  text NOT NULL,
    period_start            date NOT NULL,
    from_at                 timestamptz NOT NULL,
    to_at                   timestamptz NOT NULL,
    total_reports           bigint NOT NULL,
    reports_created         bigint NOT NULL,
    reports_completed       bigint NOT NULL,
    reports_failed          bigint NOT NULL,
    active_users            bigint NOT NULL,
    new_clients             bigint NOT NULL,
    total_recommendations   bigint NOT NULL,
    total_potential_savings numeric(17,2) NOT NULL,
    activities              bigint NOT NULL,
    logins                  bigint NOT NULL,
    uploads                 bigint NOT NULL,
    downloads               bigint NOT NULL,
    shares                  bigint NOT NULL,
    avg_generation_seconds  double precision NOT NULL,
    success_rate            double precision NOT NULL,
    category_counts         jsonb NOT NULL DEFAULT '{}',
    report_type_counts      jsonb NOT NULL DEFAULT '{}',
    computed_at             timestamptz NOT NULL,
    PRIMARY KEY (period, period_start)
);

CREATE TABLE usage_stats (
    hour_start             timestamptz PRIMARY KEY,
    reports_generated      bigint NOT NULL,
    reports_failed         bigint NOT NULL,
    csv_uploads            bigint NOT NULL,
    failed_uploads         bigint NOT NULL,
    downloads              bigint NOT NULL,
    shares                 bigint NOT NULL,
    avg_csv_size_bytes     double precision NOT NULL,
    avg_processing_minutes double precision NOT NULL,
    report_type_counts     jsonb NOT NULL DEFAULT '{}',
    computed_at            timestamptz NOT NULL
);

CREATE TABLE health_samples (
    id       bigserial PRIMARY KEY,
    taken_at timestamptz NOT NULL,
    status   text NOT NULL,
    data     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX health_samples_taken_at_idx ON health_samples (taken_at);

CREATE TABLE job_runs (
    id            uuid PRIMARY KEY,
    job           text COLLATE "C" NOT NULL,
    run_key       text UNIQUE,
    scheduled_at  timestamptz,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    outcome       text NOT NULL,
    error         text,
    rows_affected bigint NOT NULL DEFAULT 0,
    message       text,
    instance      text
);
CREATE INDEX job_runs_job_started_at_idx ON job_runs (job, started_at DESC, id DESC);
CREATE INDEX job_runs_started_at_idx ON job_runs (started_at DESC, id DESC);

CREATE TABLE weekly_reports (
    week_start date PRIMARY KEY,
    summary    jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL
);
