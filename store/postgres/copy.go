package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/jsonenc"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// copyChunkBytes is about how much COPY data is handed to the driver at a
// time; rows are never split between chunks.
const copyChunkBytes = 64 << 10

// copyData is the rows of a COPY FROM STDIN in PostgreSQL's text format,
// cut into chunks of whole rows. Encoding the rows here costs a fraction
// of handing the driver sixteen values a row through database/sql (which
// converts and boxes each one).
type copyData struct {
	buf []byte
	// ends are the offsets in buf where the chunks end, each just past a
	// row's newline.
	ends []int
	// js is scratch space for one row's metadata.
	js []byte
}

// copyPool keeps the buffers of copyData between batches: a batch of a
// few thousand activities is a megabyte of text, which would otherwise be
// allocated, cleared and given back to the system every time.
var copyPool = sync.Pool{New: func() any { return new(copyData) }}

// maxPooledCopyBytes bounds the buffers kept in copyPool; a larger one (a
// batch of an unusual size) is left to the garbage collector.
const maxPooledCopyBytes = 16 << 20

// release returns d to copyPool; d must not be used after.
func (d *copyData) release() {
	if cap(d.buf) <= maxPooledCopyBytes {
		copyPool.Put(d)
	}
}

// encodeActivities returns the COPY text of activities, in the column
// order of copyActivitiesSQL, with the keys and names of their users from
// users (see resolveUsers); the caller releases it. The activities have
// been through storedriver.PrepareActivity.
func encodeActivities(activities []store.Activity, users map[string]sqlexec.UserRef) (*copyData, error) {
	d := copyPool.Get().(*copyData)
	d.buf, d.ends = d.buf[:0], d.ends[:0]
	js := d.js
	start := 0
	for i := range activities {
		a := &activities[i]
		var err error
		if js, err = jsonenc.AppendObject(js[:0], a.Metadata); err != nil {
			d.release()
			return nil, indexed(storedriver.Invalid("metadata", "cannot be encoded as JSON: %v", err), i)
		}
		b := appendCopyTime(d.buf, a.CreatedAt)
		b = append(b, '\t')
		b = strconv.AppendInt(b, int64(a.Duration), 10)
		b = append(b, '\t')
		b = append(b, a.ID...)
		b = appendCopyField(b, a.ClientID)
		b = appendCopyField(b, a.ReportID)
		b = append(b, '\t')
		// A row without a user has no key and a user without names: its
		// names are NULL when empty, as the user's own names are.
		u, known := users[clean(a.UserID)]
		if known {
			b = strconv.AppendInt(b, u.Key, 10)
		} else {
			b = append(b, `\N`...)
		}
		b = append(b, '\t')
		b = strconv.AppendInt(b, int64(a.StatusCode), 10)
		b = append(b, '\t')
		b = appendCopyText(b, clean(a.ActivityType))
		b = appendOwnName(b, clean(a.Username), u.Name)
		b = appendOwnName(b, clean(a.FullName), u.FullName)
		for _, s := range [...]string{a.Description, a.IPAddress, a.UserAgent, a.Method, a.Path} {
			b = appendCopyField(b, s)
		}
		b = append(b, '\t')
		b = appendCopyText(b, js)
		d.buf = append(b, '\n')
		if i == 0 {
			// Room for the batch, rows taken as a quarter longer than
			// the first, so that the buffer rarely grows row by row.
			if need := len(d.buf) * len(activities) * 5 / 4; cap(d.buf) < need {
				d.buf = append(make([]byte, 0, need), d.buf...)
			}
		}
		if len(d.buf)-start >= copyChunkBytes {
			start = len(d.buf)
			d.ends = append(d.ends, start)
		}
	}
	if start < len(d.buf) {
		d.ends = append(d.ends, len(d.buf))
	}
	d.js = js
	return d, nil
}

// appendOwnName appends a tab and a row's name: NULL when it is the
// user's, else the name itself (the empty string included).
func appendOwnName(b []byte, name, users string) []byte {
	b = append(b, '\t')
	if name == users {
		return append(b, `\N`...)
	}
	return appendCopyText(b, name)
}

// resolveUsers adds to users the users of activities not in it yet,
// adding those not yet known to activity_users with the names of their
// first activity here. The caller's transaction holds activities in ROW
// EXCLUSIVE mode from its start (see lockForInsert), so an erasure, which
// locks activities against writers before it deletes a user, either waits
// for these activities and deletes them too or has committed before this
// reads the users, which then adds the user again.
func resolveUsers(ctx context.Context, tx *sqlx.Tx, activities []store.Activity, users map[string]sqlexec.UserRef) error {
	first := map[string]int{}
	var ids []string
	for i := range activities {
		id := clean(activities[i].UserID)
		if _, seen := first[id]; id != "" && !seen {
			first[id] = i
			if _, known := users[id]; !known {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	read := func(ids []string) error {
		rows, err := tx.QueryContext(ctx, `SELECT user_key, user_id, user_name, user_full_name FROM activity_users
			WHERE user_id = ANY($1)`, pq.Array(ids))
		if err != nil {
			return err
		}
		return sqlexec.AddUsers(rows, users)
	}
	if err := read(ids); err != nil {
		return err
	}
	var missing, names, fullNames []string
	for _, id := range ids {
		if _, ok := users[id]; !ok {
			a := &activities[first[id]]
			missing, names, fullNames = append(missing, id), append(names, clean(a.Username)), append(fullNames, clean(a.FullName))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	// In id order, as every writer adds them, so two writers adding the
	// same new users in one statement each cannot deadlock.
	if _, err := tx.ExecContext(ctx, `INSERT INTO activity_users (user_id, user_name, user_full_name)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ORDER BY 1
		ON CONFLICT (user_id) DO NOTHING`, pq.Array(missing), pq.Array(names), pq.Array(fullNames)); err != nil {
		return err
	}
	if err := read(missing); err != nil {
		return err
	}
	for _, id := range missing {
		if _, ok := users[id]; !ok {
			return errors.New("users added to activity_users could not be read back")
		}
	}
	return nil
}

// appendCopyField appends a tab and s as a nullable column: the empty
// string is NULL, anything else is cleaned (see clean).
func appendCopyField(b []byte, s string) []byte {
	b = append(b, '\t')
	if s == "" {
		return append(b, `\N`...)
	}
	return appendCopyText(b, clean(s))
}

// appendCopyText appends s escaped for COPY's text format: backslash,
// newline, carriage return and tab are written as backslash sequences.
func appendCopyText[T string | []byte](b []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc byte
		switch s[i] {
		case '\\':
			esc = '\\'
		case '\n':
			esc = 'n'
		case '\r':
			esc = 'r'
		case '\t':
			esc = 't'
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '\\', esc)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// appendCopyTime appends t (UTC) as a timestamptz literal; years outside
// 1–9999 are left to the driver's formatting.
func appendCopyTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 1 || y > 9999 {
		return append(b, pq.FormatTimestamp(t)...)
	}
	return t.AppendFormat(b, "2006-01-02 15:04:05.999999Z07:00")
}

// copyDataStmt is the part of lib/pq's COPY statement that takes rows
// already in COPY's text format.
type copyDataStmt interface {
	CopyData(ctx context.Context, line string) (driver.Result, error)
}

// copyIn runs query (a COPY … FROM STDIN) on the driver connection dc,
// which is in the caller's transaction, and sends it the rows of d.
func copyIn(ctx context.Context, dc any, query string, d *copyData) (err error) {
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return errors.New("the PostgreSQL driver cannot prepare statements with a context")
	}
	st, err := pc.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); err == nil {
			err = cerr
		}
	}()
	cs, ok := st.(copyDataStmt)
	if !ok {
		return errors.New("the PostgreSQL driver does not take COPY data as text")
	}
	start := 0
	for _, end := range d.ends {
		// The driver ends each line it is given with a newline itself. It
		// copies the text before it returns, so the chunk is not copied
		// into a string first.
		if _, err := cs.CopyData(ctx, unsafe.String(&d.buf[start], end-1-start)); err != nil {
			return err
		}
		start = end
	}
	// Exec without values ends the COPY and reports its outcome.
	//lint:ignore SA1019 the driver's COPY statement has no ExecContext
	_, err = st.Exec(nil)
	return err
}

// Locks on the partitioned activities table alone (ONLY: not its
// partitions) order writers and the deletions of users: writers take
// lockForInsert first in their transaction, which does not conflict with
// other writers or with readers; an erasure or the removal of unused users
// takes lockForUserDeletion, which waits for the writers in flight and
// holds new ones until it commits (and one such deletion at a time).
//
// lockForInsert also makes the writer's commit synchronous, whatever the
// server's, role's or connection's synchronous_commit: the Recorder and its
// spool forget a batch once its commit returns, and an asynchronous commit
// returns before it is on disk, so a crash of the server a moment later
// would lose it. SET LOCAL lasts for the transaction alone, so it holds
// behind a pooler in transaction mode too; both statements go in one round
// trip.
const (
	lockForInsert       = "SET LOCAL synchronous_commit TO on; LOCK TABLE ONLY activities IN ROW EXCLUSIVE MODE"
	lockForUserDeletion = "LOCK TABLE ONLY activities IN SHARE ROW EXCLUSIVE MODE"
)
