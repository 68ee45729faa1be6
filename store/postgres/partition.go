package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// Partition intervals of Config.PartitionInterval.
const (
	PartitionMonth = "month"
	PartitionWeek  = "week"
	PartitionDay   = "day"
)

// PartitionsAheadDefault is how many partitions past the current one are
// kept ready when Config.PartitionsAhead is 0.
const PartitionsAheadDefault = 3

// PartitionCompactionsDefault is how many closed partitions each
// ActivityDeleteBefore compacts when Config.PartitionCompactions is 0: a
// week of daily partitions, so that the scheduler's weekly clean-up keeps
// up with any interval.
const PartitionCompactionsDefault = 8

// Partition is one partition of the activities table: the rows with From
// <= created_at < To.
type Partition struct {
	Name     string
	From, To time.Time
	// Compacted is when CompactActivityPartitions rebuilt the partition's
	// indexes; zero if it has not.
	Compacted time.Time
}

// partitions is what the store knows of the activities partitions.
type partitions struct {
	interval string
	ahead    int
	// compactions is Config.PartitionCompactions (negative: none).
	compactions int
	// on reports whether activities is partitioned (after its migration).
	on bool
	// known holds the partitions seen, sorted by From; guarded by the
	// Store's mu. A partition dropped by another process is noticed when
	// an insert fails for want of it.
	known []Partition
}

// validPartitioning checks the interval and the count ahead of a Config.
func validPartitioning(interval string, ahead int) error {
	switch interval {
	case PartitionMonth, PartitionWeek, PartitionDay:
	default:
		return storedriver.Invalid("partition_interval", "must be month, week or day, got %q", interval)
	}
	if ahead < 0 || ahead > 366 {
		return storedriver.Invalid("partitions_ahead", "must be between 0 and 366, got %d", ahead)
	}
	return nil
}

// partitionStart is the start of the interval (UTC) holding t.
func partitionStart(t time.Time, interval string) time.Time {
	t = t.UTC()
	switch interval {
	case PartitionDay:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	case PartitionWeek:
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)) // back to Monday
	default:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
}

// partitionNext is the start of the interval after the one starting at
// start.
func partitionNext(start time.Time, interval string) time.Time {
	switch interval {
	case PartitionDay:
		return start.AddDate(0, 0, 1)
	case PartitionWeek:
		return start.AddDate(0, 0, 7)
	default:
		return start.AddDate(0, 1, 0)
	}
}

// covering returns the known partition holding t.
func covering(known []Partition, t time.Time) (Partition, bool) {
	i, _ := slices.BinarySearchFunc(known, t, func(p Partition, t time.Time) int { return p.From.Compare(t) })
	// known[i-1] is the last partition starting at or before t (i is the
	// first starting after it, or the one starting exactly at t).
	if i < len(known) && known[i].From.Equal(t) {
		return known[i], true
	}
	if i > 0 && t.Before(known[i-1].To) {
		return known[i-1], true
	}
	return Partition{}, false
}

// partitionBound matches the bounds of a range partition as pg_get_expr
// prints them.
var partitionBound = regexp.MustCompile(`^FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)$`)

// parseBound reads a timestamptz literal as PostgreSQL prints it.
func parseBound(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07", "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999-07:00:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unexpected partition bound %q", s)
}

// queryer is a database or a transaction.
type queryer interface {
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

// listPartitions reads the range partitions of activities, sorted by
// their start. Partitions with other bounds (MINVALUE, a default one) are
// left out: the store neither fills nor drops them.
func listPartitions(ctx context.Context, q queryer) ([]Partition, error) {
	var rows []struct {
		Name    string `db:"name"`
		Bound   string `db:"bound"`
		Comment string `db:"comment"`
	}
	if err := q.SelectContext(ctx, &rows, `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound,
			COALESCE(obj_description(c.oid, 'pg_class'), '') AS comment
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = to_regclass('activities')`); err != nil {
		return nil, err
	}
	out := make([]Partition, 0, len(rows))
	for _, r := range rows {
		m := partitionBound.FindStringSubmatch(r.Bound)
		if m == nil {
			continue
		}
		from, err := parseBound(m[1])
		if err != nil {
			return nil, err
		}
		to, err := parseBound(m[2])
		if err != nil {
			return nil, err
		}
		out = append(out, Partition{Name: r.Name, From: from, To: to, Compacted: compactedAt(r.Comment)})
	}
	slices.SortFunc(out, func(a, b Partition) int { return a.From.Compare(b.From) })
	return out, nil
}

// ActivityPartitions lists the partitions of the activities table, oldest
// first (none before the table is partitioned).
func (s *Store) ActivityPartitions(ctx context.Context) ([]Partition, error) {
	ps, err := listPartitions(ctx, s.db)
	if err != nil {
		return nil, s.wrap(ctx, "list activity partitions", err)
	}
	return ps, nil
}

// loadPartitioning notes whether activities is partitioned and which
// partitions exist; Open calls it once the schema is ready.
func (s *Store) loadPartitioning(ctx context.Context) error {
	var kind string
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE((SELECT relkind::text FROM pg_class WHERE oid = to_regclass('activities')), '')`).Scan(&kind); err != nil {
		return s.wrap(ctx, "read the activities table", err)
	}
	if kind != "p" {
		return nil
	}
	known, err := listPartitions(ctx, s.db)
	if err != nil {
		return s.wrap(ctx, "list activity partitions", err)
	}
	s.mu.Lock()
	s.parts.on, s.parts.known = true, known
	s.mu.Unlock()
	now := s.now()
	return s.EnsureActivityPartitions(ctx, now, now, s.parts.ahead)
}

// EnsureActivityPartitions creates the partitions that hold from, to and
// the ahead intervals after to, where they do not exist yet. The store
// calls it on Open, on every ActivityDeleteBefore (the scheduler's
// retention run) and before inserting activities of a period it has no partition
// for. It does nothing before activities is partitioned.
func (s *Store) EnsureActivityPartitions(ctx context.Context, from, to time.Time, ahead int) error {
	s.mu.Lock()
	on, interval := s.parts.on, s.parts.interval
	s.mu.Unlock()
	if !on {
		return nil
	}
	var starts []time.Time
	for t := partitionStart(from, interval); !t.After(to); t = partitionNext(t, interval) {
		starts = append(starts, t)
	}
	last := partitionStart(to, interval)
	for range ahead {
		last = partitionNext(last, interval)
		starts = append(starts, last)
	}
	return s.ensurePartitions(ctx, starts)
}

// missingPartitions returns the times of ts that no known partition holds,
// one per interval.
func (s *Store) missingPartitions(ts []time.Time) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.parts.on || len(ts) == 0 {
		return nil
	}
	// Most batches fall in one partition: check their bounds first.
	lo, hi := ts[0], ts[0]
	for _, t := range ts[1:] {
		if t.Before(lo) {
			lo = t
		}
		if t.After(hi) {
			hi = t
		}
	}
	if p, ok := covering(s.parts.known, lo); ok && hi.Before(p.To) {
		return nil
	}
	var missing []time.Time
	for _, t := range ts {
		if _, ok := covering(s.parts.known, t); ok {
			continue
		}
		start := partitionStart(t, s.parts.interval)
		if !slices.ContainsFunc(missing, start.Equal) {
			missing = append(missing, start)
		}
	}
	return missing
}

// ensurePartitions creates a partition for each time of ts no partition
// holds, in one transaction under an advisory lock, so that processes
// sharing the database do not race. A new partition spans its interval,
// cut short where it would overlap a neighbour (one made with another
// interval).
func (s *Store) ensurePartitions(ctx context.Context, ts []time.Time) error {
	missing := s.missingPartitions(ts)
	if len(missing) == 0 {
		return nil
	}
	var known []Partition
	err := s.inTx(ctx, nil, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, s.schema+":partitions"); err != nil {
			return err
		}
		var err error
		if known, err = listPartitions(ctx, tx); err != nil {
			return err
		}
		for _, t := range missing {
			if _, ok := covering(known, t); ok {
				continue
			}
			p := s.newPartition(known, t)
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE %s PARTITION OF activities FOR VALUES FROM ('%s') TO ('%s')`,
				pq.QuoteIdentifier(p.Name), p.From.Format(time.RFC3339), p.To.Format(time.RFC3339))); err != nil {
				return fmt.Errorf("create partition %s: %w", p.Name, err)
			}
			known = append(known, p)
			slices.SortFunc(known, func(a, b Partition) int { return a.From.Compare(b.From) })
			s.log.InfoContext(ctx, "postgres: created activity partition", "partition", p.Name,
				"from", p.From.Format(time.RFC3339), "to", p.To.Format(time.RFC3339), "schema", s.schema)
		}
		return nil
	})
	if err != nil {
		return s.wrap(ctx, "create activity partitions", err)
	}
	s.mu.Lock()
	s.parts.known = known
	s.mu.Unlock()
	return nil
}

// newPartition is the partition to create for t, which no partition of
// known holds: its interval, cut at the neighbours.
func (s *Store) newPartition(known []Partition, t time.Time) Partition {
	from := partitionStart(t, s.parts.interval)
	to := partitionNext(from, s.parts.interval)
	for _, p := range known {
		if !p.To.After(t) && p.To.After(from) {
			from = p.To
		}
		if p.From.After(t) && p.From.Before(to) {
			to = p.From
		}
	}
	return Partition{Name: "activities_p" + from.Format("20060102") + partitionSuffix(from), From: from, To: to}
}

// partitionSuffix tells apart a partition that does not start at
// midnight (cut at a neighbour's bound).
func partitionSuffix(from time.Time) string {
	if from.Equal(from.Truncate(24 * time.Hour)) {
		return ""
	}
	return "_" + from.Format("150405")
}

// isNoPartition reports whether err is PostgreSQL's refusal of a row for
// which no partition exists.
func isNoPartition(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == "23514" && strings.Contains(pe.Message, "no partition")
}

// forgetPartitions drops what the store knows of the partitions, so the
// next ensurePartitions reads them again.
func (s *Store) forgetPartitions() {
	s.mu.Lock()
	s.parts.known = nil
	s.mu.Unlock()
}

// compactedNote starts the comment CompactActivityPartitions leaves on a
// partition it compacted, followed by the time (RFC 3339). Dropping the
// partition drops the comment with it.
const compactedNote = "indexes compacted at "

// compactedAt reads the time of a partition's comment left by
// CompactActivityPartitions; zero for any other comment.
func compactedAt(comment string) time.Time {
	v, ok := strings.CutPrefix(comment, compactedNote)
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// CompactActivityPartitions rebuilds the indexes of at most max closed
// partitions, newest first, and returns their names. A partition is closed
// a day after its range ends, and compacted once. Indexes filled in time
// order within each user or type are split half and half as they grow and
// stay about two thirds full; rebuilt, they are about 90 % full (the user
// and type indexes a fifth to a quarter smaller). The rebuild is REINDEX …
// CONCURRENTLY: reads and inserts go on, late activities included; an
// interrupted one leaves invalid copies of indexes, which the next call
// drops first. ActivityDeleteBefore calls it with
// Config.PartitionCompactions.
func (s *Store) CompactActivityPartitions(ctx context.Context, max int) ([]string, error) {
	const op = "compact activity partitions"
	parts, err := listPartitions(ctx, s.db)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	closed := s.now().Add(-24 * time.Hour)
	var done []string
	for i := len(parts) - 1; i >= 0 && len(done) < max; i-- {
		p := parts[i]
		if p.To.After(closed) || !p.Compacted.IsZero() {
			continue
		}
		if err := s.compactPartition(ctx, p.Name); err != nil {
			return done, s.wrap(ctx, op, fmt.Errorf("%s: %w", p.Name, err))
		}
		done = append(done, p.Name)
		s.log.InfoContext(ctx, "postgres: compacted activity partition", "partition", p.Name, "schema", s.schema)
	}
	return done, nil
}

// compactPartition rebuilds the indexes of the partition name and notes
// it in the partition's comment.
func (s *Store) compactPartition(ctx context.Context, name string) error {
	table := pq.QuoteIdentifier(name)
	var invalid []string
	if err := s.db.SelectContext(ctx, &invalid, `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = $1::regclass AND NOT i.indisvalid`, table); err != nil {
		return err
	}
	for _, idx := range invalid {
		if _, err := s.db.ExecContext(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+pq.QuoteIdentifier(idx)); err != nil {
			return err
		}
	}
	if _, err := s.db.ExecContext(ctx, "REINDEX TABLE CONCURRENTLY "+table); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, "COMMENT ON TABLE "+table+" IS "+pq.QuoteLiteral(compactedNote+s.now().UTC().Format(time.RFC3339)))
	return err
}
