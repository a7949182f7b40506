package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/uptrace/bun/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockID keys the advisory lock that keeps two processes from
// migrating the same database at once.
const migrationLockID = 0x63726d6875626d67 // "crmhubmg"

// MigrationStatus is one migration and whether it has been applied.
type MigrationStatus struct {
	Name      string     `json:"name"`
	Comment   string     `json:"comment"`
	Applied   bool       `json:"applied"`
	AppliedAt *time.Time `json:"appliedAt,omitempty"`
}

// Migrations returns the embedded migrations; tests use it to fingerprint
// their template database.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations")
	return sub
}

// Migrate applies every pending migration as the URL's user, then River's
// (see migrateRiver), and returns the names of ours applied. It holds an
// advisory lock while it works.
func Migrate(ctx context.Context, rawURL string) ([]string, error) {
	var names []string
	err := withMigrator(ctx, rawURL, func(m *migrate.Migrator) error {
		group, err := m.Migrate(ctx)
		if err != nil {
			return err
		}
		for _, mig := range group.Migrations {
			names = append(names, mig.Name+"_"+mig.Comment)
		}
		return migrateRiver(ctx, rawURL)
	})
	return names, err
}

// Rollback undoes the newest applied migration, or with all every applied
// one (newest first), and returns their names. River's own tables stay.
func Rollback(ctx context.Context, rawURL string, all bool) ([]string, error) {
	var names []string
	err := withMigrator(ctx, rawURL, func(m *migrate.Migrator) error {
		ms, err := m.MigrationsWithStatus(ctx)
		if err != nil {
			return err
		}
		for _, mig := range ms.Applied() { // newest first
			if mig.Down != nil {
				if err := mig.Down(ctx, m, &mig); err != nil {
					return fmt.Errorf("db: migrate: %s: down: %w", mig.Name, err)
				}
			}
			if err := m.MarkUnapplied(ctx, &mig); err != nil {
				return fmt.Errorf("db: migrate: %s: mark unapplied: %w", mig.Name, err)
			}
			names = append(names, mig.Name+"_"+mig.Comment)
			if !all {
				break
			}
		}
		return nil
	})
	return names, err
}

// Status lists every known migration with whether it is applied.
func Status(ctx context.Context, rawURL string) ([]MigrationStatus, error) {
	var out []MigrationStatus
	err := withMigrator(ctx, rawURL, func(m *migrate.Migrator) error {
		ms, err := m.MigrationsWithStatus(ctx)
		if err != nil {
			return err
		}
		for _, mig := range ms {
			s := MigrationStatus{Name: mig.Name, Comment: mig.Comment, Applied: mig.IsApplied()}
			if s.Applied {
				at := mig.MigratedAt
				s.AppliedAt = &at
			}
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

func withMigrator(ctx context.Context, rawURL string, fn func(*migrate.Migrator) error) error {
	bdb, err := openOwner(rawURL)
	if err != nil {
		return err
	}
	defer bdb.Close()
	conn, err := bdb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("db: migrate: connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", int64(migrationLockID)); err != nil {
		return fmt.Errorf("db: migrate: lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", int64(migrationLockID))

	ms := migrate.NewMigrations()
	if err := ms.Discover(Migrations()); err != nil {
		return fmt.Errorf("db: migrate: discover: %w", err)
	}
	m := migrate.NewMigrator(bdb, ms, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("db: migrate: init: %w", err)
	}
	if err := fn(m); err != nil {
		return fmt.Errorf("db: migrate: %w", err)
	}
	return nil
}
