package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/jsonenc"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

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
