package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/jsonenc"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

const activityColumns = `id, user_id, username, full_name, activity_type, description, client_id, report_id,
	ip_address, user_agent, method, path, status_code, duration_ns, metadata, created_at`

const activityColumnCount = 16

// maxChunk is the largest number of rows one multi-row statement writes;
// a batch is split into chunks whose sizes are powers of two, so a handful
// of prepared statements serve every batch size.
const maxChunk = 128

// chunks splits n rows into power-of-two sizes of at most maxChunk.
func chunks(n int) []int {
	var out []int
	for n > 0 {
		c := maxChunk
		for c > n {
			c /= 2
		}
		out = append(out, c)
		n -= c
	}
	return out
}

func valuesSQL(rows, cols int) string {
	var b strings.Builder
	row := "(" + placeholders(cols) + ")"
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// The statements of ActivityInsertMany use OR ROLLBACK: a constraint
// violation undoes the whole transaction (which ActivityInsertMany would
// roll back anyway), so SQLite keeps no statement journal, the copy of every
// page a multi-row statement is about to change that it would need to undo
// that statement alone.

func insertActivitiesSQL(rows int) string {
	return "INSERT OR ROLLBACK INTO activities (" + activityColumns + ") VALUES " + valuesSQL(rows, activityColumnCount)
}

func upsertDayCountsSQL(rows int) string {
	return "INSERT OR ROLLBACK INTO activity_day_counts (day, activity_type, n) VALUES " + valuesSQL(rows, 3) +
		" ON CONFLICT (day, activity_type) DO UPDATE SET n = n + excluded.n"
}

func upsertHourCountsSQL(rows int) string {
	return "INSERT OR ROLLBACK INTO activity_hour_counts (hour, activity_type, n) VALUES " + valuesSQL(rows, 3) +
		" ON CONFLICT (hour, activity_type) DO UPDATE SET n = n + excluded.n"
}

func upsertUserHourCountsSQL(rows int) string {
	return "INSERT OR ROLLBACK INTO activity_user_hour_counts (hour, user_id, n) VALUES " + valuesSQL(rows, 3) +
		" ON CONFLICT (hour, user_id) DO UPDATE SET n = n + excluded.n"
}

func upsertUserCountsSQL(rows int) string {
	return "INSERT OR ROLLBACK INTO activity_user_counts (user_id, day, activity_type, n) VALUES " + valuesSQL(rows, 4) +
		" ON CONFLICT (user_id, day, activity_type) DO UPDATE SET n = n + excluded.n"
}

// writeStmts are the prepared statements of ActivityInsertMany, indexed by
// log2 of their row count.
type writeStmts struct {
	insert, days, hours, users, userHours []*sql.Stmt
}

func (w *writeStmts) close() {
	for _, list := range [][]*sql.Stmt{w.insert, w.days, w.hours, w.users, w.userHours} {
		for _, st := range list {
			_ = st.Close()
		}
	}
}

// insertStatements prepares the statements of ActivityInsertMany on first
// use. It must run outside a transaction: the writer pool has one
// connection.
func (s *Store) insertStatements(ctx context.Context) (*writeStmts, error) {
	s.insertMu.Lock()
	defer s.insertMu.Unlock()
	if s.stmts != nil {
		return s.stmts, nil
	}
	w := &writeStmts{}
	for n := 1; n <= maxChunk; n *= 2 {
		for _, p := range []struct {
			list *[]*sql.Stmt
			sql  string
		}{{&w.insert, insertActivitiesSQL(n)}, {&w.days, upsertDayCountsSQL(n)},
			{&w.hours, upsertHourCountsSQL(n)}, {&w.users, upsertUserCountsSQL(n)},
			{&w.userHours, upsertUserHourCountsSQL(n)}} {
			st, err := s.writer.PrepareContext(ctx, p.sql)
			if err != nil {
				w.close()
				return nil, err
			}
			*p.list = append(*p.list, st)
		}
	}
	s.stmts = w
	return w, nil
}

// execChunked writes rows (each a slice of arguments) with the prepared
// multi-row statements of list.
func execChunked(ctx context.Context, tx *sql.Tx, list []*sql.Stmt, rows int, args func(i int, dst []any) []any) error {
	buf := make([]any, 0, 64)
	done := 0
	for _, c := range chunks(rows) {
		buf = buf[:0]
		for i := done; i < done+c; i++ {
			buf = args(i, buf)
		}
		st := tx.StmtContext(ctx, list[bits.Len(uint(c))-1])
		_, err := st.ExecContext(ctx, buf...)
		_ = st.Close()
		if err != nil {
			return err
		}
		done += c
	}
	return nil
}

type dayTypeKey struct {
	day int64
	typ string
}

type userDayTypeKey struct {
	user string
	day  int64
	typ  string
}

// pipelineMin is the smallest batch whose encoding runs on a goroutine of
// its own; below it, handing the chunks over would cost more than it saves.
const pipelineMin = 64

// encodedChunk is one multi-row INSERT of activities: its row count and
// arguments, or the validation error that stopped the encoding.
type encodedChunk struct {
	rows int
	args []any
	err  error
}

// counterRows are the increments of the activity counter tables for one
// batch.
type counterRows struct {
	days, hours, userHours map[dayTypeKey]int64 // userHours: typ holds the user id
	users                  map[userDayTypeKey]int64
}

// ActivityInsertMany validates every activity, then inserts them all in one
// transaction with multi-row INSERT statements, updating the activity
// counters in the same transaction.
//
// The Go side of the work (validation, metadata JSON, statement arguments,
// counter increments) of a batch of pipelineMin activities or more runs on
// its own goroutine, a chunk ahead of SQLite executing the previous one, so
// the batch keeps two cores busy. The smallest chunk is encoded first, so
// SQLite starts early.
func (s *Store) ActivityInsertMany(ctx context.Context, activities []store.Activity) error {
	if len(activities) == 0 {
		return nil
	}
	op := fmt.Sprintf("insert %d activities", len(activities))
	stmts, err := s.insertStatements(ctx)
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	sizes := chunks(len(activities))
	slices.Reverse(sizes)
	encoded := make(chan encodedChunk, len(sizes))
	stop := make(chan struct{})
	var counts counterRows // written by the encoder before it closes encoded
	if len(activities) < pipelineMin {
		encodeActivities(activities, s.now(), sizes, encoded, stop, &counts)
	} else {
		go encodeActivities(activities, s.now(), sizes, encoded, stop, &counts)
	}
	defer func() {
		// The encoder stops at its next chunk; wait for it, so it no
		// longer touches activities when this returns.
		close(stop)
		for range encoded {
		}
	}()
	err = s.writeTx(ctx, op, func(tx *sql.Tx) error {
		for c := range encoded {
			if c.err != nil {
				return c.err
			}
			st := tx.StmtContext(ctx, stmts.insert[bits.Len(uint(c.rows))-1])
			_, err := st.ExecContext(ctx, c.args...)
			_ = st.Close()
			if err != nil {
				return err
			}
		}
		return addCounts(ctx, tx, stmts, &counts)
	})
	if err != nil {
		return err
	}
	s.insertedActivities(len(activities))
	return nil
}

// encodeActivities prepares activities in chunks of the given sizes, sends
// each chunk's arguments on out, then fills counts and closes out. It
// stops early on a validation error (sent on out) or when stop is closed.
func encodeActivities(activities []store.Activity, now time.Time, sizes []int, out chan<- encodedChunk,
	stop <-chan struct{}, counts *counterRows) {
	defer close(out)
	done := 0
	for _, c := range sizes {
		select {
		case <-stop:
			return
		default:
		}
		args := make([]any, 0, c*activityColumnCount)
		for i := done; i < done+c; i++ {
			a := &activities[i]
			if err := storedriver.PrepareActivity(a, now); err != nil {
				out <- encodedChunk{err: fmt.Errorf("activity %d: %w", i, err)}
				return
			}
			meta, err := jsonenc.Object(a.Metadata)
			if err != nil {
				out <- encodedChunk{err: fmt.Errorf("activity %d: %w", i,
					storedriver.Invalid("metadata", "cannot be encoded as JSON: %v", err))}
				return
			}
			args = append(args, a.ID, nullString(a.UserID), nullString(a.Username), nullString(a.FullName),
				a.ActivityType, nullString(a.Description), nullString(a.ClientID), nullString(a.ReportID),
				nullString(a.IPAddress), nullString(a.UserAgent), nullString(a.Method), nullString(a.Path),
				a.StatusCode, int64(a.Duration), meta, micro(a.CreatedAt))
		}
		out <- encodedChunk{rows: c, args: args}
		done += c
	}
	*counts = countActivities(activities)
}

// countActivities aggregates the counter increments of activities.
func countActivities(activities []store.Activity) counterRows {
	c := counterRows{
		days:      map[dayTypeKey]int64{},
		hours:     map[dayTypeKey]int64{},
		userHours: map[dayTypeKey]int64{},
		users:     map[userDayTypeKey]int64{},
	}
	for i := range activities {
		a := &activities[i]
		us := micro(a.CreatedAt)
		d, h := dayOf(us), floorDiv(us, usPerHour)
		c.days[dayTypeKey{d, a.ActivityType}]++
		c.hours[dayTypeKey{h, a.ActivityType}]++
		c.users[userDayTypeKey{a.UserID, d, a.ActivityType}]++
		c.userHours[dayTypeKey{h, a.UserID}]++
	}
	return c
}

// addCounts adds a batch's increments to the counter tables.
func addCounts(ctx context.Context, tx *sql.Tx, stmts *writeStmts, c *counterRows) error {
	days, hours, users, userHours := c.days, c.hours, c.users, c.userHours
	dayKeys := make([]dayTypeKey, 0, len(days))
	for k := range days {
		dayKeys = append(dayKeys, k)
	}
	hourKeys := make([]dayTypeKey, 0, len(hours))
	for k := range hours {
		hourKeys = append(hourKeys, k)
	}
	userHourKeys := make([]dayTypeKey, 0, len(userHours))
	for k := range userHours {
		userHourKeys = append(userHourKeys, k)
	}
	userKeys := make([]userDayTypeKey, 0, len(users))
	for k := range users {
		userKeys = append(userKeys, k)
	}
	err := execChunked(ctx, tx, stmts.days, len(dayKeys), func(i int, dst []any) []any {
		k := dayKeys[i]
		return append(dst, k.day, k.typ, days[k])
	})
	if err != nil {
		return err
	}
	err = execChunked(ctx, tx, stmts.hours, len(hourKeys), func(i int, dst []any) []any {
		k := hourKeys[i]
		return append(dst, k.day, k.typ, hours[k])
	})
	if err != nil {
		return err
	}
	err = execChunked(ctx, tx, stmts.userHours, len(userHourKeys), func(i int, dst []any) []any {
		k := userHourKeys[i]
		return append(dst, k.day, k.typ, userHours[k])
	})
	if err != nil {
		return err
	}
	return execChunked(ctx, tx, stmts.users, len(userKeys), func(i int, dst []any) []any {
		k := userKeys[i]
		return append(dst, k.user, k.day, k.typ, users[k])
	})
}

// subtractCounts removes the activities matching where (a condition on the
// activities table) from the counter tables. It must run before they are
// deleted, in the same transaction.
func subtractCounts(ctx context.Context, tx *sql.Tx, where string, args ...any) error {
	day := dayExpr("created_at")
	if _, err := tx.ExecContext(ctx, `UPDATE activity_day_counts AS c SET n = c.n - d.cnt
		FROM (SELECT `+day+` AS day, activity_type, COUNT(*) AS cnt FROM activities WHERE `+where+`
			GROUP BY 1, 2) AS d
		WHERE c.day = d.day AND c.activity_type = d.activity_type`, args...); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE activity_hour_counts AS c SET n = c.n - d.cnt
		FROM (SELECT `+hourExpr("created_at")+` AS hour, activity_type, COUNT(*) AS cnt FROM activities WHERE `+where+`
			GROUP BY 1, 2) AS d
		WHERE c.hour = d.hour AND c.activity_type = d.activity_type`, args...); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE activity_user_hour_counts AS c SET n = c.n - d.cnt
		FROM (SELECT `+hourExpr("created_at")+` AS hour, COALESCE(user_id, '') AS user_id, COUNT(*) AS cnt
			FROM activities WHERE `+where+` GROUP BY 1, 2) AS d
		WHERE c.hour = d.hour AND c.user_id = d.user_id`, args...); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE activity_user_counts AS c SET n = c.n - d.cnt
		FROM (SELECT COALESCE(user_id, '') AS user_id, `+day+` AS day, activity_type, COUNT(*) AS cnt
			FROM activities WHERE `+where+` GROUP BY 1, 2, 3) AS d
		WHERE c.user_id = d.user_id AND c.day = d.day AND c.activity_type = d.activity_type`, args...); err != nil {
		return err
	}
	return nil
}

// filter is a normalised store.ActivityFilter in unix microseconds.
type filter struct {
	from, to         int64
	hasFrom, hasTo   bool
	userID, typ      string
	clientID, report string
}

func normFilter(f store.ActivityFilter) (filter, error) {
	out := filter{userID: f.UserID, typ: f.ActivityType}
	if !f.From.IsZero() {
		out.from, out.hasFrom = micro(f.From), true
	}
	if !f.To.IsZero() {
		out.to, out.hasTo = micro(f.To), true
	}
	if f.ClientID != "" {
		id, ok := store.NormalizeUUID(f.ClientID)
		if !ok {
			return out, storedriver.Invalid("client_id", "must be a UUID")
		}
		out.clientID = id
	}
	if f.ReportID != "" {
		id, ok := store.NormalizeUUID(f.ReportID)
		if !ok {
			return out, storedriver.Invalid("report_id", "must be a UUID")
		}
		out.report = id
	}
	return out, nil
}

// empty reports whether the time range selects nothing.
func (f filter) empty() bool { return f.hasFrom && f.hasTo && f.from > f.to }

// where returns the SQL conditions (joined with AND, "1" when none) and
// their arguments for the activities table.
func (f filter) where() (string, []any) {
	var conds []string
	var args []any
	if f.userID != "" {
		conds, args = append(conds, "user_id = ?"), append(args, f.userID)
	}
	if f.typ != "" {
		conds, args = append(conds, "activity_type = ?"), append(args, f.typ)
	}
	if f.clientID != "" {
		conds, args = append(conds, "client_id = ?"), append(args, f.clientID)
	}
	if f.report != "" {
		conds, args = append(conds, "report_id = ?"), append(args, f.report)
	}
	if f.hasFrom {
		conds, args = append(conds, "created_at >= ?"), append(args, f.from)
	}
	if f.hasTo {
		conds, args = append(conds, "created_at <= ?"), append(args, f.to)
	}
	if len(conds) == 0 {
		return "1", nil
	}
	return strings.Join(conds, " AND "), args
}

// within returns f restricted to [from, to].
func (f filter) within(from, to int64) filter {
	f.from, f.to, f.hasFrom, f.hasTo = from, to, true, true
	return f
}

// Groupings of countBy.
const (
	byNone = ""
	byType = "type"
	byUser = "user"
	byDay  = "day" // UTC day number
)

// counterTier is one counter table and the time unit of its rows.
type counterTier struct {
	table  string
	col    string // the unit number column
	unit   int64  // microseconds per unit
	dayKey string // SQL for the UTC day number of a row
}

var (
	dayTier      = counterTier{"activity_day_counts", "day", usPerDay, "day"}
	hourTier     = counterTier{"activity_hour_counts", "hour", usPerHour, "(hour + 2400000) / 24 - 100000"}
	userDayTier  = counterTier{"activity_user_counts", "day", usPerDay, "day"}
	userHourTier = counterTier{"activity_user_hour_counts", "hour", usPerHour, "(hour + 2400000) / 24 - 100000"}
)

// countBy counts the activities matching f, grouped by one key. Whole UTC
// days, then whole hours, come from the counter tables when the filter
// allows it (only time range, user and type); the partial hours (partial
// days with a user) at the edges of the range, and filters on client or
// report, are counted through the activity indexes.
func countBy(ctx context.Context, q queryer, f filter, group string) (map[string]int64, error) {
	out := map[string]int64{}
	if f.empty() {
		return out, nil
	}
	if f.clientID != "" || f.report != "" {
		return out, countDirect(ctx, q, f, group, out)
	}
	tiers := []counterTier{dayTier, hourTier}
	if f.userID != "" || group == byUser {
		tiers = []counterTier{userDayTier}
		if f.typ == "" && group != byType { // the hourly user counters have no type
			tiers = append(tiers, userHourTier)
		}
	}
	if err := countTiered(ctx, q, f, group, tiers, out); err != nil {
		return nil, err
	}
	return out, nil
}

func countTiered(ctx context.Context, q queryer, f filter, group string, tiers []counterTier, out map[string]int64) error {
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
	if first > last {
		return countTiered(ctx, q, f, group, tiers[1:], out)
	}
	if err := countCounters(ctx, q, f, group, t, first, last, out); err != nil {
		return err
	}
	if f.hasFrom && f.from < first*t.unit {
		if err := countTiered(ctx, q, f.within(f.from, first*t.unit-1), group, tiers[1:], out); err != nil {
			return err
		}
	}
	if f.hasTo && (last+1)*t.unit <= f.to {
		if err := countTiered(ctx, q, f.within((last+1)*t.unit, f.to), group, tiers[1:], out); err != nil {
			return err
		}
	}
	return nil
}

func activityKeyExpr(group string) string {
	switch group {
	case byType:
		return "activity_type"
	case byUser:
		return "COALESCE(user_id, '')"
	case byDay:
		return dayExpr("created_at")
	}
	return "''"
}

// countDirect counts matching activities through the indexes and adds the
// counts to out.
func countDirect(ctx context.Context, q queryer, f filter, group string, out map[string]int64) error {
	return countDirectKey(ctx, q, f, activityKeyExpr(group), out)
}

// countDirectKey counts matching activities grouped by the SQL key
// expression and adds the counts to out.
func countDirectKey(ctx context.Context, q queryer, f filter, key string, out map[string]int64) error {
	where, args := f.where()
	return sqlexec.AddCounts(ctx, q, out, "SELECT "+key+", COUNT(*) FROM activities WHERE "+where+" GROUP BY 1", args...)
}

// countCounters adds the counts of the whole units [first, last] of tier t.
func countCounters(ctx context.Context, q queryer, f filter, group string, t counterTier, first, last int64, out map[string]int64) error {
	var conds []string
	var args []any
	if f.userID != "" {
		conds, args = append(conds, "user_id = ?"), append(args, f.userID)
	}
	if f.typ != "" {
		conds, args = append(conds, "activity_type = ?"), append(args, f.typ)
	}
	if first != math.MinInt64 {
		conds, args = append(conds, t.col+" >= ?"), append(args, first)
	}
	if last != math.MaxInt64 {
		conds, args = append(conds, t.col+" <= ?"), append(args, last)
	}
	where := "1"
	if len(conds) > 0 {
		where = strings.Join(conds, " AND ")
	}
	key := "''"
	switch group {
	case byType:
		key = "activity_type"
	case byUser:
		key = "user_id"
	case byDay:
		key = t.dayKey
	}
	return sqlexec.AddCounts(ctx, q, out, "SELECT "+key+", SUM(n) FROM "+t.table+" WHERE "+where+" GROUP BY 1", args...)
}

func sum(m map[string]int64) int64 {
	var t int64
	for _, n := range m {
		t += n
	}
	return t
}

// ActivityList returns one page of activities, newest first, with the exact
// total of the filter. Cursor pages seek on the (created_at, id) keys.
func (s *Store) ActivityList(ctx context.Context, p store.ActivityListParams) (*store.ActivityPage, error) {
	const op = "list activities"
	p, err := p.Normalize()
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	f, err := normFilter(p.ActivityFilter)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	where, args := f.where()
	if p.Cursor != "" {
		at, id, err := storedriver.DecodeCursor(p.Cursor)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		where += " AND (created_at, id) < (?, ?)"
		args = append(args, micro(at), id)
	}
	args = append(args, p.Limit+1, p.Offset)
	page := &store.ActivityPage{Activities: []store.Activity{}}
	err = s.readTx(ctx, op, func(tx *sql.Tx) error {
		counts, err := countBy(ctx, tx, f, byNone)
		if err != nil {
			return err
		}
		page.Total = counts[""]
		if f.empty() {
			return nil
		}
		rows, err := tx.QueryContext(ctx, "SELECT "+activityColumns+" FROM activities WHERE "+where+
			" ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanActivity(rows)
			if err != nil {
				return err
			}
			page.Activities = append(page.Activities, *a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	if len(page.Activities) > p.Limit {
		page.Activities = page.Activities[:p.Limit]
		page.HasNext = true
		last := page.Activities[p.Limit-1]
		page.NextCursor = storedriver.EncodeCursor(last.CreatedAt, last.ID)
	}
	return page, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanActivity(r scanner) (*store.Activity, error) {
	var a store.Activity
	var user, username, fullName, desc, client, report, ip, ua, method, path sql.NullString
	var dur, created int64
	var meta string
	if err := r.Scan(&a.ID, &user, &username, &fullName, &a.ActivityType, &desc, &client, &report,
		&ip, &ua, &method, &path, &a.StatusCode, &dur, &meta, &created); err != nil {
		return nil, err
	}
	a.UserID, a.Username, a.FullName, a.Description = user.String, username.String, fullName.String, desc.String
	a.ClientID, a.ReportID, a.IPAddress, a.UserAgent = client.String, report.String, ip.String, ua.String
	a.Method, a.Path = method.String, path.String
	a.Duration = time.Duration(dur)
	a.CreatedAt = fromMicro(created)
	m, err := jsonenc.DecodeObject([]byte(meta))
	if err != nil {
		return nil, fmt.Errorf("activity %s: decode metadata: %w", a.ID, err)
	}
	a.Metadata = m
	return &a, nil
}

// ActivityIterate streams the matching activities, newest first, one row at
// a time.
func (s *Store) ActivityIterate(ctx context.Context, af store.ActivityFilter, fn func(*store.Activity) error) error {
	const op = "iterate activities"
	f, err := normFilter(af)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if f.empty() {
		return nil
	}
	where, args := f.where()
	rows, err := s.reader.QueryContext(ctx, "SELECT "+activityColumns+" FROM activities WHERE "+where+
		" ORDER BY created_at DESC, id DESC", args...)
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	defer rows.Close()
	for rows.Next() {
		// Rows already read ahead are not delivered once ctx is done.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		a, err := scanActivity(rows)
		if err != nil {
			return s.wrap(ctx, op, err)
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap(ctx, op, err)
	}
	return nil
}

// ActivitySummary groups the matching activities by type, user or local
// day, in the database.
func (s *Store) ActivitySummary(ctx context.Context, p store.ActivitySummaryParams) (*store.ActivitySummary, error) {
	const op = "summarise activities"
	p, err := p.Normalize()
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	f, err := normFilter(p.ActivityFilter)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	out := &store.ActivitySummary{Rows: []store.SummaryRow{}}
	err = s.readTx(ctx, op, func(tx *sql.Tx) error {
		switch p.GroupBy {
		case store.GroupByType:
			counts, err := countBy(ctx, tx, f, byType)
			if err != nil {
				return err
			}
			for k, n := range counts {
				out.Rows = append(out.Rows, store.SummaryRow{ActivityType: k, Count: n})
			}
			sort.Slice(out.Rows, func(i, j int) bool {
				a, b := out.Rows[i], out.Rows[j]
				return a.Count > b.Count || (a.Count == b.Count && a.ActivityType < b.ActivityType)
			})
			out.Total = sum(counts)
		case store.GroupByUser:
			counts, err := countBy(ctx, tx, f, byUser)
			if err != nil {
				return err
			}
			for k, n := range counts {
				if k != "" { // anonymous activity counts in Total only
					out.Rows = append(out.Rows, store.SummaryRow{UserID: k, Count: n})
				}
			}
			sort.Slice(out.Rows, func(i, j int) bool {
				a, b := out.Rows[i], out.Rows[j]
				return a.Count > b.Count || (a.Count == b.Count && a.UserID < b.UserID)
			})
			if p.Limit > 0 && len(out.Rows) > p.Limit {
				out.Rows = out.Rows[:p.Limit]
			}
			out.Total = sum(counts)
			return latestUsernames(ctx, tx, f, out.Rows)
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

// latestUsernames fills the Username of each row with the username of the
// user's most recent matching activity.
func latestUsernames(ctx context.Context, tx *sql.Tx, f filter, rows []store.SummaryRow) error {
	for i := range rows {
		uf := f
		uf.userID = rows[i].UserID
		where, args := uf.where()
		if rows[i].UserID == "" {
			where += " AND user_id IS NULL"
		}
		var name sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT username FROM activities WHERE "+where+
			" ORDER BY created_at DESC, id DESC LIMIT 1", args...).Scan(&name)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		rows[i].Username = name.String
	}
	return nil
}

func summaryByDay(ctx context.Context, tx *sql.Tx, f filter, loc *time.Location, out *store.ActivitySummary) error {
	if f.empty() {
		return nil
	}
	lo, hi := f.from, f.to
	if !f.hasFrom || !f.hasTo {
		var mn, mx sql.NullInt64
		// Two subqueries: SQLite reads MIN or MAX from the index only when
		// it is the one aggregate of its query; together they scan the table.
		if err := tx.QueryRowContext(ctx,
			"SELECT (SELECT MIN(created_at) FROM activities), (SELECT MAX(created_at) FROM activities)").Scan(&mn, &mx); err != nil {
			return err
		}
		if !mn.Valid {
			return nil
		}
		if !f.hasFrom {
			lo = mn.Int64
		}
		if !f.hasTo {
			hi = mx.Int64
		}
	}
	counts := map[string]int64{}
	if isUTC(loc, lo, hi) {
		var err error
		if counts, err = countBy(ctx, tx, f, byDay); err != nil {
			return err
		}
	} else if err := countLocalDays(ctx, tx, f.within(lo, hi), loc, counts); err != nil {
		return err
	}
	days := make([]int64, 0, len(counts))
	for k := range counts {
		d, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			return fmt.Errorf("day key %q: %w", k, err)
		}
		days = append(days, d)
	}
	sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
	for _, d := range days {
		n := counts[itoa(d)]
		out.Rows = append(out.Rows, store.SummaryRow{Day: dayString(d), Count: n})
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
func countLocalDays(ctx context.Context, q queryer, f filter, loc *time.Location, out map[string]int64) error {
	rowKey := localDayExpr("created_at", loc, f.from, f.to)
	t := hourTier
	if f.userID != "" {
		t = userHourTier
	}
	aligned := f.clientID == "" && f.report == "" && (f.userID == "" || f.typ == "")
	for _, iv := range zoneIntervals(loc, f.from, f.to) {
		if iv.offset%usPerHour != 0 || (!iv.last && iv.end%usPerHour != 0) {
			aligned = false
		}
	}
	first, last := floorDiv(f.from+usPerHour-1, usPerHour), floorDiv(f.to+1, usPerHour)-1
	if !aligned || first > last {
		return countDirectKey(ctx, q, f, rowKey, out)
	}
	conds := []string{"hour >= ?", "hour <= ?"}
	args := []any{first, last}
	if f.userID != "" {
		conds, args = append(conds, "user_id = ?"), append(args, f.userID)
	}
	if f.typ != "" {
		conds, args = append(conds, "activity_type = ?"), append(args, f.typ)
	}
	hourKey := localDayExpr("(hour * 3600000000)", loc, f.from, f.to)
	if err := sqlexec.AddCounts(ctx, q, out, "SELECT "+hourKey+", SUM(n) FROM "+t.table+" WHERE "+
		strings.Join(conds, " AND ")+" GROUP BY 1", args...); err != nil {
		return err
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

// ActivityDistinctUsers counts distinct non-empty user ids with activity at
// or after since: whole days and hours from the counter tables, the partial
// first hour through the index.
func (s *Store) ActivityDistinctUsers(ctx context.Context, since time.Time) (int64, error) {
	const op = "count distinct users"
	var n int64
	err := s.readTx(ctx, op, func(tx *sql.Tx) error {
		if since.IsZero() {
			return tx.QueryRowContext(ctx, `SELECT COUNT(DISTINCT user_id) FROM activity_user_counts
				WHERE user_id <> '' AND n > 0`).Scan(&n)
		}
		us := micro(since)
		fd := floorDiv(us+usPerDay-1, usPerDay)   // first whole day
		fh := floorDiv(us+usPerHour-1, usPerHour) // first whole hour
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (
			SELECT user_id FROM activity_user_counts WHERE day >= ? AND user_id <> '' AND n > 0
			UNION
			SELECT user_id FROM activity_user_hour_counts WHERE hour >= ? AND hour < ? AND user_id <> '' AND n > 0
			UNION
			SELECT user_id FROM activities WHERE created_at >= ? AND created_at < ? AND user_id IS NOT NULL)`,
			fd, fh, fd*24, us, fh*usPerHour).Scan(&n)
	})
	return n, err
}

// ActivityDeleteByUser erases every activity of one user in one
// transaction, with its counters.
func (s *Store) ActivityDeleteByUser(ctx context.Context, userID string) (int64, error) {
	const op = "delete activities of user"
	if userID == "" {
		return 0, fmt.Errorf("sqlite: %s: %w", op, storedriver.Invalid("user_id", "is required"))
	}
	var n int64
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		if err := subtractCounts(ctx, tx, "user_id = ?", userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM activity_day_counts WHERE n <= 0"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM activity_hour_counts WHERE n <= 0"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM activity_user_hour_counts WHERE user_id = ? AND n <= 0", userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM activity_user_counts WHERE user_id = ?", userID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM activities WHERE user_id = ?", userID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// ActivityDeleteBefore deletes the activities created before cutoff, oldest
// first, in transactions of at most batchSize rows, keeping the counters
// exact in each.
func (s *Store) ActivityDeleteBefore(ctx context.Context, cutoff time.Time, batchSize int) (int64, error) {
	const op = "delete activities before cutoff"
	batchSize, err := storedriver.DeleteBatch(batchSize)
	if err != nil {
		return 0, s.wrap(ctx, op, err)
	}
	c := micro(cutoff)
	var total int64
	for {
		var n int64
		err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, "CREATE TEMP TABLE IF NOT EXISTS delete_batch (r INTEGER PRIMARY KEY)"); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM temp.delete_batch"); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO temp.delete_batch (r)
				SELECT rowid FROM activities WHERE created_at < ? ORDER BY created_at LIMIT ?`, c, batchSize); err != nil {
				return err
			}
			if err := subtractCounts(ctx, tx, "rowid IN (SELECT r FROM temp.delete_batch)"); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, "DELETE FROM activities WHERE rowid IN (SELECT r FROM temp.delete_batch)")
			if err != nil {
				return err
			}
			if n, err = res.RowsAffected(); err != nil {
				return err
			}
			if n < int64(batchSize) {
				// Last batch: drop the counters emptied by this deletion.
				if _, err := tx.ExecContext(ctx, "DELETE FROM activity_day_counts WHERE n <= 0"); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, "DELETE FROM activity_hour_counts WHERE n <= 0"); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, "DELETE FROM activity_user_hour_counts WHERE hour <= ? AND n <= 0",
					floorDiv(c, usPerHour)); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, "DELETE FROM activity_user_counts WHERE day <= ? AND n <= 0", dayOf(c)); err != nil {
					return err
				}
			}
			_, err = tx.ExecContext(ctx, "DELETE FROM temp.delete_batch")
			return err
		})
		total += n
		if err != nil {
			return total, err
		}
		if n < int64(batchSize) {
			return total, nil
		}
	}
}
