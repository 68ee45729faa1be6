package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/jsonenc"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// activityColumns are the columns the store reads from the activity_rows
// view, and insertColumns those it writes to the activities table, in the
// same order: the row's user_key in the place of the user's id.
// activityColumnCount is their number.
const (
	activityColumns = `id, user_id, username, full_name, activity_type, description, client_id, report_id,
	ip_address, user_agent, method, path, status_code, duration_ns, metadata, created_at`
	insertColumns = `id, user_key, username, full_name, activity_type, description, client_id, report_id,
	ip_address, user_agent, method, path, status_code, duration_ns, metadata, created_at`
	activityColumnCount = 16
)

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
	return "INSERT OR ROLLBACK INTO activities (" + insertColumns + ") VALUES " + valuesSQL(rows, activityColumnCount)
}

// upsertCountsSQL adds rows of (key..., n) to the counter table, each to
// the row of its key.
func upsertCountsSQL(rows int, table string, key ...string) string {
	k := strings.Join(key, ", ")
	return "INSERT OR ROLLBACK INTO " + table + " (" + k + ", n) VALUES " + valuesSQL(rows, len(key)+1) +
		" ON CONFLICT (" + k + ") DO UPDATE SET n = n + excluded.n"
}

// upsertVectorsSQL adds rows of (row key, user_key, counts) to the count
// vectors of the vector tier t.
func upsertVectorsSQL(rows int, t counterTier) string {
	return "INSERT OR ROLLBACK INTO " + t.table + " (" + t.col + ", user_key, counts) VALUES " + valuesSQL(rows, 3) +
		" ON CONFLICT (" + t.col + ", user_key) DO UPDATE SET counts = " + fnCountsAdd + "(counts, excluded.counts)"
}

// findUsersSQL reads the activity_users rows of as many user ids as rows.
func findUsersSQL(rows int) string {
	return "SELECT user_key, user_id, user_name, user_full_name FROM activity_users WHERE user_id IN (" +
		placeholders(rows) + ")"
}

// markRenamedSQL records that some activity of a user keeps a username of
// its own.
const markRenamedSQL = "UPDATE activity_users SET renamed = 1 WHERE user_key = ? AND renamed = 0"

// addUserSQL adds a user with the names of its first activity.
const addUserSQL = `INSERT OR ROLLBACK INTO activity_users (user_id, user_name, user_full_name) VALUES (?, ?, ?)
	RETURNING user_key`

// writeStmts are the prepared statements of ActivityInsertMany, indexed by
// log2 of their row count, and those that add a user and mark one renamed.
type writeStmts struct {
	insert, days, hours, users, userDays, userBlocks, blockDays, dayHours, findUsers []*sql.Stmt
	addUser, markRenamed                                                             *sql.Stmt
}

func (w *writeStmts) close() {
	for _, list := range [][]*sql.Stmt{w.insert, w.days, w.hours, w.users, w.userDays, w.userBlocks,
		w.blockDays, w.dayHours, w.findUsers, {w.addUser, w.markRenamed}} {
		for _, st := range list {
			if st != nil {
				_ = st.Close()
			}
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
	var err error
	if w.addUser, err = s.writer.PrepareContext(ctx, addUserSQL); err != nil {
		return nil, err
	}
	if w.markRenamed, err = s.writer.PrepareContext(ctx, markRenamedSQL); err != nil {
		w.close()
		return nil, err
	}
	for n := 1; n <= maxChunk; n *= 2 {
		for _, p := range []struct {
			list *[]*sql.Stmt
			sql  string
		}{{&w.insert, insertActivitiesSQL(n)},
			{&w.days, upsertCountsSQL(n, "activity_day_counts", "day", "activity_type")},
			{&w.hours, upsertCountsSQL(n, "activity_hour_counts", "hour", "activity_type")},
			{&w.users, upsertCountsSQL(n, "activity_user_counts", "user_key", "day", "activity_type")},
			{&w.userDays, upsertCountsSQL(n, "activity_user_day_counts", "user_key", "day")},
			{&w.userBlocks, upsertCountsSQL(n, "activity_user_block_counts", "user_key", "block")},
			{&w.blockDays, upsertVectorsSQL(n, userBlockDayTier)},
			{&w.dayHours, upsertVectorsSQL(n, userDayHourTier)},
			{&w.findUsers, findUsersSQL(n)}} {
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
// arguments, or the validation error that stopped the encoding. The
// arguments of a row with a user hold the user's id in the place of its
// key, and its names as given; keyUsers replaces them once the users
// first named in the chunk, users, are resolved.
type encodedChunk struct {
	rows  int
	args  []any
	users []userNames
	err   error
}

// userNames is a user's id with the names of its first activity in a
// batch.
type userNames struct{ id, name, fullName string }

// counterRows are the increments of the activity counter tables for one
// batch.
type counterRows struct {
	days, hours map[dayTypeKey]int64
	userDays    map[dayTypeKey]int64  // typ holds the user id
	userBlocks  map[dayTypeKey]int64  // day holds the block, typ the user id
	blockDays   map[dayTypeKey][]byte // day vectors; day holds the block, typ the user id
	dayHours    map[dayTypeKey][]byte // hour vectors; day holds the day, typ the user id
	users       map[userDayTypeKey]int64
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
	return s.insertActivities(ctx, fmt.Sprintf("insert %d activities", len(activities)), storedriver.OneChunk(activities),
		len(activities) >= pipelineMin)
}

// ActivityInsertChunks writes the activities that next returns, chunk by
// chunk, in one transaction (all or nothing), as ActivityInsertMany writes
// one batch; next returns an empty chunk at the end. The chunks are taken
// and encoded on a goroutine of their own while SQLite writes the previous
// ones, so a caller that decodes or builds each chunk in next does that
// work beside the writes. An error from next rolls everything back and is
// returned wrapped. next is called from one goroutine at a time, never
// after ActivityInsertChunks returns; the activities of its chunks are
// updated in place as ActivityInsertMany updates them.
func (s *Store) ActivityInsertChunks(ctx context.Context, next func() ([]store.Activity, error)) error {
	return s.insertActivities(ctx, "insert activities", next, true)
}

// insertActivities writes the chunks of next in one transaction, encoding
// them on a goroutine of their own when pipelined (else before the first
// write: next then returns a batch known to be small).
func (s *Store) insertActivities(ctx context.Context, op string, next func() ([]store.Activity, error), pipelined bool) error {
	stmts, err := s.insertStatements(ctx)
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	enc := &activityEncoder{now: s.now(), seen: map[string]struct{}{}, counts: newCounterTally()}
	var encoded chan encodedChunk
	stop := make(chan struct{})
	if pipelined {
		encoded = make(chan encodedChunk, 4)
		go enc.run(next, encoded, stop)
	} else {
		encoded = make(chan encodedChunk, maxChunk)
		enc.run(next, encoded, stop)
	}
	defer func() {
		// The encoder stops at its next chunk; wait for it, so it no
		// longer touches the activities or calls next when this returns.
		close(stop)
		for range encoded {
		}
	}()
	err = s.writeTx(ctx, op, func(tx *sql.Tx) error {
		users := map[string]sqlexec.UserRef{}
		renamed := map[int64]struct{}{}
		for c := range encoded {
			if c.err != nil {
				return c.err
			}
			if err := resolveUsers(ctx, tx, stmts, c.users, users); err != nil {
				return err
			}
			keyUsers(c.args, users, renamed)
			st := tx.StmtContext(ctx, stmts.insert[bits.Len(uint(c.rows))-1])
			_, err := st.ExecContext(ctx, c.args...)
			_ = st.Close()
			if err != nil {
				return err
			}
		}
		if err := markRenamed(ctx, tx, stmts, renamed); err != nil {
			return err
		}
		counts := enc.counts.rows() // the encoder closed encoded after its last chunk
		return addCounts(ctx, tx, stmts, &counts, users)
	})
	if err != nil {
		return err
	}
	s.insertedActivities(enc.done)
	return nil
}

// activityEncoder turns activities into the arguments of multi-row INSERT
// statements, a chunk at a time, and tallies their counter increments.
type activityEncoder struct {
	now    time.Time
	seen   map[string]struct{} // the users named so far
	counts counterTally
	done   int // activities encoded so far
}

// run encodes the chunks of next and sends them on out, which it closes
// at the end. It stops early on an error (sent on out) or when stop is
// closed.
func (e *activityEncoder) run(next func() ([]store.Activity, error), out chan<- encodedChunk, stop <-chan struct{}) {
	defer close(out)
	for {
		select {
		case <-stop:
			return
		default:
		}
		activities, err := next()
		if err != nil {
			out <- encodedChunk{err: err}
			return
		}
		if len(activities) == 0 {
			return
		}
		if !e.encode(activities, out, stop) {
			return
		}
		e.counts.add(activities)
	}
}

// encode prepares activities in power-of-two chunks, the smallest first,
// and sends each chunk's arguments on out. It reports false when it
// stopped: on a validation error (sent on out) or when stop was closed.
func (e *activityEncoder) encode(activities []store.Activity, out chan<- encodedChunk, stop <-chan struct{}) bool {
	sizes := chunks(len(activities))
	slices.Reverse(sizes)
	done := 0
	for _, c := range sizes {
		select {
		case <-stop:
			return false
		default:
		}
		args := make([]any, 0, c*activityColumnCount)
		var users []userNames
		for i := done; i < done+c; i++ {
			a := &activities[i]
			if err := storedriver.PrepareActivity(a, e.now); err != nil {
				out <- encodedChunk{err: fmt.Errorf("activity %d: %w", e.done+i, err)}
				return false
			}
			meta, err := jsonenc.Object(a.Metadata)
			if err != nil {
				out <- encodedChunk{err: fmt.Errorf("activity %d: %w", e.done+i,
					storedriver.Invalid("metadata", "cannot be encoded as JSON: %v", err))}
				return false
			}
			if a.UserID == "" {
				args = append(args, a.ID, nil, nullString(a.Username), nullString(a.FullName))
			} else {
				if _, ok := e.seen[a.UserID]; !ok {
					e.seen[a.UserID] = struct{}{}
					users = append(users, userNames{a.UserID, a.Username, a.FullName})
				}
				args = append(args, a.ID, a.UserID, a.Username, a.FullName)
			}
			args = append(args, a.ActivityType, nullString(a.Description), nullString(a.ClientID), nullString(a.ReportID),
				nullString(a.IPAddress), nullString(a.UserAgent), nullString(a.Method), nullString(a.Path),
				a.StatusCode, int64(a.Duration), meta, micro(a.CreatedAt))
		}
		out <- encodedChunk{rows: c, args: args, users: users}
		done += c
	}
	e.done += len(activities)
	return true
}

// resolveUsers adds to users the rows of activity_users of the users
// named, adding those not there yet.
func resolveUsers(ctx context.Context, tx *sql.Tx, stmts *writeStmts, named []userNames, users map[string]sqlexec.UserRef) error {
	done := 0
	for _, c := range chunks(len(named)) {
		args := make([]any, c)
		for i := range c {
			args[i] = named[done+i].id
		}
		done += c
		st := tx.StmtContext(ctx, stmts.findUsers[bits.Len(uint(c))-1])
		rows, err := st.QueryContext(ctx, args...)
		if err == nil {
			err = sqlexec.AddUsers(rows, users)
		}
		_ = st.Close()
		if err != nil {
			return err
		}
	}
	add := tx.StmtContext(ctx, stmts.addUser)
	defer add.Close()
	for _, u := range named {
		if _, ok := users[u.id]; ok {
			continue
		}
		var key int64
		if err := add.QueryRowContext(ctx, u.id, u.name, u.fullName).Scan(&key); err != nil {
			return err
		}
		users[u.id] = sqlexec.UserRef{Key: key, Name: u.name, FullName: u.fullName}
	}
	return nil
}

// keyUsers replaces, in the arguments of each row with a user, the user's
// id by its key and each name equal to the user's by NULL, and adds to
// renamed the keys of the users of rows that keep a username of their own.
func keyUsers(args []any, users map[string]sqlexec.UserRef, renamed map[int64]struct{}) {
	for i := 0; i < len(args); i += activityColumnCount {
		id, ok := args[i+1].(string)
		if !ok {
			continue
		}
		u := users[id]
		args[i+1] = u.Key
		if args[i+2].(string) == u.Name {
			args[i+2] = nil
		} else {
			renamed[u.Key] = struct{}{}
		}
		if args[i+3].(string) == u.FullName {
			args[i+3] = nil
		}
	}
}

// markRenamed records the users in renamed as renamed (see markRenamedSQL).
func markRenamed(ctx context.Context, tx *sql.Tx, stmts *writeStmts, renamed map[int64]struct{}) error {
	if len(renamed) == 0 {
		return nil
	}
	st := tx.StmtContext(ctx, stmts.markRenamed)
	defer st.Close()
	for key := range renamed {
		if _, err := st.ExecContext(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

// counterTally accumulates the counter increments of the activities of a
// write, chunk by chunk.
type counterTally struct {
	c         counterRows
	userHours map[dayTypeKey]int64 // typ holds the user id; written as dayHours
}

func newCounterTally() counterTally {
	return counterTally{
		c: counterRows{
			days:       map[dayTypeKey]int64{},
			hours:      map[dayTypeKey]int64{},
			userDays:   map[dayTypeKey]int64{},
			userBlocks: map[dayTypeKey]int64{},
			users:      map[userDayTypeKey]int64{},
		},
		userHours: map[dayTypeKey]int64{},
	}
}

// add counts activities, which have been through PrepareActivity.
func (t *counterTally) add(activities []store.Activity) {
	c := &t.c
	for i := range activities {
		a := &activities[i]
		us := micro(a.CreatedAt)
		d, h := dayOf(us), floorDiv(us, usPerHour)
		c.days[dayTypeKey{d, a.ActivityType}]++
		c.hours[dayTypeKey{h, a.ActivityType}]++
		c.users[userDayTypeKey{a.UserID, d, a.ActivityType}]++
		c.userDays[dayTypeKey{d, a.UserID}]++
		t.userHours[dayTypeKey{h, a.UserID}]++
		c.userBlocks[dayTypeKey{floorDiv(d, daysPerBlock), a.UserID}]++
	}
}

// rows returns the increments of everything added, with the count
// vectors built from the per-user day and hour counts.
func (t *counterTally) rows() counterRows {
	c := t.c
	c.blockDays, c.dayHours = map[dayTypeKey][]byte{}, map[dayTypeKey][]byte{}
	addToVectors(c.blockDays, c.userDays, userBlockDayTier.vector)
	addToVectors(c.dayHours, t.userHours, userDayHourTier.vector)
	return c
}

// addToVectors adds the counts of units (day or hour, user) to the vectors
// of size units a row, keyed by (row, user).
func addToVectors(vectors map[dayTypeKey][]byte, units map[dayTypeKey]int64, size int64) {
	for k, n := range units { // k.day is the unit, k.typ the user
		row := floorDiv(k.day, size)
		v := vectors[dayTypeKey{row, k.typ}]
		if v == nil {
			v = make([]byte, size*4)
			vectors[dayTypeKey{row, k.typ}] = v
		}
		addUnit(v, k.day-row*size, n)
	}
}

// addCounts adds a batch's increments to the counter tables, the per-user
// ones under the keys of users (0 for anonymous activity).
func addCounts(ctx context.Context, tx *sql.Tx, stmts *writeStmts, c *counterRows, users map[string]sqlexec.UserRef) error {
	key := func(id string) int64 { return users[id].Key } // the zero UserRef for ""
	dayType := func(k dayTypeKey, n int64, dst []any) []any { return append(dst, k.day, k.typ, n) }
	if err := upsertCounts(ctx, tx, stmts.days, c.days, dayType); err != nil {
		return err
	}
	if err := upsertCounts(ctx, tx, stmts.hours, c.hours, dayType); err != nil {
		return err
	}
	userFirst := func(k dayTypeKey, n int64, dst []any) []any { return append(dst, key(k.typ), k.day, n) }
	if err := upsertCounts(ctx, tx, stmts.userDays, c.userDays, userFirst); err != nil {
		return err
	}
	if err := upsertCounts(ctx, tx, stmts.userBlocks, c.userBlocks, userFirst); err != nil {
		return err
	}
	vector := func(k dayTypeKey, v []byte, dst []any) []any { return append(dst, k.day, key(k.typ), v) }
	if err := upsertCounts(ctx, tx, stmts.blockDays, c.blockDays, vector); err != nil {
		return err
	}
	if err := upsertCounts(ctx, tx, stmts.dayHours, c.dayHours, vector); err != nil {
		return err
	}
	return upsertCounts(ctx, tx, stmts.users, c.users, func(k userDayTypeKey, n int64, dst []any) []any {
		return append(dst, key(k.user), k.day, k.typ, n)
	})
}

// upsertCounts adds the increments m to a counter table through its
// multi-row upserts list; row appends one key's arguments.
func upsertCounts[K comparable, V any](ctx context.Context, tx *sql.Tx, list []*sql.Stmt, m map[K]V,
	row func(k K, n V, dst []any) []any) error {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return execChunked(ctx, tx, list, len(keys), func(i int, dst []any) []any {
		return row(keys[i], m[keys[i]], dst)
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
	if _, err := tx.ExecContext(ctx, `UPDATE activity_user_day_counts AS c SET n = c.n - d.cnt
		FROM (SELECT COALESCE(user_key, 0) AS user_key, `+day+` AS day, COUNT(*) AS cnt
			FROM activities WHERE `+where+` GROUP BY 1, 2) AS d
		WHERE c.user_key = d.user_key AND c.day = d.day`, args...); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE activity_user_block_counts AS c SET n = c.n - d.cnt
		FROM (SELECT COALESCE(user_key, 0) AS user_key, `+blockExpr("created_at")+` AS block, COUNT(*) AS cnt
			FROM activities WHERE `+where+` GROUP BY 1, 2) AS d
		WHERE c.user_key = d.user_key AND c.block = d.block`, args...); err != nil {
		return err
	}
	// The count vectors: the deleted activities counted by user, row and
	// unit of the row, packed into a vector per user and row, subtracted.
	for _, v := range []struct {
		t                 counterTier
		rowExpr, unitExpr string // the row key and the unit number of an activity
		agg               string
	}{
		{userBlockDayTier, blockExpr("created_at"), day, fnDays},
		{userDayHourTier, day, hourExpr("created_at"), fnHours},
	} {
		size := strconv.FormatInt(v.t.vector, 10)
		if _, err := tx.ExecContext(ctx, `UPDATE `+v.t.table+` AS c SET counts = `+fnCountsAdd+`(c.counts, d.v)
			FROM (SELECT user_key, row_key, `+v.agg+`(i, -cnt) AS v
				FROM (SELECT COALESCE(user_key, 0) AS user_key, `+v.rowExpr+` AS row_key,
						(`+v.unitExpr+`) - (`+v.rowExpr+`) * `+size+` AS i, COUNT(*) AS cnt
					FROM activities WHERE `+where+` GROUP BY 1, 2, 3)
				GROUP BY 1, 2) AS d
			WHERE c.`+v.t.col+` = d.row_key AND c.user_key = d.user_key`, args...); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE activity_user_counts AS c SET n = c.n - d.cnt
		FROM (SELECT COALESCE(user_key, 0) AS user_key, `+day+` AS day, activity_type, COUNT(*) AS cnt
			FROM activities WHERE `+where+` GROUP BY 1, 2, 3) AS d
		WHERE c.user_key = d.user_key AND c.day = d.day AND c.activity_type = d.activity_type`, args...); err != nil {
		return err
	}
	return nil
}
