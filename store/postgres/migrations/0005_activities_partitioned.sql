-- Activities become range-partitioned by created_at, one partition per
-- calendar month (UTC) that holds rows plus the current month and the next
-- three, so that retention drops whole partitions instead of deleting rows.
-- The table is rebuilt in the migration's transaction: activities is locked
-- (ACCESS EXCLUSIVE) while every row is copied, about 10 s per million rows.
-- The key (created_at, id) includes the partition key, as PostgreSQL needs.
-- Partitions are named activities_pYYYYMMDD after their first day; the
-- store creates later ones itself, ahead of time and on demand.
ALTER TABLE activities RENAME TO activities_unpartitioned;
ALTER TABLE activities_unpartitioned RENAME CONSTRAINT activities_pkey TO activities_unpartitioned_pkey;
ALTER INDEX activities_user_id_created_at_id_idx RENAME TO activities_unpartitioned_user_idx;
ALTER INDEX activities_type_created_at_idx RENAME TO activities_unpartitioned_type_idx;
ALTER INDEX activities_client_id_idx RENAME TO activities_unpartitioned_client_idx;
ALTER INDEX activities_report_id_idx RENAME TO activities_unpartitioned_report_idx;

CREATE TABLE activities (
    id            uuid NOT NULL,
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
    created_at    timestamptz NOT NULL,
    CONSTRAINT activities_pkey PRIMARY KEY (created_at, id)
) PARTITION BY RANGE (created_at);
CREATE INDEX activities_user_id_created_at_id_idx ON activities (user_id, created_at, id);
CREATE INDEX activities_type_created_at_idx ON activities (activity_type, created_at);
CREATE INDEX activities_client_id_idx ON activities (client_id) WHERE client_id IS NOT NULL;
CREATE INDEX activities_report_id_idx ON activities (report_id) WHERE report_id IS NOT NULL;

DO $$
DECLARE
    m timestamp;
BEGIN
    FOR m IN
        SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') FROM activities_unpartitioned
        UNION
        SELECT date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => g) FROM generate_series(0, 3) AS g
    LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF activities FOR VALUES FROM (%L) TO (%L)',
            'activities_p' || to_char(m, 'YYYYMMDD'), m AT TIME ZONE 'UTC', (m + interval '1 month') AT TIME ZONE 'UTC');
    END LOOP;
END
$$;

INSERT INTO activities SELECT * FROM activities_unpartitioned;
DROP TABLE activities_unpartitioned;
