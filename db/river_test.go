package db_test

import (
	"context"
	"testing"

	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

// TestJobCounts: the counts name the four states of jobs that wait or run,
// and a delivery queued while no River works its queue is available.
func TestJobCounts(t *testing.T) {
	d := dbtest.Open(t, nil)
	e := newWebhooks(t, d, db.WebhookConfig{AllowPrivate: true}) // not run: its job waits
	ctx, _, _ := dbtest.Workspace(t, d)
	ep := e.hook(t, ctx, newReceiver(t, nil), contactCreated)
	if _, err := e.svc.SendTestWebhook(ctx, ep.ID); err != nil {
		t.Fatal(err)
	}
	counts, err := d.JobCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 4 || counts["available"] < 1 {
		t.Fatalf("job counts %v, want the four states with at least one available job", counts)
	}
	for _, st := range []string{"scheduled", "retryable", "running"} {
		if _, ok := counts[st]; !ok {
			t.Errorf("no count of %s jobs in %v", st, counts)
		}
	}
}
