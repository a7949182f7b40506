package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// claimPeriod reports whether the caller is the one process to start the
// cluster-wide task name now: the first to ask in each period, among all
// processes sharing the database, gets true. The database's clock decides,
// so the processes' clocks need not agree.
func (db *DB) claimPeriod(ctx context.Context, name string, period time.Duration) (bool, error) {
	var claimed bool
	err := db.Pool.QueryRow(ctx, `INSERT INTO maintenance_runs AS m (name, started_at) VALUES ($1, now())
		ON CONFLICT (name) DO UPDATE SET started_at = now()
		WHERE m.started_at <= now() - make_interval(secs => $2::float8)
		RETURNING true`, name, period.Seconds()).Scan(&claimed)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("db: claim %s: %w", name, err)
	}
	return claimed, nil
}
