package workloads

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub/db"
)

// TestUpsertWorkload runs the upsert workload at a small scale against the
// served handler and the floor. It takes about half a minute: the
// unchanged-rows check waits twice for PostgreSQL's statistics flush.
func TestUpsertWorkload(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the statistics flush")
	}
	ctx := context.Background()
	env, _ := servedSeed(t, db.SeedConfig{Contacts: 600, Users: 1, Seed: 3}, false)
	env.Duration = time.Second
	sec, err := upsert(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(sec.Body)
	for _, r := range sec.Ratios {
		t.Logf("%s: %.2f %s (%s)", r.What, r.Value, r.Unit, r.Goal)
		// Speed on a shared test machine is not judged; the bounds are.
		if !r.Met && !strings.Contains(r.What, "calls/s") {
			t.Errorf("%s: %.2f %s, want %s", r.What, r.Value, r.Unit, r.Goal)
		}
	}

	// The floor did what it answered: the arms' new contacts exist with
	// their phones, one contact per phone.
	var contacts, phones int
	if err := env.Pool.QueryRow(ctx, `SELECT count(DISTINCT contact_id), count(*) FROM contact_identities
		WHERE workspace_id = $1 AND value LIKE '+4915%'`, env.Workspace).Scan(&contacts, &phones); err != nil {
		t.Fatal(err)
	}
	if contacts == 0 || contacts != phones {
		t.Errorf("%d new contacts for %d new phones", contacts, phones)
	}

	// A second run on the same database numbers its calls on: the new
	// phones of its first call are new again.
	first, err := firstUpsertCall(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	s := &upsertStream{arm: 1, changed: make([]upsertContact, 1), unchanged: make([]upsertContact, 1)}
	s.calls.Store(first)
	var taken int
	vars := s.next()
	for _, it := range vars["input"].([]map[string]any)[:upsertNew] {
		phone := it["identifiers"].([]map[string]any)[0]["value"]
		var n int
		if err := env.Pool.QueryRow(ctx, "SELECT count(*) FROM contact_identities WHERE workspace_id = $1 AND value = $2",
			env.Workspace, phone).Scan(&n); err != nil {
			t.Fatal(err)
		}
		taken += n
	}
	if first == 0 || taken > 0 {
		t.Errorf("a second run would start at call %d, with %d of its new phones taken", first, taken)
	}
}
