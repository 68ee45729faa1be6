package postgres

import "context"

// BlockCountsFromDays fills activity_user_block_counts, with the day
// columns of each block, from activity_user_day_counts, as the store's own
// counter statements sum them; for the benchmarks that seed the counters
// directly.
var BlockCountsFromDays = `INSERT INTO activity_user_block_counts (user_key, block, n, ` + blockDayColumns() + `) ` +
	blockDaysSQL("activity_user_day_counts")

// UserDayCountsFromActivities fills activity_user_day_counts, with the hour
// columns of each day, from activities; for the benchmarks that seed the
// counters directly.
var UserDayCountsFromActivities = `INSERT INTO activity_user_day_counts (user_key, day, n, ` + dayHourColumns() + `)
	SELECT user_key, day, sum(n), ` + dayHoursSum() + ` FROM (SELECT user_key, (created_at AT TIME ZONE 'UTC')::date AS day,
		extract(hour FROM created_at AT TIME ZONE 'UTC')::integer AS hour, count(*) AS n
		FROM activities WHERE user_key IS NOT NULL GROUP BY 1, 2, 3) x GROUP BY 1, 2`

// CompactCounters is compactCounters, for the tests.
func CompactCounters(ctx context.Context, s *Store) ([]string, error) { return s.compactCounters(ctx) }
