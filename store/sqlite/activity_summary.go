package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// Groupings of countBy: by activity type, its keys are strings; the
// others' are numbers (the user key, the UTC day number; 0 for byNone).
const (
	byNone = ""
	byType = "type"
	byUser = "user"
	byDay  = "day" // UTC day number
)

// counterTier is one counter table and the time unit of its rows.
type counterTier struct {
	table  string
	col    string // the unit number column (of a vector tier: the row key)
	unit   int64  // microseconds per unit
	dayKey string // SQL for the UTC day number of a row
	vector int64  // units a row when rows are count vectors keyed by col, else 0
}

var (
	dayTier     = counterTier{"activity_day_counts", "day", usPerDay, "day", 0}
	hourTier    = counterTier{"activity_hour_counts", "hour", usPerHour, "(hour + 2400000) / 24 - 100000", 0}
	userDayTier = counterTier{"activity_user_counts", "day", usPerDay, "day", 0}
	// userTotalTier is userDayTier over every type, a row per user and day.
	userTotalTier = counterTier{"activity_user_day_counts", "day", usPerDay, "day", 0}
	// userBlockTier has neither types nor days: it serves no type filter or
	// grouping and no grouping by day.
	userBlockTier = counterTier{"activity_user_block_counts", "block", usPerBlock, "", 0}
	// userBlockDayTier is userTotalTier read from the day vectors of the
	// 32-day blocks, and userDayHourTier the users' hourly counts, from the
	// hour vectors of the days: a row per user and block (day) instead of
	// one per user and day (hour), in key order (block or day, user). Only
	// userDayHourTier serves grouping by (UTC) day: its row is one.
	userBlockDayTier = counterTier{"activity_user_block_days", "block", usPerDay, "", daysPerBlock}
	userDayHourTier  = counterTier{"activity_user_day_hours", "day", usPerHour, "day", 24}
)

// countBy counts the activities matching f, grouped by one key. Whole
// 32-day blocks (per user, over every type), then whole UTC days, then whole
// hours, come from the counter tables when the filter allows it (only time
// range, user and type); the partial hours (partial days with a user) at the
// edges of the range, and filters on client or report, are counted through
// the activity indexes. With a user key or filter and no type, the days and
// hours at the edges of the whole blocks come from the count vectors of the
// edge blocks and days. The per-type user counters are read by user: a type
// filter or grouping with a user key but no user filter scans them.
func countBy[K countKey](ctx context.Context, q queryer, f filter, group string) (map[K]int64, error) {
	sp := storedSpan{math.MinInt64, math.MaxInt64, true} // not read: f has no bound to drop
	if f.hasFrom || f.hasTo {
		var err error
		if sp, err = activitySpan(ctx, q); err != nil {
			return nil, err
		}
	}
	return countStored[K](ctx, q, f, group, sp)
}

// countStored is countBy with the span of the activities stored already
// read. A bound outside it bounds nothing: without it, the finer tiers have
// no edge to read there (a range up to now most often ends after the newest
// activity).
func countStored[K countKey](ctx context.Context, q queryer, f filter, group string, sp storedSpan) (map[K]int64, error) {
	out := map[K]int64{}
	if f.empty() || !sp.found {
		return out, nil
	}
	f.hasFrom = f.hasFrom && f.from > sp.first
	f.hasTo = f.hasTo && f.to < sp.last
	if f.clientID != "" || f.report != "" {
		return out, countDirect(ctx, q, f, group, out)
	}
	tiers := []counterTier{dayTier, hourTier}
	if f.userID != "" || group == byUser {
		tiers = []counterTier{userDayTier}
		if f.typ == "" && group != byType { // the other user counters have no type
			tiers = []counterTier{userTotalTier, userDayHourTier}
			if group != byDay {
				tiers = []counterTier{userBlockTier, userBlockDayTier, userDayHourTier}
			}
		}
	}
	if err := countTiered(ctx, q, f, group, tiers, out); err != nil {
		return nil, err
	}
	// Subtracted parts can leave zero counts behind.
	maps.DeleteFunc(out, func(_ K, n int64) bool { return n == 0 })
	return out, nil
}

// countTiered adds the counts of f to out: the units of the first tier
// that the range covers from its counters, the rest from the finer tiers.
// A unit at an edge that the range covers more than half of is counted
// whole and its part outside the range subtracted, so the finer tiers read
// at most half a unit at each edge.
func countTiered[K countKey](ctx context.Context, q queryer, f filter, group string, tiers []counterTier, out map[K]int64) error {
	if len(tiers) == 0 {
		return countDirect(ctx, q, f, group, out)
	}
	t := tiers[0]
	var first, last int64 = math.MinInt64, math.MaxInt64
	if f.hasFrom {
		first = floorDiv(f.from+t.unit-1, t.unit) // first whole unit
	}
	if f.hasTo {
		last = floorDiv(f.to+1, t.unit) - 1 // last whole unit
	}
	// Only when the partial units at the two edges are different ones (a
	// range inside one unit is read from the finer tiers).
	if !f.hasFrom || !f.hasTo || first <= last+1 {
		if f.hasFrom && first*t.unit-f.from > t.unit/2 {
			first--
		}
		if f.hasTo && f.to+1-(last+1)*t.unit > t.unit/2 {
			last++
		}
	}
	if first > last {
		return countTiered(ctx, q, f, group, tiers[1:], out)
	}
	if err := countCounters(ctx, q, f, group, t, first, last, out); err != nil {
		return err
	}
	if f.hasFrom {
		if err := countSpan(ctx, q, f, group, tiers[1:], f.from, first*t.unit, out); err != nil {
			return err
		}
	}
	if f.hasTo {
		return countSpan(ctx, q, f, group, tiers[1:], (last+1)*t.unit, f.to+1, out)
	}
	return nil
}

// countSpan adds to out the counts of f in [from, to) when from < to and
// subtracts those of [to, from) when to < from (countBy drops the keys
// left at zero).
func countSpan[K countKey](ctx context.Context, q queryer, f filter, group string, tiers []counterTier, from, to int64, out map[K]int64) error {
	switch {
	case from < to:
		return countTiered(ctx, q, f.within(from, to-1), group, tiers, out)
	case to < from:
		sub := map[K]int64{}
		if err := countTiered(ctx, q, f.within(to, from-1), group, tiers, sub); err != nil {
			return err
		}
		for k, n := range sub {
			out[k] -= n
		}
	}
	return nil
}

// countDirect counts matching activities through the indexes and adds the
// counts to out.
func countDirect[K countKey](ctx context.Context, q queryer, f filter, group string, out map[K]int64) error {
	return countDirectKey(ctx, q, f, activityKeyExpr(group), out)
}

// activityKeyExpr is the SQL of the activities table's column that group
// groups by: by user, the user's key (0 for anonymous activity).
func activityKeyExpr(group string) string {
	switch group {
	case byType:
		return "activity_type"
	case byUser:
		return "COALESCE(user_key, 0)"
	case byDay:
		return dayExpr("created_at")
	}
	return "0"
}

// countDirectKey counts the activities matching f grouped by the SQL key
// expression and adds the counts to out.
func countDirectKey[K countKey](ctx context.Context, q queryer, f filter, key string, out map[K]int64) error {
	where, args := f.where()
	return sqlexec.AddCounts(ctx, q, out, "SELECT "+key+", COUNT(*) FROM activities WHERE "+where+" GROUP BY 1", args...)
}

// countCounters adds the counts of the whole units [first, last] of tier t.
func countCounters[K countKey](ctx context.Context, q queryer, f filter, group string, t counterTier, first, last int64, out map[K]int64) error {
	if t.vector > 0 {
		return countVectors(ctx, q, f, group, t, first, last, out)
	}
	var c conds
	c.andIf(f.userID != "", userKeyIs, f.userID)
	c.andIf(f.typ != "", "activity_type = ?", f.typ)
	c.andIf(first != math.MinInt64, t.col+" >= ?", first)
	c.andIf(last != math.MaxInt64, t.col+" <= ?", last)
	key := "0"
	switch group {
	case byType:
		key = "activity_type"
	case byUser:
		key = "user_key"
	case byDay:
		key = t.dayKey
	}
	return sqlexec.AddCounts(ctx, q, out, "SELECT "+key+", SUM(n) FROM "+t.table+" WHERE "+c.sql()+" GROUP BY 1", c.args...)
}

// countVectors adds the counts of the whole units [first, last] of tier t
// from the count vectors of the rows that hold them (no type; grouping by
// day only where a row is a day).
func countVectors[K countKey](ctx context.Context, q queryer, f filter, group string, t counterTier, first, last int64, out map[K]int64) error {
	var c conds
	// An edge's units are in one row (the usual case): its number is
	// not read with each vector.
	one := first != math.MinInt64 && last != math.MaxInt64 && floorDiv(first, t.vector) == floorDiv(last, t.vector)
	rowCol := ", " + t.col
	if one {
		c.andIf(true, t.col+" = ?", floorDiv(first, t.vector))
		rowCol = ""
	} else {
		c.andIf(first != math.MinInt64, t.col+" >= ?", floorDiv(first, t.vector))
		c.andIf(last != math.MaxInt64, t.col+" <= ?", floorDiv(last, t.vector))
	}
	c.andIf(f.userID != "", userKeyIs, f.userID)
	key := "0"
	switch group {
	case byUser:
		key = "user_key"
	case byDay:
		if t.dayKey == "" {
			return fmt.Errorf("%s: no counts by day", t.table)
		}
		key = t.dayKey
	}
	// The units are summed here rather than by a SQL function: a call of
	// a function written in Go costs more than reading the vector.
	rows, err := q.QueryContext(ctx, "SELECT "+key+", counts"+rowCol+" FROM "+t.table+" WHERE "+c.sql(), c.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var k K
	var v sql.RawBytes
	row := floorDiv(first, t.vector)
	dest := []any{&k, &v, &row}
	if one {
		dest = dest[:2]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if int64(len(v)) != t.vector*4 {
			return fmt.Errorf("%s: a count vector of %d bytes, want %d", t.table, len(v), t.vector*4)
		}
		if n := sumUnits(v, row, first, last); n != 0 {
			out[k] += n
		}
	}
	return rows.Err()
}

// storedSpan is the times of the oldest and the newest activity stored;
// found is false when there is none.
type storedSpan struct {
	first, last int64
	found       bool
}

// activitySpan reads the span of the activities stored.
func activitySpan(ctx context.Context, q queryer) (storedSpan, error) {
	var mn, mx sql.NullInt64
	// Two subqueries: SQLite reads MIN or MAX from the index only when it
	// is the one aggregate of its query; together they scan the table.
	err := q.QueryRowContext(ctx,
		"SELECT (SELECT MIN(created_at) FROM activities), (SELECT MAX(created_at) FROM activities)").Scan(&mn, &mx)
	return storedSpan{mn.Int64, mx.Int64, mn.Valid}, err
}

// countKey is the type of countBy's keys.
type countKey interface{ string | int64 }

func sum[K countKey](m map[K]int64) int64 {
	var t int64
	for _, n := range m {
		t += n
	}
	return t
}

// ActivitySummary groups the matching activities by type, user or local
// day, in the database.
func (s *Store) ActivitySummary(ctx context.Context, p store.ActivitySummaryParams) (*store.ActivitySummary, error) {
	const op = "summarize activities"
	p, err := storedriver.PrepareSummaryParams(p)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	f := newFilter(p.ActivityFilter)
	out := &store.ActivitySummary{Rows: []store.SummaryRow{}}
	err = s.readTx(ctx, op, func(tx *sqlexec.StmtTx) error {
		switch p.GroupBy {
		case store.GroupByType:
			counts, err := countBy[string](ctx, tx, f, byType)
			if err != nil {
				return err
			}
			out.Rows = countRows(counts, func(k string, n int64) store.SummaryRow {
				return store.SummaryRow{ActivityType: k, Count: n}
			})
			out.Total = sum(counts)
		case store.GroupByUser:
			byKey, err := countBy[int64](ctx, tx, f, byUser)
			if err != nil {
				return err
			}
			out.Total = sum(byKey)
			delete(byKey, 0) // anonymous activity counts in Total only
			counts, names, err := s.userIDs(ctx, tx, topCounts(byKey, p.Limit))
			if err != nil {
				return err
			}
			out.Rows = countRows(counts, func(k string, n int64) store.SummaryRow {
				return store.SummaryRow{UserID: k, Count: n}
			})
			if p.Limit > 0 && len(out.Rows) > p.Limit {
				out.Rows = out.Rows[:p.Limit]
			}
			return latestUsernames(ctx, tx, f, out.Rows, names)
		case store.GroupByDay:
			return summaryByDay(ctx, tx, f, p.Location, out)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// countRows returns a row of each count, made by row, ordered by count,
// the largest first, then by key.
func countRows(counts map[string]int64, row func(k string, n int64) store.SummaryRow) []store.SummaryRow {
	keys := slices.Collect(maps.Keys(counts))
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	rows := make([]store.SummaryRow, len(keys))
	for i, k := range keys {
		rows[i] = row(k, counts[k])
	}
	return rows
}

// topCounts returns the counts of the limit largest (all when limit is 0)
// and of every key tied with the last of them: the ties are broken by user
// id, which only the keys' users tell. Most summaries ask for the top few
// of thousands of users; the others' ids are not looked up or sorted.
func topCounts(counts map[int64]int64, limit int) map[int64]int64 {
	if limit <= 0 || len(counts) <= limit {
		return counts
	}
	ns := make([]int64, 0, len(counts))
	for _, n := range counts {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	least := ns[len(ns)-limit] // the limit-th largest
	top := make(map[int64]int64, limit)
	for k, n := range counts {
		if n >= least {
			top[k] = n
		}
	}
	return top
}

// userIDs returns counts (keyed by user key) keyed by user id, and the
// username of each of those users that no activity names otherwise (not
// renamed), by id. The ids and first usernames come from s.users, which
// reads the keys it does not hold yet; whether a user is renamed is read
// from the table.
func (s *Store) userIDs(ctx context.Context, q queryer, counts map[int64]int64) (map[string]int64, map[string]string, error) {
	out := make(map[string]int64, len(counts))
	keys := slices.Collect(maps.Keys(counts))
	names := make(map[string]string, len(keys))
	if len(keys) == 0 {
		return out, names, nil
	}
	users, err := s.users.get(ctx, q, keys)
	if err != nil {
		return nil, nil, err
	}
	ids := make(map[int64]string, len(keys))
	for i, key := range keys {
		ids[key] = users[i].id
		out[users[i].id] = counts[key]
		names[users[i].id] = users[i].name
	}
	rows, err := q.QueryContext(ctx, "SELECT user_key FROM activity_users WHERE renamed = 1")
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var key int64
		if err := rows.Scan(&key); err != nil {
			return nil, nil, err
		}
		if id, counted := ids[key]; counted {
			delete(names, id)
		}
	}
	return out, names, rows.Err()
}

// userCache holds the user id and first username of activity_users keys.
// Neither changes while the key exists, and a key is never used again once
// its user is erased (AUTOINCREMENT), so an entry is right in every
// process sharing the file for as long as anything counts under its key.
type userCache struct {
	mu sync.RWMutex
	m  map[int64]cachedUser
}

type cachedUser struct{ id, name string }

// maxCachedUsers bounds a userCache: past it, the cache starts again.
const maxCachedUsers = 100_000

// get returns the users of keys, in order, reading those it does not hold
// with q; a key not in activity_users is an error.
func (c *userCache) get(ctx context.Context, q queryer, keys []int64) ([]cachedUser, error) {
	out := make([]cachedUser, len(keys))
	var missing []int64
	c.mu.RLock()
	for i, key := range keys {
		u, ok := c.m[key]
		if !ok {
			missing = append(missing, key)
		}
		out[i] = u
	}
	c.mu.RUnlock()
	if len(missing) == 0 {
		return out, nil
	}
	list, err := json.Marshal(missing)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT u.user_key, u.user_id, u.user_name FROM json_each(?) j
		JOIN activity_users u ON u.user_key = j.value`, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	read := make(map[int64]cachedUser, len(missing))
	for rows.Next() {
		var key int64
		var u cachedUser
		if err := rows.Scan(&key, &u.id, &u.name); err != nil {
			return nil, err
		}
		read[key] = u
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(read) != len(missing) {
		return nil, fmt.Errorf("%d user keys counted are not in activity_users", len(missing)-len(read))
	}
	for i, key := range keys {
		if u, ok := read[key]; ok {
			out[i] = u
		}
	}
	c.mu.Lock()
	if c.m == nil || len(c.m)+len(read) > maxCachedUsers {
		c.m = make(map[int64]cachedUser, len(read))
	}
	for key, u := range read {
		c.m[key] = u
	}
	c.mu.Unlock()
	return out, nil
}

// forget drops key, whose user was erased.
func (c *userCache) forget(key int64) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

// latestUsernames fills the Username of each row (none anonymous) with the
// username of the user's most recent matching activity: from names, the
// usernames of the users whose activities all carry it, or else with one
// statement for all the other rows, which seeks each user's newest
// matching activity on the user index.
func latestUsernames(ctx context.Context, tx queryer, f filter, rows []store.SummaryRow, names map[string]string) error {
	var seek []string
	at := map[string]int{}
	for i := range rows {
		if name, ok := names[rows[i].UserID]; ok {
			rows[i].Username = name
		} else {
			seek = append(seek, rows[i].UserID)
			at[rows[i].UserID] = i
		}
	}
	if len(seek) == 0 {
		return nil
	}
	list, err := json.Marshal(seek)
	if err != nil {
		return err
	}
	// The filter's columns are the activities' (the innermost FROM): its
	// arguments come first, the list of users last, in the order of the
	// placeholders in the text.
	f.userID = ""
	where, args := f.where()
	found, err := tx.QueryContext(ctx, `SELECT u.user_id, (SELECT COALESCE(a.username, u.user_name) FROM activities a
			WHERE a.user_key = u.user_key AND `+where+` ORDER BY a.created_at DESC, a.id DESC LIMIT 1)
		FROM json_each(?) j JOIN activity_users u ON u.user_id = j.value`, append(args, string(list))...)
	if err != nil {
		return err
	}
	defer found.Close()
	for found.Next() {
		var id string
		var name sql.NullString
		if err := found.Scan(&id, &name); err != nil {
			return err
		}
		rows[at[id]].Username = name.String
	}
	return found.Err()
}

func summaryByDay(ctx context.Context, tx queryer, f filter, loc *time.Location, out *store.ActivitySummary) error {
	if f.empty() {
		return nil
	}
	// The days are those of the activities stored within the range: a
	// bound outside them adds no day, and a missing one is theirs.
	sp, err := activitySpan(ctx, tx)
	if err != nil || !sp.found {
		return err
	}
	lo, hi := sp.first, sp.last
	if f.hasFrom {
		lo = max(lo, f.from)
	}
	if f.hasTo {
		hi = min(hi, f.to)
	}
	if lo > hi {
		return nil
	}
	counts := map[int64]int64{}
	if isUTC(loc, lo, hi) {
		if counts, err = countStored[int64](ctx, tx, f, byDay, sp); err != nil {
			return err
		}
	} else if err := countLocalDays(ctx, tx, f.within(lo, hi), loc, counts); err != nil {
		return err
	}
	days := slices.Sorted(maps.Keys(counts))
	for _, d := range days {
		n := counts[d]
		out.Rows = append(out.Rows, store.SummaryRow{Day: sqlexec.DayString(d), Count: n})
		out.Total += n
	}
	return nil
}

// countLocalDays counts the activities matching f (with both bounds set)
// by local day in loc. When every zone offset and transition of the range
// falls on a whole hour (almost every zone), whole UTC hours come from the
// hourly counters, each shifted by the offset of its interval, and only the
// partial hours at the edges are counted through the indexes; otherwise
// every matching row is bucketed in SQL.
func countLocalDays(ctx context.Context, q queryer, f filter, loc *time.Location, out map[int64]int64) error {
	rowKey := localDayExpr("created_at", loc, f.from, f.to)
	ivs := zoneIntervals(loc, f.from, f.to)
	aligned := f.clientID == "" && f.report == "" && (f.userID == "" || f.typ == "")
	for _, iv := range ivs {
		if iv.offset%usPerHour != 0 || (!iv.last && iv.end%usPerHour != 0) {
			aligned = false
		}
	}
	first, last := floorDiv(f.from+usPerHour-1, usPerHour), floorDiv(f.to+1, usPerHour)-1
	if !aligned || first > last {
		return countDirectKey(ctx, q, f, rowKey, out)
	}
	if f.userID != "" {
		if err := countUserLocalHours(ctx, q, f.userID, ivs, first, last, out); err != nil {
			return err
		}
	} else {
		conds := []string{"hour >= ?", "hour <= ?"}
		args := []any{first, last}
		if f.typ != "" {
			conds, args = append(conds, "activity_type = ?"), append(args, f.typ)
		}
		hourKey := localDayExpr("(hour * 3600000000)", loc, f.from, f.to)
		if err := sqlexec.AddCounts(ctx, q, out, "SELECT "+hourKey+", SUM(n) FROM "+hourTier.table+" WHERE "+
			strings.Join(conds, " AND ")+" GROUP BY 1", args...); err != nil {
			return err
		}
	}
	if f.from < first*usPerHour {
		if err := countDirectKey(ctx, q, f.within(f.from, first*usPerHour-1), rowKey, out); err != nil {
			return err
		}
	}
	if (last+1)*usPerHour <= f.to {
		if err := countDirectKey(ctx, q, f.within((last+1)*usPerHour, f.to), rowKey, out); err != nil {
			return err
		}
	}
	return nil
}

// countUserLocalHours adds the activities of user in the UTC hours first…
// last to out by local day, from the user's hour vectors; ivs are the zone
// intervals of the range, each on whole hours.
func countUserLocalHours(ctx context.Context, q queryer, user string, ivs []zoneInterval, first, last int64, out map[int64]int64) error {
	rows, err := q.QueryContext(ctx, "SELECT day, counts FROM "+userDayHourTier.table+
		" WHERE "+userKeyIs+" AND day >= ? AND day <= ?", user, floorDiv(first, 24), floorDiv(last, 24))
	if err != nil {
		return err
	}
	defer rows.Close()
	var day int64
	var v sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&day, &v); err != nil {
			return err
		}
		if len(v) != dayHoursBytes {
			return fmt.Errorf("%s: a count vector of %d bytes, want %d", userDayHourTier.table, len(v), dayHoursBytes)
		}
		for h := max(day*24, first); h <= min(day*24+23, last); h++ {
			if n := sumUnits(v, day, h, h); n != 0 {
				out[localDayOf(h*usPerHour, ivs)] += n
			}
		}
	}
	return rows.Err()
}
