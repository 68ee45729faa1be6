package postgres

// BlockCountsFromDays fills activity_user_block_counts, with the day
// columns of each block, from activity_user_day_counts, as the store's own
// counter statements sum them; for the benchmarks that seed the counters
// directly.
var BlockCountsFromDays = `INSERT INTO activity_user_block_counts (user_key, block, n, ` + blockDayColumns() + `) ` +
	blockDaysSQL("activity_user_day_counts")
