package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// wholeDays returns the UTC days entirely inside [From, To]: [lo, hi).
// hasLo/hasHi are false for an unbounded side; ok is false when no whole day
// is covered.
func (f filter) wholeDays() (lo, hi time.Time, hasLo, hasHi, ok bool) {
	if !f.From.IsZero() {
		hasLo = true
		lo = f.From.Truncate(24 * time.Hour)
		if lo.Before(f.From) {
			lo = lo.Add(24 * time.Hour)
		}
	}
	if !f.To.IsZero() {
		hasHi = true
		hi = f.To.Add(time.Microsecond).Truncate(24 * time.Hour)
	}
	return lo, hi, hasLo, hasHi, !(hasLo && hasHi) || lo.Before(hi)
}

// blockSpan returns the blocks of activity_user_block_counts to read for
// the days [lo, hi) (each bound only where has*): [blo, bhi). A block only
// partly inside is one of them when more than half of its days are inside
// (its days outside are then subtracted), unless the range lies inside one
// block; ok is false when there is none.
func blockSpan(lo, hi time.Time, hasLo, hasHi bool) (blo, bhi int64, ok bool) {
	const secondsPerBlock = daysPerBlock * 86400
	if hasLo {
		blo = -floorDiv(-lo.Unix(), secondsPerBlock) // rounded up
	}
	if hasHi {
		bhi = floorDiv(hi.Unix(), secondsPerBlock)
	}
	if !hasLo || !hasHi || blo <= bhi {
		if hasLo && blockStart(blo).Sub(lo) > daysPerBlock/2*24*time.Hour {
			blo--
		}
		if hasHi && hi.Sub(blockStart(bhi)) > daysPerBlock/2*24*time.Hour {
			bhi++
		}
	}
	return blo, bhi, !(hasLo && hasHi) || blo < bhi
}

// blockStart is the first instant of block b.
func blockStart(b int64) time.Time { return time.Unix(b*daysPerBlock*86400, 0).UTC() }

// floorDiv divides rounding toward negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// countedSQL returns a query of rows (k, n) whose n summed per k are the
// exact activity counts of f grouped by a key: counterKey over the counter
// tables, activityKey over activities. Whole UTC days come from the counter
// tables and only the partial days at the edges are counted in activities;
// filters the counters do not cover are counted in activities alone. With
// userKey only activities with a user are counted.
func (f filter) countedSQL(a *args, counterKey, activityKey string, userKey bool) string {
	lo, hi, hasLo, hasHi, ok := f.wholeDays()
	var extra []string
	if userKey {
		extra = []string{"user_key IS NOT NULL"}
	}
	if f.ClientID != "" || f.ReportID != "" || !ok {
		return "SELECT " + activityKey + " AS k, count(*) AS n FROM activities" +
			whereSQL(append(extra, f.conds(a)...)) + " GROUP BY 1"
	}
	table := "activity_day_counts"
	if f.UserID != "" || userKey {
		table = "activity_user_counts"
		if f.ActivityType == "" && !strings.Contains(counterKey, "activity_type") {
			table = "activity_user_day_counts"
		}
	}
	var base []string
	if f.UserID != "" {
		base = append(base, "user_key = "+userKeySQL(a.add(f.UserID)))
	}
	if f.ActivityType != "" {
		base = append(base, "activity_type = "+a.add(f.ActivityType))
	}
	days := func(lo, hi time.Time, hasLo, hasHi bool, n string) string {
		c := slices.Clone(base)
		if hasLo {
			c = append(c, "day >= "+a.add(lo.Format(time.DateOnly))+"::date")
		}
		if hasHi {
			c = append(c, "day < "+a.add(hi.Format(time.DateOnly))+"::date")
		}
		return "SELECT " + counterKey + " AS k, " + n + " FROM " + table + whereSQL(c)
	}
	// span adds the days [from, to) or subtracts the days [to, from).
	span := func(from, to time.Time) string {
		if to.Before(from) {
			return days(to, from, true, true, "-n")
		}
		return days(from, to, true, true, "n")
	}
	var parts []string
	// The block counters have neither types nor days: blocks come from them
	// when the key needs neither, the days around them (added or
	// subtracted) from table.
	blo, bhi, ok := blockSpan(lo, hi, hasLo, hasHi)
	if ok && table == "activity_user_day_counts" && (counterKey == "1" || counterKey == "user_key") {
		parts = append(parts, blocksSQL(a, base, counterKey, lo, hi, hasLo, hasHi, blo, bhi, span)...)
	} else {
		parts = append(parts, days(lo, hi, hasLo, hasHi, "n"))
	}
	// Whole hours at the edges: from the hourly counters, which have
	// neither users nor days as keys, or from the hour columns of the
	// per-user daily totals.
	var hours func(from, to time.Time) string
	switch {
	case f.UserID == "" && !userKey && (counterKey == "1" || counterKey == "activity_type"):
		hours = func(from, to time.Time) string {
			c := []string{"hour >= " + a.add(from), "hour < " + a.add(to)}
			if f.ActivityType != "" {
				c = append(c, "activity_type = "+a.add(f.ActivityType))
			}
			return "SELECT " + counterKey + " AS k, n FROM activity_hour_counts" + whereSQL(c)
		}
	case table == "activity_user_day_counts":
		hours = func(from, to time.Time) string {
			day := from.Truncate(24 * time.Hour)
			cols := make([]string, 0, hoursPerDay)
			for h := from.Sub(day) / time.Hour; h < to.Sub(day)/time.Hour; h++ {
				cols = append(cols, fmt.Sprintf("h%d", h))
			}
			c := append(slices.Clone(base), "day = "+a.add(day.Format(time.DateOnly))+"::date")
			return "SELECT " + counterKey + " AS k, " + strings.Join(cols, " + ") + " AS n FROM " + table + whereSQL(c)
		}
	}
	if hasLo {
		parts = append(parts, f.edgeSQL(a, f.From, lo, activityKey, extra, hours, span)...)
	}
	if hasHi {
		parts = append(parts, f.edgeSQL(a, hi, f.To.Add(time.Microsecond), activityKey, extra, hours, span)...)
	}
	return strings.Join(parts, "\nUNION ALL\n")
}

// blocksSQL returns rows (k, n) of activity_user_block_counts (with the
// conditions base) counting the days [lo, hi) (each bound only where has*)
// from the blocks [blo, bhi) that blockSpan chose: their totals, and the
// days around them, added or subtracted, from the day columns of the block
// they lie in at each edge. It reads the table once, each row of the blocks
// it needs with the terms of its block; span reads days from the daily
// totals, for days that would not lie in one block.
func blocksSQL(a *args, base []string, counterKey string, lo, hi time.Time, hasLo, hasHi bool,
	blo, bhi int64, span func(from, to time.Time) string) []string {
	var terms, parts []string
	c := slices.Clone(base)
	var whole []string
	if hasLo {
		whole = append(whole, "block >= "+a.add(blo))
	}
	if hasHi {
		whole = append(whole, "block < "+a.add(bhi))
	}
	if len(whole) == 0 {
		terms = append(terms, "n")
	} else {
		terms = append(terms, "CASE WHEN "+strings.Join(whole, " AND ")+" THEN n ELSE 0 END")
	}
	first, last := blo, bhi-1 // the blocks read
	// edge adds the days [from, to), or subtracts [to, from), of one block.
	edge := func(from, to time.Time) {
		start, end, sign := from, to, ""
		if to.Before(from) {
			start, end, sign = to, from, "-"
		}
		b := floorDiv(start.Unix(), daysPerBlock*86400)
		d0, d1 := start.Sub(blockStart(b))/(24*time.Hour), end.Sub(blockStart(b))/(24*time.Hour)-1
		if d0 < 0 || d1 >= daysPerBlock || d0 > d1 {
			parts = append(parts, span(from, to)) // not inside one block
			return
		}
		days := make([]string, 0, d1-d0+1)
		for d := d0; d <= d1; d++ {
			days = append(days, fmt.Sprintf("d%d", d))
		}
		terms = append(terms, "CASE WHEN block = "+a.add(b)+" THEN "+sign+"("+strings.Join(days, " + ")+") ELSE 0 END")
		first, last = min(first, b), max(last, b)
	}
	if from := blockStart(blo); hasLo && !lo.Equal(from) {
		edge(lo, from)
	}
	if to := blockStart(bhi); hasHi && !to.Equal(hi) {
		edge(to, hi)
	}
	if hasLo {
		c = append(c, "block >= "+a.add(first))
	}
	if hasHi {
		c = append(c, "block <= "+a.add(last))
	}
	return append([]string{"SELECT " + counterKey + " AS k, (" + strings.Join(terms, " + ") + ")::bigint AS n" +
		" FROM activity_user_block_counts" + whereSQL(c)}, parts...)
}

// edgeSQL returns rows (k, n) counting the activities of f in [from, to),
// the part of a UTC day at an edge of the range: with hours (the rows of
// the whole UTC hours of a range inside one day), those hours from the
// counters and only the partial hours in activities; without, the part in
// activities or, when it is more than half of its day, the day from the
// daily counters (span) less the rest of the day counted in activities.
func (f filter) edgeSQL(a *args, from, to time.Time, activityKey string, extra []string,
	hours func(from, to time.Time) string, span func(from, to time.Time) string) []string {
	count := func(lo, hi time.Time, n string) string {
		e := f
		e.From, e.To = time.Time{}, time.Time{}
		ec := append(e.conds(a), "created_at >= "+a.add(lo), "created_at < "+a.add(hi))
		return "SELECT " + activityKey + " AS k, " + n + " AS n FROM activities" + whereSQL(append(ec, extra...)) + " GROUP BY 1"
	}
	if hours == nil {
		ds := from.Truncate(24 * time.Hour)
		de := ds.Add(24 * time.Hour)
		if to.Sub(from) > 12*time.Hour && !to.After(de) {
			switch {
			case to.Equal(de):
				return []string{span(ds, de), count(ds, from, "-count(*)")}
			case from.Equal(ds):
				return []string{span(ds, de), count(to, de, "-count(*)")}
			}
		}
		return []string{count(from, to, "count(*)")}
	}
	hlo, hhi := from.Truncate(time.Hour), to.Truncate(time.Hour)
	if hlo.Before(from) {
		hlo = hlo.Add(time.Hour)
	}
	if !hlo.Before(hhi) {
		return []string{count(from, to, "count(*)")}
	}
	parts := []string{hours(hlo, hhi)}
	if from.Before(hlo) {
		parts = append(parts, count(from, hlo, "count(*)"))
	}
	if hhi.Before(to) {
		parts = append(parts, count(hhi, to, "count(*)"))
	}
	return parts
}

// localDaySQL returns the counts of f per local day of z, summing whole
// UTC hours from activity_hour_counts and counting only the partial hours
// at the edges in activities. ok is false when the hourly counters cannot
// answer: a user, client or report filter, or a zone whose offset is not a
// whole number of hours over the range.
func (f filter) localDaySQL(a *args, z zone) (query string, ok bool) {
	if f.UserID != "" || f.ClientID != "" || f.ReportID != "" || !z.wholeHours(f.From, f.To) {
		return "", false
	}
	var lo, hi time.Time
	hasLo, hasHi := !f.From.IsZero(), !f.To.IsZero()
	if hasLo {
		if lo = f.From.Truncate(time.Hour); lo.Before(f.From) {
			lo = lo.Add(time.Hour)
		}
	}
	if hasHi {
		hi = f.To.Add(time.Microsecond).Truncate(time.Hour)
	}
	if hasLo && hasHi && !lo.Before(hi) {
		return "", false
	}
	tz := z.expr(a)
	var c []string
	if f.ActivityType != "" {
		c = append(c, "activity_type = "+a.add(f.ActivityType))
	}
	if hasLo {
		c = append(c, "hour >= "+a.add(lo))
	}
	if hasHi {
		c = append(c, "hour < "+a.add(hi))
	}
	key := func(col string) string { return "to_char((" + col + " AT TIME ZONE " + tz + ")::date, 'YYYY-MM-DD')" }
	parts := []string{"SELECT " + key("hour") + " AS k, n FROM activity_hour_counts" + whereSQL(c)}
	if hasLo {
		e := f
		e.To = time.Time{}
		parts = append(parts, "SELECT "+key("created_at")+" AS k, count(*) AS n FROM activities"+
			whereSQL(append(e.conds(a), "created_at < "+a.add(lo)))+" GROUP BY 1")
	}
	if hasHi {
		e := f
		e.From = time.Time{}
		parts = append(parts, "SELECT "+key("created_at")+" AS k, count(*) AS n FROM activities"+
			whereSQL(append(e.conds(a), "created_at >= "+a.add(hi)))+" GROUP BY 1")
	}
	return "SELECT k, sum(n)::bigint FROM (" + strings.Join(parts, "\nUNION ALL\n") + ") x GROUP BY k HAVING sum(n) > 0 ORDER BY k", true
}

// ActivitySummary groups the matching activities by type, user or local
// day. Users without an id are left out of GroupByUser (they still count
// in Total).
func (s *Store) ActivitySummary(ctx context.Context, p store.ActivitySummaryParams) (*store.ActivitySummary, error) {
	const op = "summarize activities"
	p, err := storedriver.PrepareSummaryParams(p)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	f := newFilter(p.ActivityFilter)
	var a args
	var query string
	switch p.GroupBy {
	case store.GroupByType:
		query = "SELECT k, sum(n)::bigint AS cnt FROM (" + f.countedSQL(&a, "activity_type", "activity_type", false) +
			") x GROUP BY k HAVING sum(n) > 0 ORDER BY cnt DESC, k"
	case store.GroupByUser:
		// Counted by key, then named: ties are ordered by the user's id.
		counted := "SELECT k AS uk, sum(n)::bigint AS cnt FROM (" + f.countedSQL(&a, "user_key", "user_key", true) +
			") x GROUP BY k HAVING sum(n) > 0"
		var limit string
		if p.Limit > 0 {
			// Only the users who can be among the first Limit are named
			// and sorted: those counting at least as many as the Limit-th
			// (more than Limit only when the Limit-th ties with the next),
			// instead of every user of the range.
			limit = a.add(p.Limit)
			counted = "WITH c AS (" + counted + ") SELECT uk, cnt FROM c WHERE cnt >= COALESCE((SELECT cnt FROM c" +
				" ORDER BY cnt DESC LIMIT 1 OFFSET " + limit + " - 1), 0)"
		}
		inner := "SELECT u.user_id AS k, c.cnt, c.uk FROM (" + counted + ") c" +
			" JOIN activity_users u ON u.user_key = c.uk ORDER BY c.cnt DESC, u.user_id"
		if p.Limit > 0 {
			inner += " LIMIT " + limit
		}
		latest := "SELECT COALESCE(username, user_name)" + activitiesFrom + whereSQL(append(f.conds(&a), "user_key = t.uk")) +
			" ORDER BY created_at DESC, id DESC LIMIT 1"
		query = "SELECT t.k, t.cnt, COALESCE((" + latest + "), '') FROM (" + inner + ") t ORDER BY t.cnt DESC, t.k"
	case store.GroupByDay:
		if z := zoneOf(p.Location); z.utc() {
			query = "SELECT k, sum(n)::bigint FROM (" + f.countedSQL(&a, "to_char(day, 'YYYY-MM-DD')",
				"to_char((created_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD')", false) + ") x GROUP BY k HAVING sum(n) > 0 ORDER BY k"
		} else if q, ok := f.localDaySQL(&a, z); ok {
			query = q
		} else {
			query = "SELECT to_char((created_at AT TIME ZONE " + z.expr(&a) + ")::date, 'YYYY-MM-DD') AS k, count(*) FROM activities" +
				whereSQL(f.conds(&a)) + " GROUP BY 1 ORDER BY 1"
		}
	}
	sum := &store.ActivitySummary{}
	// The query sums counter rows and a few partial days: parallel workers
	// cost more to start than they save (3.5 times slower for a 90-day
	// summary by user in BenchmarkUncached on 2 vCPUs).
	const settings = readTxSettings + "; SET LOCAL max_parallel_workers_per_gather = 0"
	err = s.readTxSet(ctx, op, settings, func(tx *sqlexec.StmtTx) error {
		sum.Rows = []store.SummaryRow{}
		if p.GroupBy == store.GroupByDay {
			if err := zoneOf(p.Location).check(ctx, tx); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, query, a...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r store.SummaryRow
			var k string
			switch p.GroupBy {
			case store.GroupByUser:
				err = rows.Scan(&k, &r.Count, &r.Username)
				r.UserID = k
			case store.GroupByDay:
				err = rows.Scan(&k, &r.Count)
				r.Day = k
			default:
				err = rows.Scan(&k, &r.Count)
				r.ActivityType = k
			}
			if err != nil {
				return err
			}
			sum.Rows = append(sum.Rows, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		sum.Total, err = s.activityTotal(ctx, tx, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// ActivityDistinctUsers counts the users with activity at or after since.
func (s *Store) ActivityDistinctUsers(ctx context.Context, since time.Time) (int64, error) {
	af := store.ActivityFilter{From: since}
	_ = storedriver.PrepareFilter(&af) // a time alone is always valid
	f := newFilter(af)
	var a args
	var query string
	if f.From.IsZero() {
		query = `SELECT count(DISTINCT user_key) FROM activity_user_day_counts WHERE n > 0`
	} else {
		lo, _, _, _, _ := f.wholeDays()
		query = `SELECT count(*) FROM (
			SELECT user_key FROM activity_user_day_counts WHERE day >= ` + a.add(lo.Format(time.DateOnly)) + `::date AND n > 0
			UNION
			SELECT user_key FROM activities WHERE created_at >= ` + a.add(f.From) + ` AND created_at < ` + a.add(lo) + ` AND user_key IS NOT NULL
		) u`
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, query, a...).Scan(&n); err != nil {
		return 0, s.wrap(ctx, "count distinct users", err)
	}
	return n, nil
}
