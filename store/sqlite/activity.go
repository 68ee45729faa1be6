package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/jsonenc"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// userKeyIs is the condition on a user_key column (of the activities or of
// a per-user counter table) that selects the user of the id given as its
// argument.
const userKeyIs = "user_key = (SELECT user_key FROM activity_users WHERE user_id = ?)"

// filter is a normalised store.ActivityFilter in unix microseconds.
type filter struct {
	from, to         int64
	hasFrom, hasTo   bool
	userID, typ      string
	clientID, report string
}

// newFilter converts a filter prepared by storedriver.PrepareFilter.
func newFilter(f store.ActivityFilter) filter {
	out := filter{userID: f.UserID, typ: f.ActivityType, clientID: f.ClientID, report: f.ReportID}
	if !f.From.IsZero() {
		out.from, out.hasFrom = micro(f.From), true
	}
	if !f.To.IsZero() {
		out.to, out.hasTo = micro(f.To), true
	}
	return out
}

// empty reports whether the time range selects nothing.
func (f filter) empty() bool { return f.hasFrom && f.hasTo && f.from > f.to }

// where returns the SQL conditions (joined with AND, "1" when none) and
// their arguments for the activities table or the activity_rows view.
func (f filter) where() (string, []any) {
	var c conds
	c.andIf(f.userID != "", userKeyIs, f.userID)
	c.andIf(f.typ != "", "activity_type = ?", f.typ)
	c.andIf(f.clientID != "", "client_id = ?", f.clientID)
	c.andIf(f.report != "", "report_id = ?", f.report)
	c.andIf(f.hasFrom, "created_at >= ?", f.from)
	c.andIf(f.hasTo, "created_at <= ?", f.to)
	return c.sql(), c.args
}

// conds collects SQL conditions, joined with AND, and their arguments.
type conds struct {
	list []string
	args []any
}

// andIf adds the condition cond, with its arguments, when ok.
func (c *conds) andIf(ok bool, cond string, args ...any) {
	if ok {
		c.list, c.args = append(c.list, cond), append(c.args, args...)
	}
}

// sql returns the conditions joined with AND, "1" when there are none.
func (c *conds) sql() string {
	if len(c.list) == 0 {
		return "1"
	}
	return strings.Join(c.list, " AND ")
}

// within returns f restricted to [from, to].
func (f filter) within(from, to int64) filter {
	f.from, f.to, f.hasFrom, f.hasTo = from, to, true, true
	return f
}

// ActivityList returns one page of activities, newest first, with the exact
// total of the filter. Cursor pages seek on the (created_at, id) keys.
func (s *Store) ActivityList(ctx context.Context, params store.ActivityListParams) (*store.ActivityPage, error) {
	const op = "list activities"
	p, err := storedriver.PrepareListParams(params)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	f := newFilter(p.ActivityFilter)
	where, args := f.where()
	if p.After != nil {
		where += " AND (created_at, id) < (?, ?)"
		args = append(args, micro(p.After.CreatedAt), p.After.ID)
	}
	page := &store.ActivityPage{Activities: []store.Activity{}}
	err = s.readTx(ctx, op, func(tx *sqlexec.StmtTx) error {
		counts, err := countBy[int64](ctx, tx, f, byNone)
		if err != nil {
			return err
		}
		page.Total = counts[0]
		if f.empty() {
			return nil
		}
		where, args, offset := where, args, int64(p.Offset)
		if offset > 0 && seeksOffset(f) {
			var past bool
			if where, args, offset, past, err = offsetStart(ctx, tx, where, args, offset); err != nil || past {
				return err
			}
		}
		// The page is taken from the table alone, then joined to its users:
		// the view would look up the user of every row an OFFSET skips.
		page.Activities, err = sqlexec.Query(ctx, tx, scanActivity, "SELECT "+activityColumns+
			" FROM activity_rows WHERE rowid IN (SELECT rowid FROM activities WHERE "+where+
			" ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?) ORDER BY created_at DESC, id DESC",
			append(args, p.Limit+1, offset)...)
		return err
	})
	if err != nil {
		return nil, err
	}
	storedriver.FinishPage(page, p.Limit)
	return page, nil
}

// seeksOffset reports whether an OFFSET page of f starts from the index
// of its one user or type: those indexes hold created_at but not the id
// that orders the activities of one instant, so skipping rows in (created_at,
// id) order would read the id of each from the table (see offsetStart).
func seeksOffset(f filter) bool {
	return (f.userID != "") != (f.typ != "") && f.clientID == "" && f.report == ""
}

// offsetStart turns an OFFSET page of the activities matching where (with
// its arguments args) into one that skips only activities of its first
// instant: the creation time of the row at offset is read from the index
// alone, newest first, and so is the count of the newer rows, which the
// page then leaves out by its condition instead of by skipping them. past
// reports an offset past the last row (an empty page).
func offsetStart(ctx context.Context, tx *sqlexec.StmtTx, where string, args []any, offset int64) (_ string, _ []any, _ int64, past bool, err error) {
	args = args[:len(args):len(args)] // each append below copies
	var at, newer int64
	err = tx.QueryRowContext(ctx, "SELECT created_at FROM activities WHERE "+where+
		" ORDER BY created_at DESC LIMIT 1 OFFSET ?", append(args, offset)...).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, 0, true, nil
	}
	if err != nil {
		return "", nil, 0, false, err
	}
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM activities WHERE "+where+" AND created_at > ?",
		append(args, at)...).Scan(&newer); err != nil {
		return "", nil, 0, false, err
	}
	return where + " AND created_at <= ?", append(args, at), offset - newer, false, nil
}

func scanActivity(sc sqlexec.Scanner) (store.Activity, error) {
	var a store.Activity
	var user, username, fullName, desc, client, report, ip, ua, method, path sql.NullString
	var dur, created int64
	var meta string
	if err := sc.Scan(&a.ID, &user, &username, &fullName, &a.ActivityType, &desc, &client, &report,
		&ip, &ua, &method, &path, &a.StatusCode, &dur, &meta, &created); err != nil {
		return a, err
	}
	a.UserID, a.Username, a.FullName, a.Description = user.String, username.String, fullName.String, desc.String
	a.ClientID, a.ReportID, a.IPAddress, a.UserAgent = client.String, report.String, ip.String, ua.String
	a.Method, a.Path = method.String, path.String
	a.Duration = time.Duration(dur)
	a.CreatedAt = fromMicro(created)
	m, err := jsonenc.DecodeObject([]byte(meta))
	if err != nil {
		return a, fmt.Errorf("activity %s: decode metadata: %w", a.ID, err)
	}
	a.Metadata = m
	return a, nil
}

// ActivityIterate streams the matching activities, newest first, in keyset
// pages of store.IteratePageSize rows; no reader connection is held while
// fn runs.
func (s *Store) ActivityIterate(ctx context.Context, af store.ActivityFilter, fn func(*store.Activity) error) error {
	const op = "iterate activities"
	if err := storedriver.PrepareFilter(&af); err != nil {
		return s.wrap(ctx, op, err)
	}
	f := newFilter(af)
	if f.empty() {
		return nil
	}
	where, args := f.where()
	load := func(after *store.Activity) ([]store.Activity, error) {
		w, a := where, append([]any(nil), args...)
		if after != nil {
			w += " AND (created_at, id) < (?, ?)"
			a = append(a, micro(after.CreatedAt), after.ID)
		}
		a = append(a, store.IteratePageSize)
		return sqlexec.Query(ctx, s.read(), scanActivity, "SELECT "+activityColumns+" FROM activity_rows WHERE "+w+
			" ORDER BY created_at DESC, id DESC LIMIT ?", a...)
	}
	return sqlexec.EachPage(ctx, s.iter, store.IteratePageSize, load, fn, func(err error) error { return s.wrap(ctx, op, err) })
}

// ActivityDistinctUsers counts distinct non-empty user ids with activity at
// or after since: whole days and hours from the counter tables, the partial
// first hour through the index.
func (s *Store) ActivityDistinctUsers(ctx context.Context, since time.Time) (int64, error) {
	const op = "count distinct users"
	var n int64
	err := s.readTx(ctx, op, func(tx *sqlexec.StmtTx) error {
		if since.IsZero() {
			return tx.QueryRowContext(ctx, `SELECT COUNT(DISTINCT user_key) FROM activity_user_day_counts
				WHERE user_key <> 0 AND n > 0`).Scan(&n)
		}
		us := micro(since)
		fd := floorDiv(us+usPerDay-1, usPerDay)   // first whole day
		fh := floorDiv(us+usPerHour-1, usPerHour) // first whole hour
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (
			SELECT user_key FROM activity_user_day_counts WHERE day >= ? AND user_key <> 0 AND n > 0
			UNION
			SELECT user_key FROM activity_user_day_hours
			WHERE day = ? AND user_key <> 0 AND `+fnUnitsSum+`(counts, ?, 23) > 0
			UNION
			SELECT user_key FROM activities WHERE created_at >= ? AND created_at < ? AND user_key IS NOT NULL)`,
			fd, fd-1, fh-(fd-1)*24, us, fh*usPerHour).Scan(&n)
	})
	return n, err
}
