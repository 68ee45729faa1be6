package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// ActivityDeleteByUser erases every activity of one user in one
// transaction, with its counters and its row of activity_users.
func (s *Store) ActivityDeleteByUser(ctx context.Context, userID string) (int64, error) {
	const op = "delete activities of user"
	if userID == "" {
		return 0, fmt.Errorf("sqlite: %s: %w", op, storedriver.Invalid("user_id", "is required"))
	}
	var n int64
	var key sql.NullInt64
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT user_key FROM activity_users WHERE user_id = ?", userID).Scan(&key)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		if err := subtractCounts(ctx, tx, "user_key = ?", key); err != nil {
			return err
		}
		user := []any{key}
		err = sqlexec.ExecAll(ctx, tx,
			sqlexec.Stmt{SQL: "DELETE FROM activity_day_counts WHERE n <= 0"},
			sqlexec.Stmt{SQL: "DELETE FROM activity_hour_counts WHERE n <= 0"},
			sqlexec.Stmt{SQL: "DELETE FROM activity_user_counts WHERE user_key = ?", Args: user},
			sqlexec.Stmt{SQL: "DELETE FROM activity_user_day_counts WHERE user_key = ?", Args: user},
			sqlexec.Stmt{SQL: "DELETE FROM activity_user_block_counts WHERE user_key = ?", Args: user},
			sqlexec.Stmt{SQL: "DELETE FROM activity_user_block_days WHERE user_key = ?", Args: user},
			sqlexec.Stmt{SQL: "DELETE FROM activity_user_day_hours WHERE user_key = ?", Args: user})
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM activities WHERE user_key = ?", key)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM activity_users WHERE user_key = ?", key)
		return err
	})
	if err == nil && key.Valid {
		s.users.forget(key.Int64)
	}
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
				// Last batch: drop the counters emptied by this deletion,
				// and the users left without activities. The per-type user
				// rows of the emptied days are found through the day-first
				// index of the daily totals.
				day := []any{dayOf(c)}
				err := sqlexec.ExecAll(ctx, tx,
					sqlexec.Stmt{SQL: `DELETE FROM activity_users WHERE NOT EXISTS
						(SELECT 1 FROM activities a WHERE a.user_key = activity_users.user_key)`},
					sqlexec.Stmt{SQL: "DELETE FROM activity_day_counts WHERE n <= 0"},
					sqlexec.Stmt{SQL: "DELETE FROM activity_hour_counts WHERE n <= 0"},
					sqlexec.Stmt{SQL: `DELETE FROM activity_user_counts WHERE (user_key, day) IN
						(SELECT user_key, day FROM activity_user_day_counts WHERE day <= ? AND n <= 0)`, Args: day},
					sqlexec.Stmt{SQL: "DELETE FROM activity_user_day_counts WHERE day <= ? AND n <= 0", Args: day},
					sqlexec.Stmt{SQL: "DELETE FROM activity_user_block_counts WHERE block <= ? AND n <= 0",
						Args: []any{floorDiv(dayOf(c), daysPerBlock)}},
					sqlexec.Stmt{SQL: "DELETE FROM activity_user_block_days WHERE block <= ? AND counts = zeroblob(?)",
						Args: []any{floorDiv(dayOf(c), daysPerBlock), blockDaysBytes}},
					sqlexec.Stmt{SQL: "DELETE FROM activity_user_day_hours WHERE day <= ? AND counts = zeroblob(?)",
						Args: []any{dayOf(c), dayHoursBytes}})
				if err != nil {
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
