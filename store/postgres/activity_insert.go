package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

var insertCountsSQL = `WITH k AS (
	SELECT * FROM unnest($1::date[], $2::integer[], $3::integer[], $4::text[], $5::bigint[]) AS k(day, hour, user_key, activity_type, n)
),` + countsCTE + `
SELECT 1`

// copyActivitiesSQL is the COPY of activities; encodeActivities writes its
// columns in this order.
const copyActivitiesSQL = `COPY activities (created_at, duration_ns, id, client_id, report_id, user_key, status_code,
	activity_type, username, full_name, description, ip_address, user_agent, method, path, metadata) FROM STDIN`

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
	conn, tx, err := s.beginOnConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return sqlexec.InTx(func() (*sqlx.Tx, error) { return tx, nil }, func(tx *sqlx.Tx) error {
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

// beginOnConn takes a connection of the pool and begins a transaction on
// it. database/sql takes another connection when a transaction begun on
// the pool finds its connection dead, but not when it is begun on a
// connection already taken: after the server restarted, each idle
// connection of the pool would fail one write. So a connection that fails
// as the transaction begins, for a reason of the connection's, is dropped
// and another taken, as many times as the pool held idle connections.
func (s *Store) beginOnConn(ctx context.Context) (*sqlx.Conn, *sqlx.Tx, error) {
	for tries := s.db.Stats().Idle; ; tries-- {
		conn, err := s.db.Connx(ctx)
		if err != nil {
			return nil, nil, err
		}
		tx, err := conn.BeginTxx(ctx, nil)
		if err == nil {
			return conn, tx, nil
		}
		// A connection that failed is not put back: lib/pq marks it bad
		// and database/sql drops it.
		_ = conn.Close()
		code := errCode(err)
		lost := connectionLost(err) || code != "" && (code[:2] == "08" || code == "57P01" || code == "57P02" || code == "57P03")
		if !lost || tries <= 0 || ctx.Err() != nil {
			return nil, nil, err
		}
	}
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
