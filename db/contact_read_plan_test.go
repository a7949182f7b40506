package db_test

import (
	"strings"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

// TestPointReadUsesIndexes: under row-level security PostgreSQL only puts
// a condition into an index scan when it knows the condition cannot leak
// rows; `id = coalesce(...)` is not such a condition, and the point read
// then scanned every contact of the workspace: 113 ms on the benchmark's
// 100,000 contacts instead of 0.04 ms. With sequential scans priced out,
// the plans must look the contact up by its id in an index, not scan the
// workspace's part of one and filter.
func TestPointReadUsesIndexes(t *testing.T) {
	d := dbtest.Open(t, nil)
	ctx, ws, _ := dbtest.Workspace(t, d)
	name := "Plan"
	c, err := db.NewContactService(d).CreateContact(ctx, crmhub.ContactInput{Name: &name,
		Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityEmail, Value: "plan@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := d.Pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(t.Context())
	if _, err := tx.Exec(t.Context(), "SELECT set_config('app.workspace_id', $1, true)", ws.ID.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), "SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	for q, key := range map[string]string{db.PointReadContactSQL: "(id = ", db.PointReadIdentitiesSQL: "(contact_id = "} {
		rows, err := tx.Query(t.Context(), "EXPLAIN "+q, [16]byte(ws.ID), [16]byte(c.ID))
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(line + "\n")
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		found := false
		for line := range strings.Lines(plan.String()) {
			found = found || strings.Contains(line, "Index Cond:") && strings.Contains(line, key)
		}
		if !found {
			t.Errorf("a point read does not look its rows up by %s...) in an index:\n%s\n%s", key, q, plan.String())
		}
	}
}
