package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/jsonenc"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
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

// deleteCountsSQL deletes the activities of table (activities or one of
// its partitions) matched by cond and returns how many were deleted,
// decrementing the counters in the same statement.
func deleteCountsSQL(table, cond string) string {
	return `WITH del AS (DELETE FROM ` + table + ` WHERE ` + cond + ` RETURNING created_at, user_key, activity_type),
` + uncountSQL("del")
}

// dropCountsSQL decrements the counters by the rows of a partition about to
// be dropped and returns how many rows it holds.
func dropCountsSQL(table string) string {
	return "WITH " + uncountSQL(table)
}

// uncountSQL ends a WITH list: it takes the activities of rows (a table or
// an earlier CTE with created_at, user_key and activity_type) out of the
// counters and returns how many there were.
func uncountSQL(rows string) string {
	return `k AS (
	SELECT (created_at AT TIME ZONE 'UTC')::date AS day, extract(hour FROM created_at AT TIME ZONE 'UTC')::integer AS hour,
		COALESCE(user_key, 0) AS user_key, activity_type, -count(*) AS n
	FROM ` + rows + ` GROUP BY 1, 2, 3, 4
),` + countsCTE + `
SELECT COALESCE(-sum(n), 0)::bigint FROM k`
}

var insertCountsSQL = `WITH k AS (
	SELECT * FROM unnest($1::date[], $2::integer[], $3::integer[], $4::text[], $5::bigint[]) AS k(day, hour, user_key, activity_type, n)
),` + countsCTE + `
SELECT 1`

// copyActivitiesSQL is the COPY of activities; encodeActivities writes its
// columns in this order.
const copyActivitiesSQL = `COPY activities (created_at, duration_ns, id, client_id, report_id, user_key, status_code,
	activity_type, username, full_name, description, ip_address, user_agent, method, path, metadata) FROM STDIN`

// usersJoin joins activities to their users' ids and names;
// activitiesFrom is the FROM of the reads that need them.
const (
	usersJoin      = " LEFT JOIN activity_users USING (user_key)"
	activitiesFrom = " FROM activities" + usersJoin
)

// pageSQL is a page of activities matching where (with its WHERE), newest
// first, limited by limit (LIMIT and OFFSET): the page is taken from
// activities alone, then joined to its users.
func pageSQL(where, limit string) string {
	return "SELECT " + activityColumns + " FROM (SELECT * FROM activities" + where +
		" ORDER BY created_at DESC, id DESC" + limit + ") AS activities" + usersJoin +
		" ORDER BY created_at DESC, id DESC"
}

// activityColumns are the columns scanActivity reads, from activitiesFrom
// or pageSQL: a row's own username or full name where it has one, else its
// user's.
const activityColumns = `id, user_id, COALESCE(username, user_name), COALESCE(full_name, user_full_name), activity_type,
	description, client_id, report_id, ip_address, user_agent, method, path, status_code, duration_ns, metadata, created_at`

// userKeySQL is the key of the user whose id is the argument ref (NULL for
// an unknown user, which matches no activity).
func userKeySQL(ref string) string {
	return "(SELECT user_key FROM activity_users WHERE user_id = " + ref + ")"
}

// countKey is the key of the counts of a write: the UTC hour (unix
// seconds / 3600), the user's id and the activity type; addCounts turns
// the hour into a date and an hour of the day once per key.
type countKey struct {
	hour      int64
	user, typ string
}

// ActivityInsertMany validates activities and writes them with COPY in one
// transaction, together with the counter updates. NUL bytes, which
// PostgreSQL text cannot hold, are dropped from text fields. An activity
// already stored with the same id and time (a replayed event) is
// store.ErrConflict and nothing is written.
func (s *Store) ActivityInsertMany(ctx context.Context, activities []store.Activity) error {
	if len(activities) == 0 {
		return s.wrap(ctx, "insert 0 activities", ctx.Err())
	}
	return s.insertActivities(ctx, fmt.Sprintf("insert %d activities", len(activities)), storedriver.OneChunk(activities))
}

// ActivityInsertChunks writes the activities that next returns, chunk by
// chunk, in one transaction (all or nothing), as ActivityInsertMany writes
// one batch; next returns an empty chunk at the end. Each chunk is its own
// COPY, and next is called while PostgreSQL writes the previous chunk, so
// a caller that decodes or builds each chunk in next does that work beside
// the database's. An error from next rolls everything back and is returned
// wrapped. next is called from one goroutine at a time, never after
// ActivityInsertChunks returns; the activities of its chunks are updated
// in place as ActivityInsertMany updates them.
//
// When a chunk needs a partition that does not exist yet, or the chunks'
// new users meet another writer's in a deadlock, the transaction is rolled
// back, the remaining chunks are taken, and everything is written again as
// one batch.
func (s *Store) ActivityInsertChunks(ctx context.Context, next func() ([]store.Activity, error)) error {
	return s.insertActivities(ctx, "insert activities", next)
}

// errNeedPartitions stops a streamed write whose next chunk needs a
// partition not created yet: partitions are created outside the writing
// transaction, which holds activities against their creation.
var errNeedPartitions = errors.New("a chunk needs a partition not created yet")

func (s *Store) insertActivities(ctx context.Context, op string, next func() ([]store.Activity, error)) error {
	if err := ctx.Err(); err != nil {
		return s.wrap(ctx, op, err)
	}
	now := s.now()
	var taken [][]store.Activity // every chunk taken from next, prepared
	n := 0
	take := func() ([]store.Activity, error) {
		chunk, err := next()
		if err != nil || len(chunk) == 0 {
			return nil, err
		}
		for i := range chunk {
			if err := storedriver.PrepareActivity(&chunk[i], now); err != nil {
				return nil, indexed(err, n+i)
			}
		}
		n += len(chunk)
		taken = append(taken, chunk)
		return chunk, nil
	}
	first, err := take()
	if err != nil || len(first) == 0 {
		return s.wrap(ctx, op, err)
	}
	if err := s.ensurePartitions(ctx, createdTimes(first)); err != nil {
		return s.wrap(ctx, op, err)
	}
	err = s.writeChunks(ctx, first, take)
	if errors.Is(err, errNeedPartitions) || isNoPartition(err) || isDeadlock(err) {
		// Take the rest, then write everything again as one batch: its
		// partitions created first, its new users added in one statement
		// in id order (as every single batch adds them).
		for {
			chunk, err := take()
			if err != nil {
				return s.wrap(ctx, op, err)
			}
			if len(chunk) == 0 {
				break
			}
		}
		// The chunks were prepared in place by take, so writing their
		// concatenation leaves nothing to copy back.
		all := slices.Concat(taken...)
		if isNoPartition(err) {
			// A partition was dropped (by retention elsewhere) since it
			// was seen: read them again.
			s.forgetPartitions()
		}
		if err := s.ensurePartitions(ctx, createdTimes(all)); err != nil {
			return s.wrap(ctx, op, err)
		}
		err = s.writeChunks(ctx, all, nil)
	}
	return s.wrap(ctx, op, err)
}

func createdTimes(activities []store.Activity) []time.Time {
	times := make([]time.Time, len(activities))
	for i := range activities {
		times[i] = activities[i].CreatedAt
	}
	return times
}

// isDeadlock reports whether PostgreSQL ended the transaction to break a
// deadlock.
func isDeadlock(err error) bool { return errCode(err) == "40P01" }

// writeChunks writes first and the chunks of take (none when take is nil)
// in one transaction, one COPY a chunk, then the counter updates of them
// all. While PostgreSQL takes one chunk's rows, the next chunk is taken and,
// when all its users are known already, encoded, so that the two
// processes work at once; a chunk with new users is encoded once the COPY
// before it has ended, after adding them (a statement on the connection).
// A chunk whose partitions are not known to exist stops it with
// errNeedPartitions.
func (s *Store) writeChunks(ctx context.Context, first []store.Activity, take func() ([]store.Activity, error)) error {
	// The rows go to the driver's connection itself, in the transaction
	// begun on it (see copyIn).
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return sqlexec.InTx(func() (*sqlx.Tx, error) { return conn.BeginTxx(ctx, nil) }, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, lockForInsert); err != nil {
			return err
		}
		users := map[string]sqlexec.UserRef{}
		counts := make(map[countKey]int64)
		encode := func(chunk []store.Activity) (*copyData, error) {
			if err := resolveUsers(ctx, tx, chunk, users); err != nil {
				return nil, err
			}
			return encodeActivities(chunk, users)
		}
		chunk := first
		rows, err := encode(chunk)
		if err != nil {
			return err
		}
		for {
			copied := make(chan error, 1)
			go func(rows *copyData) {
				copied <- conn.Raw(func(dc any) error { return copyIn(ctx, dc, copyActivitiesSQL, rows) })
			}(rows)
			for i := range chunk {
				a := &chunk[i]
				counts[countKey{floorDiv(a.CreatedAt.Unix(), 3600), clean(a.UserID), clean(a.ActivityType)}]++
			}
			next, nextRows, nerr := s.takeAhead(take, users)
			cerr := <-copied
			rows.release()
			if err := cmp.Or(cerr, nerr); err != nil {
				if nextRows != nil {
					nextRows.release()
				}
				return err
			}
			if len(next) == 0 {
				break
			}
			if nextRows == nil {
				if nextRows, err = encode(next); err != nil {
					return err
				}
			}
			chunk, rows = next, nextRows
		}
		return addCounts(ctx, tx, counts, users)
	})
}

// takeAhead takes the next chunk from take (none when take is nil) while a
// COPY runs, and encodes it when every user of it is in users: it uses no
// connection. rows is nil when the chunk is empty or has new users.
func (s *Store) takeAhead(take func() ([]store.Activity, error), users map[string]sqlexec.UserRef) (next []store.Activity, rows *copyData, err error) {
	if take == nil {
		return nil, nil, nil
	}
	if next, err = take(); err != nil || len(next) == 0 {
		return nil, nil, err
	}
	if len(s.missingPartitions(createdTimes(next))) > 0 {
		return nil, nil, errNeedPartitions
	}
	for i := range next {
		if id := clean(next[i].UserID); id != "" {
			if _, known := users[id]; !known {
				return next, nil, nil
			}
		}
	}
	rows, err = encodeActivities(next, users)
	return next, rows, err
}

// addCounts adds the counts of a write's activities to the counter
// tables, the per-user ones under the keys of users (0: no user), in key
// order, as every writer does.
func addCounts(ctx context.Context, tx *sqlx.Tx, counts map[countKey]int64, users map[string]sqlexec.UserRef) error {
	keys := make([]countKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b countKey) int {
		return cmp.Or(cmp.Compare(a.hour, b.hour), cmp.Compare(a.user, b.user), cmp.Compare(a.typ, b.typ))
	})
	n := len(keys)
	days, hours, userKeys, types, ns := make([]string, n), make([]int64, n), make([]int64, n), make([]string, n), make([]int64, n)
	day, dayText := int64(math.MinInt64), ""
	for i, k := range keys {
		if d := floorDiv(k.hour, 24); d != day {
			day, dayText = d, time.Unix(d*86400, 0).UTC().Format(time.DateOnly)
		}
		days[i], hours[i], userKeys[i], types[i], ns[i] = dayText, k.hour-day*24, users[k.user].Key, k.typ, counts[k]
	}
	_, err := tx.ExecContext(ctx, insertCountsSQL, pq.Array(days), pq.Array(hours), pq.Array(userKeys), pq.Array(types), pq.Array(ns))
	return err
}

// indexed names the position of the offending activity in the reason.
func indexed(err error, i int) error {
	if ve, ok := errors.AsType[*store.ValidationError](err); ok {
		return &store.ValidationError{Field: ve.Field, Reason: fmt.Sprintf("%s (activity %d)", ve.Reason, i)}
	}
	return err
}

// readTx runs fn in a read-only repeatable-read transaction whose
// queries run as prepared statements (see sqlexec.StmtTx); the texts that
// ran unprepared are prepared once the transaction is over. A statement the
// server can no longer run as prepared (see notPreparable) aborts the
// transaction: fn runs again, in a new one, without that statement, so fn
// must set its results anew on each run. Its error is wrapped with op.
func (s *Store) readTx(ctx context.Context, op string, fn func(tx *sqlexec.StmtTx) error) error {
	return s.readTxSet(ctx, op, readTxSettings, fn)
}

// readTxSet is readTx with settings, the SET LOCAL statements run first
// (readTxSettings and others).
func (s *Store) readTxSet(ctx context.Context, op, settings string, fn func(tx *sqlexec.StmtTx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.readTxOnce(ctx, settings, fn)
		if drop, off := notPreparable(err); (drop || off) && attempt < readTxAttempts && ctx.Err() == nil {
			continue
		}
		return s.wrap(ctx, op, err)
	}
}

// readTxSettings plans each statement of a readTx for its arguments:
// after five runs PostgreSQL would otherwise also build a generic plan of
// it and keep it on the connection, which for a read over every activities
// partition takes about 200 kB a statement (8 MB for 40 of them on one
// connection, at 17 partitions), and can be worse for the arguments at
// hand. Prepared, a statement is still parsed and described once: most of
// what preparing saves (measured: the page and summary reads' server CPU
// about the same with either plan).
const readTxSettings = "SET LOCAL plan_cache_mode = force_custom_plan"

// readTxAttempts bounds the runs of a readTx whose prepared statements the
// server refuses: each refusal drops one statement, or all of them.
const readTxAttempts = 4

func (s *Store) readTxOnce(ctx context.Context, settings string, fn func(tx *sqlexec.StmtTx) error) error {
	tx, err := s.db.DB.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // should fn panic
	if _, err := tx.ExecContext(ctx, settings); err != nil {
		return err
	}
	t := &sqlexec.StmtTx{Tx: tx, Stmts: &s.reads}
	err = fn(t)
	_ = tx.Rollback() // the connection goes back before the prepares below
	if err == nil && len(t.Missed) > 0 {
		s.reads.Prepare(ctx, s.db.DB, t.Missed)
	}
	return err
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sqlx.Tx) error) error {
	return sqlexec.InTx(func() (*sqlx.Tx, error) { return s.db.BeginTxx(ctx, opts) }, fn)
}

// null maps the empty string to NULL and cleans the others.
func null(s string) any {
	if s == "" {
		return nil
	}
	return clean(s)
}

// clean makes s storable in PostgreSQL text: NUL characters are removed
// and byte sequences that are not UTF-8 become U+FFFD.
func clean(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

func scanActivity(sc sqlexec.Scanner) (store.Activity, error) {
	var (
		a                                                      store.Activity
		user, username, fullName, desc, client, report, ip, ua sql.NullString
		method, path                                           sql.NullString
		dur                                                    int64
		meta                                                   []byte
	)
	err := sc.Scan(&a.ID, &user, &username, &fullName, &a.ActivityType, &desc, &client, &report, &ip, &ua,
		&method, &path, &a.StatusCode, &dur, &meta, &a.CreatedAt)
	if err != nil {
		return a, err
	}
	a.UserID, a.Username, a.FullName, a.Description = user.String, username.String, fullName.String, desc.String
	a.ClientID, a.ReportID, a.IPAddress, a.UserAgent = client.String, report.String, ip.String, ua.String
	a.Method, a.Path, a.Duration, a.CreatedAt = method.String, path.String, time.Duration(dur), a.CreatedAt.UTC()
	if a.Metadata, err = jsonenc.DecodeObject(meta); err != nil {
		return a, fmt.Errorf("decode metadata of activity %s: %w", a.ID, err)
	}
	return a, nil
}

// args collects positional query arguments.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// filter is a validated ActivityFilter with From rounded up and To rounded
// down to the database's microsecond precision.
type filter struct{ store.ActivityFilter }

// newFilter converts a filter prepared by storedriver.PrepareFilter.
func newFilter(f store.ActivityFilter) filter {
	f.UserID, f.ActivityType = clean(f.UserID), clean(f.ActivityType)
	return filter{f}
}

// conds returns the conditions of f on activities.
func (f filter) conds(a *args) []string {
	var c []string
	if f.UserID != "" {
		c = append(c, "user_key = "+userKeySQL(a.add(f.UserID)))
	}
	if f.ActivityType != "" {
		c = append(c, "activity_type = "+a.add(f.ActivityType))
	}
	if f.ClientID != "" {
		c = append(c, "client_id = "+a.add(f.ClientID))
	}
	if f.ReportID != "" {
		c = append(c, "report_id = "+a.add(f.ReportID))
	}
	if !f.From.IsZero() {
		c = append(c, "created_at >= "+a.add(f.From))
	}
	if !f.To.IsZero() {
		c = append(c, "created_at <= "+a.add(f.To))
	}
	return c
}

func whereSQL(c []string) string {
	if len(c) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c, " AND ")
}

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

func (s *Store) activityTotal(ctx context.Context, q sqlexec.Queryer, f filter) (int64, error) {
	var a args
	query := "SELECT COALESCE(sum(n), 0)::bigint FROM (" + f.countedSQL(&a, "1", "1", false) + ") x"
	var n int64
	err := sqlexec.QueryRowScan(ctx, q, []any{&n}, query, a...)
	return n, err
}

// ActivityList returns one page of activities, newest first, with the
// exact total of the filter.
func (s *Store) ActivityList(ctx context.Context, params store.ActivityListParams) (*store.ActivityPage, error) {
	const op = "list activities"
	p, err := storedriver.PrepareListParams(params)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	f := newFilter(p.ActivityFilter)
	query, a := listSQL(f, p)
	page := &store.ActivityPage{Activities: []store.Activity{}}
	err = s.readTx(ctx, op, func(tx *sqlexec.StmtTx) error {
		var err error
		if page.Activities, err = sqlexec.Query(ctx, tx, scanActivity, query, a...); err != nil {
			return err
		}
		page.Total, err = s.activityTotal(ctx, tx, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	storedriver.FinishPage(page, p.Limit)
	return page, nil
}

// listSQL is the query of the page p of the activities matching f, with
// one row past its limit to tell whether a next page exists, and its
// arguments.
func listSQL(f filter, p storedriver.ListParams) (string, args) {
	var a args
	c := f.conds(&a)
	if p.After != nil {
		c = append(c, "(created_at, id) < ("+a.add(p.After.CreatedAt)+", "+a.add(p.After.ID)+"::uuid)")
	}
	if p.Offset > 0 && seeksOffset(f) {
		return offsetPageSQL(c, &a, p.Offset, p.Limit+1), a
	}
	limit := " LIMIT " + a.add(p.Limit+1)
	if p.Offset > 0 {
		limit += " OFFSET " + a.add(p.Offset)
	}
	return pageSQL(whereSQL(c), limit), a
}

// seeksOffset reports whether an OFFSET page of f is taken from the user
// index or the type index alone (see offsetPageSQL): they hold created_at
// but not the id that orders the activities of one instant, so the page's
// own OFFSET reads every row it skips from the heap to sort those. The
// primary key's index holds the id: a page of every activity skips rows in
// its order, which measured faster than counting them.
func seeksOffset(f filter) bool {
	return (f.UserID != "") != (f.ActivityType != "") && f.ClientID == "" && f.ReportID == ""
}

// offsetPageSQL is pageSQL for the page of limit rows at offset of the
// activities matching c (arguments in a) that skips only activities of its
// first instant: the creation time of the row at offset (start) comes from
// an index alone, newest first, and so does the count of the newer rows,
// which the page leaves out by its condition instead of by reading and
// skipping each (an OFFSET of the page itself reads every skipped row from
// the heap). Past the last row, start is NULL and the page empty.
func offsetPageSQL(c []string, a *args, offset, limit int) string {
	o := a.add(offset)
	const start = "(SELECT created_at FROM page_start)"
	newer := "(SELECT count(*) FROM activities" + whereSQL(append(slices.Clip(c), "created_at > "+start)) + ")"
	return "WITH page_start AS (SELECT created_at FROM activities" + whereSQL(c) +
		" ORDER BY created_at DESC LIMIT 1 OFFSET " + o + ") " +
		pageSQL(whereSQL(append(slices.Clip(c), "created_at <= "+start)), " LIMIT "+a.add(limit)+" OFFSET "+o+" - "+newer)
}

// ActivityIterate streams the matching activities, newest first, to fn in
// keyset pages of store.IteratePageSize rows; no connection is held while
// fn runs. fn's error is returned as is.
func (s *Store) ActivityIterate(ctx context.Context, af store.ActivityFilter, fn func(*store.Activity) error) error {
	const op = "iterate activities"
	if err := storedriver.PrepareFilter(&af); err != nil {
		return s.wrap(ctx, op, err)
	}
	f := newFilter(af)
	load := func(after *store.Activity) ([]store.Activity, error) {
		var a args
		c := f.conds(&a)
		if after != nil {
			c = append(c, "(created_at, id) < ("+a.add(after.CreatedAt)+", "+a.add(after.ID)+"::uuid)")
		}
		query := pageSQL(whereSQL(c), " LIMIT "+a.add(store.IteratePageSize))
		return sqlexec.Query(ctx, s.db, scanActivity, query, a...)
	}
	return sqlexec.EachPage(ctx, s.iter, store.IteratePageSize, load, fn, func(err error) error { return s.wrap(ctx, op, err) })
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

// ActivityDeleteByUser erases every activity of userID and the user's row
// in activity_users. Rows are deleted in batches (each its own
// transaction) and the last of them with the user in one that holds new
// inserts of activities until it commits; an erasure that fails part way
// has deleted some rows and can be run again.
func (s *Store) ActivityDeleteByUser(ctx context.Context, userID string) (int64, error) {
	const op = "delete activities of user"
	if userID == "" {
		return 0, s.wrap(ctx, op, storedriver.Invalid("user_id", "is required"))
	}
	// Most rows go partition by partition in batches, beside the writers;
	// the rest, and the user, under lockForUserDeletion, which holds the
	// writers only for that last part.
	var keys []int64
	var total int64
	if err := s.db.SelectContext(ctx, &keys, `SELECT user_key FROM activity_users WHERE user_id = $1`, clean(userID)); err != nil {
		return 0, s.wrap(ctx, op, err)
	}
	if len(keys) == 1 {
		parts, err := listPartitions(ctx, s.db)
		if err != nil {
			return 0, s.wrap(ctx, op, err)
		}
		for _, p := range parts {
			n, err := s.deleteRowsBatched(ctx, pq.QuoteIdentifier(p.Name), "user_key = $1", keys[0], store.DeleteBatchDefault)
			total += n
			if err != nil {
				return total, s.wrap(ctx, op, err)
			}
		}
	}
	err := s.inTx(ctx, nil, func(tx *sqlx.Tx) error {
		// Writers in flight commit first, so their rows of the user are
		// deleted here too; later ones find the user gone (resolveUsers).
		if _, err := tx.ExecContext(ctx, lockForUserDeletion); err != nil {
			return err
		}
		// The user's key again: retention may have removed the user, and a
		// writer added it back under another, since the batches.
		var key int64
		switch err := tx.QueryRowContext(ctx, `SELECT user_key FROM activity_users WHERE user_id = $1`, clean(userID)).Scan(&key); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			var n int64
			if err := tx.QueryRowContext(ctx, deleteCountsSQL("activities", "user_key = $1"), key).Scan(&n); err != nil {
				return err
			}
			total += n
			keys = append(keys, key)
		}
		if len(keys) == 0 {
			return nil // an unknown user has no activities
		}
		user := []any{pq.Array(keys)}
		return sqlexec.ExecAll(ctx, tx,
			sqlexec.Stmt{SQL: `DELETE FROM activity_users WHERE user_key = ANY($1)`, Args: user},
			sqlexec.Stmt{SQL: `DELETE FROM activity_user_counts WHERE user_key = ANY($1) AND n = 0`, Args: user},
			sqlexec.Stmt{SQL: `DELETE FROM activity_user_day_counts WHERE user_key = ANY($1) AND n = 0`, Args: user},
			sqlexec.Stmt{SQL: `DELETE FROM activity_user_block_counts WHERE user_key = ANY($1) AND n = 0`, Args: user},
			sqlexec.Stmt{SQL: `DELETE FROM activity_hour_counts WHERE n = 0`},
			sqlexec.Stmt{SQL: `DELETE FROM activity_day_counts WHERE n = 0`})
	})
	if err != nil {
		return total, s.wrap(ctx, op, err)
	}
	return total, nil
}

// ActivityDeleteBefore deletes the activities created before cutoff. Whole
// partitions before cutoff are dropped, each in one short transaction with
// the counters of its rows; the rows of the partition that straddles
// cutoff are deleted in batches of batchSize, each its own transaction. It
// then creates the partitions ahead, compacts closed partitions (see
// Config.PartitionCompactions) and rewrites the counter tables that writes
// have left mostly empty (see compactCounters); the scheduler's retention
// run calls it.
func (s *Store) ActivityDeleteBefore(ctx context.Context, cutoff time.Time, batchSize int) (int64, error) {
	const op = "delete activities before cutoff"
	batchSize, err := storedriver.DeleteBatch(batchSize)
	if err != nil {
		return 0, s.wrap(ctx, op, err)
	}
	cutoff = cutoff.UTC()
	total, tables, err := s.dropPartitionsBefore(ctx, cutoff)
	if err != nil {
		return total, s.wrap(ctx, op, err)
	}
	for _, table := range tables {
		n, err := s.deleteRowsBatched(ctx, table, "created_at < $1", cutoff, batchSize)
		total += n
		if err != nil {
			return total, s.wrap(ctx, op, err)
		}
	}
	if total > 0 {
		if err := s.dropZeroCounters(ctx, cutoff); err != nil {
			return total, s.wrap(ctx, op, err)
		}
		if err := s.dropUnusedUsers(ctx); err != nil {
			return total, s.wrap(ctx, op, err)
		}
	}
	now := s.now()
	if err := s.EnsureActivityPartitions(ctx, now, now, s.parts.ahead); err != nil {
		return total, err
	}
	s.mu.Lock()
	on, compactions := s.parts.on, s.parts.compactions
	s.mu.Unlock()
	if on && compactions > 0 {
		if _, err := s.CompactActivityPartitions(ctx, compactions); err != nil {
			return total, err
		}
	}
	if _, err := s.compactCounters(ctx); err != nil {
		return total, s.wrap(ctx, "compact counters", err)
	}
	return total, nil
}

// deleteRowsBatched deletes the rows of table (a partition: row ids are
// unique only within one) matched by cond, on the argument $1, in batches
// of batchSize, each its own transaction.
func (s *Store) deleteRowsBatched(ctx context.Context, table, cond string, arg any, batchSize int) (int64, error) {
	query := deleteCountsSQL(table, `ctid = ANY(ARRAY(SELECT ctid FROM `+table+` WHERE `+cond+` LIMIT $2))`)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var n int64
		if err := s.db.QueryRowContext(ctx, query, arg, batchSize).Scan(&n); err != nil {
			return total, err
		}
		total += n
		if n < int64(batchSize) {
			return total, nil
		}
	}
}

// dropUnusedUsers deletes the users retention left without activities,
// so that their ids and names go with their last activity. The candidates
// are found without a lock, then checked again under lockForUserDeletion,
// which sees every activity committed by then and holds new writers.
func (s *Store) dropUnusedUsers(ctx context.Context) error {
	var keys []int64
	if err := s.db.SelectContext(ctx, &keys, `SELECT user_key FROM activity_users u
		WHERE NOT EXISTS (SELECT 1 FROM activities a WHERE a.user_key = u.user_key)`); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	return s.inTx(ctx, nil, func(tx *sqlx.Tx) error {
		return sqlexec.ExecAll(ctx, tx, sqlexec.Stmt{SQL: lockForUserDeletion},
			sqlexec.Stmt{SQL: `DELETE FROM activity_users u WHERE user_key = ANY($1)
				AND NOT EXISTS (SELECT 1 FROM activities a WHERE a.user_key = u.user_key)`, Args: []any{pq.Array(keys)}})
	})
}

// dropZeroCounters removes the counter rows that deletions before cutoff
// brought to zero.
func (s *Store) dropZeroCounters(ctx context.Context, cutoff time.Time) error {
	day := []any{cutoff.Add(24 * time.Hour).Format(time.DateOnly)}
	return sqlexec.ExecAll(ctx, s.db,
		// By user, through the key: the users of those days come from the
		// daily totals (deleted next), whose zero rows are the emptied days.
		sqlexec.Stmt{SQL: `DELETE FROM activity_user_counts WHERE n = 0 AND (user_key, day) IN
			(SELECT user_key, day FROM activity_user_day_counts WHERE day <= $1::date)`, Args: day},
		sqlexec.Stmt{SQL: `DELETE FROM activity_user_day_counts WHERE day <= $1::date AND n = 0`, Args: day},
		sqlexec.Stmt{SQL: `DELETE FROM activity_user_block_counts WHERE block <= $1 AND n = 0`,
			Args: []any{floorDiv(cutoff.Unix()/86400+1, daysPerBlock)}},
		sqlexec.Stmt{SQL: `DELETE FROM activity_hour_counts WHERE hour <= $1 AND n = 0`, Args: []any{cutoff}},
		sqlexec.Stmt{SQL: `DELETE FROM activity_day_counts WHERE n = 0 AND day <= $1::date`, Args: day})
}

// dropPartitionCounts takes the rows of partition p (quoted as name) out
// of the counters and returns how many it holds. A partition of whole UTC
// days holds every activity of its days, so their counter rows go as they
// are; another is counted row by row.
func dropPartitionCounts(ctx context.Context, tx *sqlx.Tx, p Partition, name string) (int64, error) {
	var n int64
	if !p.From.Equal(p.From.Truncate(24*time.Hour)) || !p.To.Equal(p.To.Truncate(24*time.Hour)) {
		err := tx.QueryRowContext(ctx, dropCountsSQL(name)).Scan(&n)
		return n, err
	}
	from, to := p.From.Format(time.DateOnly), p.To.Format(time.DateOnly)
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(sum(n), 0)::bigint FROM activity_day_counts
		WHERE day >= $1::date AND day < $2::date`, from, to).Scan(&n); err != nil {
		return 0, err
	}
	for _, q := range []string{
		// Lock the block rows in key order first, as inserts take them, so a
		// block shared with current days cannot deadlock with an insert.
		`SELECT 1 FROM activity_user_block_counts WHERE (user_key, block) IN (SELECT user_key, ` + blockOfDaySQL + `
			FROM activity_user_day_counts WHERE day >= $1::date AND day < $2::date)
		ORDER BY user_key, block FOR UPDATE`,
		`UPDATE activity_user_block_counts AS c SET n = c.n - d.n, ` + blockDaysSet("-", "d") + `
		FROM (` + blockDaysSQL("activity_user_day_counts WHERE day >= $1::date AND day < $2::date") + `) AS d
		WHERE c.user_key = d.user_key AND c.block = d.block`,
		`DELETE FROM activity_day_counts WHERE day >= $1::date AND day < $2::date`,
		// By user through the key (the daily totals name the users of those
		// days), before the daily totals go.
		`DELETE FROM activity_user_counts WHERE (user_key, day) IN
			(SELECT user_key, day FROM activity_user_day_counts WHERE day >= $1::date AND day < $2::date)`,
		`DELETE FROM activity_user_day_counts WHERE day >= $1::date AND day < $2::date`,
		`DELETE FROM activity_hour_counts WHERE hour >= $1::date AT TIME ZONE 'UTC' AND hour < $2::date AT TIME ZONE 'UTC'`,
	} {
		if _, err := tx.ExecContext(ctx, q, from, to); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// dropPartitionsBefore drops the partitions of activities that end at or
// before cutoff and returns how many rows they held, with the tables whose
// rows before cutoff must be deleted one by one: the partitions that
// straddle cutoff, or activities itself when it is not partitioned.
func (s *Store) dropPartitionsBefore(ctx context.Context, cutoff time.Time) (int64, []string, error) {
	s.mu.Lock()
	on := s.parts.on
	s.mu.Unlock()
	if !on {
		return 0, []string{"activities"}, nil
	}
	parts, err := listPartitions(ctx, s.db)
	if err != nil {
		return 0, nil, err
	}
	var total int64
	var straddling []string
	for _, p := range parts {
		if !p.From.Before(cutoff) {
			break
		}
		name := pq.QuoteIdentifier(p.Name)
		if p.To.After(cutoff) {
			straddling = append(straddling, name)
			continue
		}
		// The partition's writers are kept out while its counters are
		// taken down (SHARE mode; readers go on), then it is dropped.
		var n int64
		err := s.inTx(ctx, nil, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, "LOCK TABLE "+name+" IN SHARE MODE"); err != nil {
				return err
			}
			var err error
			if n, err = dropPartitionCounts(ctx, tx, p, name); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, "DROP TABLE "+name)
			return err
		})
		if err != nil {
			return total, nil, fmt.Errorf("drop partition %s: %w", p.Name, err)
		}
		total += n
		s.log.InfoContext(ctx, "postgres: dropped activity partition", "partition", p.Name, "rows", n, "schema", s.schema)
	}
	s.forgetPartitions()
	return total, straddling, nil
}
