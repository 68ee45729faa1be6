package postgres

import (
	"fmt"
	"strings"
)

// daysPerBlock is the number of UTC days in a block of
// activity_user_block_counts; blockOfDaySQL is the block of a date column
// named day (its divisor is daysPerBlock).
const (
	daysPerBlock  = 32
	blockOfDaySQL = "floor((day - DATE '1970-01-01') / 32.0)::integer"
)

// dayInBlockSQL is the day of its block (0 to daysPerBlock-1) of a date
// column named day: the day column of activity_user_block_counts that
// counts it.
const dayInBlockSQL = "(day - DATE '1970-01-01') - 32 * " + blockOfDaySQL

// numbered joins with ", " the n columns or terms of one counter vector:
// format holds %[1]d for the column's index ("d%[1]d" gives "d0, d1, …").
func numbered(n int, format string) string {
	terms := make([]string, n)
	for i := range terms {
		terms[i] = fmt.Sprintf(format, i)
	}
	return strings.Join(terms, ", ")
}

// blockDaysSQL is a query of (user_key, block, n, d0 … d31): the counts n
// of rows (a FROM source with user_key, day and n) summed by user and
// block, in all and by day of the block, as activity_user_block_counts
// holds them.
func blockDaysSQL(rows string) string {
	return "SELECT user_key, block, sum(n) AS n, " +
		numbered(daysPerBlock, "COALESCE(sum(n) FILTER (WHERE dib = %[1]d), 0) AS d%[1]d") +
		" FROM (SELECT user_key, " + blockOfDaySQL + " AS block, " + dayInBlockSQL + " AS dib, n FROM " + rows +
		") x GROUP BY 1, 2"
}

// blockDayColumns lists the day columns of activity_user_block_counts
// ("d0, d1, …"); blockDaysSet(op, from) sets each to itself (c) op the
// same column of from ("d0 = c.d0 + EXCLUDED.d0, …").
func blockDayColumns() string { return numbered(daysPerBlock, "d%[1]d") }

func blockDaysSet(op, from string) string {
	return numbered(daysPerBlock, "d%[1]d = c.d%[1]d "+op+" "+from+".d%[1]d")
}

// hoursPerDay is the number of hour columns (h0 … h23) of
// activity_user_day_counts.
const hoursPerDay = 24

// dayHourColumns lists the hour columns of activity_user_day_counts
// ("h0, h1, …"); dayHoursSum sums n of rows with a column hour (0 to 23)
// into each ("COALESCE(sum(n) FILTER (WHERE hour = 0), 0), …").
func dayHourColumns() string { return numbered(hoursPerDay, "h%[1]d") }

func dayHoursSum() string {
	return numbered(hoursPerDay, "COALESCE(sum(n) FILTER (WHERE hour = %[1]d), 0)")
}

// countsCTE keeps the counter tables in step with a change of activities.
// It reads k(day, hour, user_key, activity_type, n) (hour 0 to 23 of the
// UTC day, user_key 0: no user), n negative for deletions, and must follow
// a WITH list that defines it. Keys are applied in a fixed order so
// concurrent writers never deadlock.
var countsCTE = `
kh AS (
	SELECT (day + hour * interval '1 hour') AT TIME ZONE 'UTC' AS hour, activity_type, sum(n) AS n FROM k GROUP BY 1, 2
),
cd AS (
	INSERT INTO activity_day_counts AS c (day, activity_type, n)
	SELECT day, activity_type, sum(n) FROM k GROUP BY day, activity_type ORDER BY day, activity_type
	ON CONFLICT (day, activity_type) DO UPDATE SET n = c.n + EXCLUDED.n
),
cu AS (
	INSERT INTO activity_user_counts AS c (user_key, day, activity_type, n)
	SELECT user_key, day, activity_type, sum(n) FROM k WHERE user_key <> 0
	GROUP BY user_key, day, activity_type ORDER BY user_key, day, activity_type
	ON CONFLICT (user_key, day, activity_type) DO UPDATE SET n = c.n + EXCLUDED.n
),
cud AS (
	INSERT INTO activity_user_day_counts AS c (user_key, day, n, ` + dayHourColumns() + `)
	SELECT user_key, day, sum(n), ` + dayHoursSum() + ` FROM k WHERE user_key <> 0 GROUP BY user_key, day ORDER BY user_key, day
	ON CONFLICT (user_key, day) DO UPDATE SET n = c.n + EXCLUDED.n, ` + numbered(hoursPerDay, "h%[1]d = c.h%[1]d + EXCLUDED.h%[1]d") + `
),
cub AS (
	INSERT INTO activity_user_block_counts AS c (user_key, block, n, ` + blockDayColumns() + `)
	` + blockDaysSQL("k WHERE user_key <> 0") + ` ORDER BY 1, 2
	ON CONFLICT (user_key, block) DO UPDATE SET n = c.n + EXCLUDED.n, ` + blockDaysSet("+", "EXCLUDED") + `
),
ch AS (
	INSERT INTO activity_hour_counts AS c (hour, activity_type, n)
	SELECT hour, activity_type, sum(n) FROM kh GROUP BY hour, activity_type ORDER BY hour, activity_type
	ON CONFLICT (hour, activity_type) DO UPDATE SET n = c.n + EXCLUDED.n
)`
