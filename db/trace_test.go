package db_test

import (
	"context"
	"testing"

	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/jackc/pgx/v5"
)

// TestQueryStats: a query is one round trip and one statement, a batch of
// three is one round trip and three statements, and a bun transaction
// counts its BEGIN and COMMIT.
func TestQueryStats(t *testing.T) {
	d := dbtest.Open(t, nil)
	ctx := context.Background()
	conn, err := d.Pool.Acquire(ctx) // no pool pings between the readings
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	step := func(name string, f func() error, trips, stmts uint64) {
		t.Helper()
		before := d.QueryStats()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		after := d.QueryStats()
		if got := (db.QueryStats{RoundTrips: after.RoundTrips - before.RoundTrips,
			Statements: after.Statements - before.Statements}); got != (db.QueryStats{RoundTrips: trips, Statements: stmts}) {
			t.Errorf("%s: %+v, want %d round trips and %d statements", name, got, trips, stmts)
		}
	}
	step("exec", func() error { _, err := conn.Exec(ctx, "SELECT 1"); return err }, 1, 1)
	step("batch", func() error {
		b := &pgx.Batch{}
		b.Queue("SELECT 1")
		b.Queue("SELECT 2")
		b.Queue("SELECT 3")
		return conn.SendBatch(ctx, b).Close()
	}, 1, 3)
	bunTx := func() error {
		tx, err := d.Bun.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "SELECT 1"); err != nil {
			return err
		}
		return tx.Commit()
	}
	if err := bunTx(); err != nil { // opens bun's connection: its SET ROLE counts too
		t.Fatal(err)
	}
	step("bun tx", bunTx, 3, 3)
}
