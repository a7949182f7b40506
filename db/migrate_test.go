package db_test

import (
	"context"
	"testing"

	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

// TestMigrateDownUp rolls every migration back and applies it again on the
// package database, so down migrations are known to work.
func TestMigrateDownUp(t *testing.T) {
	ctx := context.Background()
	url := dbtest.URL(t)
	before, err := db.Status(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range before {
		if !s.Applied {
			t.Fatalf("migration %s not applied in the template", s.Name)
		}
	}
	// One at a time, newest first, then the rest at once.
	for i := range 2 {
		names, err := db.Rollback(ctx, url, false)
		if want := before[len(before)-1-i]; err != nil || len(names) != 1 || names[0] != want.Name+"_"+want.Comment {
			t.Fatalf("rollback of one: %v, %v; want %s", names, err, want.Name)
		}
	}
	if names, err := db.Rollback(ctx, url, true); err != nil || len(names) != len(before)-2 {
		t.Fatalf("rollback of all: %v, %v", names, err)
	}
	after, err := db.Status(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range after {
		if s.Applied {
			t.Fatalf("migration %s still applied after rolling back", s.Name)
		}
	}
	applied, err := db.Migrate(ctx, url)
	if err != nil || len(applied) != len(before) {
		t.Fatalf("migrate up again: %v %v", applied, err)
	}
}
