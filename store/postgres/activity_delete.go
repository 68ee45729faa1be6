package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

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
