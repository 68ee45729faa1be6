package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/lib/pq"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/jsonenc"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// copyChunkBytes is about how much COPY data is handed to the driver at a
// time; rows are never split between chunks.
const copyChunkBytes = 64 << 10

// copyData is the rows of a COPY FROM STDIN in PostgreSQL's text format,
// cut into chunks of whole rows. Encoding the rows here, before the
// transaction begins, costs a fraction of handing the driver sixteen
// values a row through database/sql (which converts and boxes each one),
// and keeps the transaction as short as the write itself.
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
// order of copyActivitiesSQL; the caller releases it. The activities have
// been through storedriver.PrepareActivity.
func encodeActivities(activities []store.Activity) (*copyData, error) {
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
		b := append(d.buf, a.ID...)
		for _, s := range [...]string{a.UserID, a.Username, a.FullName} {
			b = appendCopyField(b, s)
		}
		b = append(b, '\t')
		b = appendCopyText(b, clean(a.ActivityType))
		for _, s := range [...]string{a.Description, a.ClientID, a.ReportID, a.IPAddress, a.UserAgent, a.Method, a.Path} {
			b = appendCopyField(b, s)
		}
		b = append(b, '\t')
		b = strconv.AppendInt(b, int64(a.StatusCode), 10)
		b = append(b, '\t')
		b = strconv.AppendInt(b, int64(a.Duration), 10)
		b = append(b, '\t')
		b = appendCopyText(b, js)
		b = append(b, '\t')
		b = appendCopyTime(b, a.CreatedAt)
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
