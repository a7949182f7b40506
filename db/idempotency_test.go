package db_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

// TestIdempotencyKeys: a claim runs once, its answer comes back for the
// same request, another request under the key is refused, a claim older
// than two minutes (its process died) may be taken over, and keys are
// pruned after a day.
func TestIdempotencyKeys(t *testing.T) {
	clock := dbtest.NewClock()
	d := dbtest.Open(t, clock)
	svc := db.NewIdempotencyService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	h1, h2 := []byte("request one"), []byte("request two")

	if got, err := svc.Claim(ctx, "k", h1); got != nil || err != nil {
		t.Fatalf("first claim: %v, %v", got, err)
	}
	if _, err := svc.Claim(ctx, "k", h1); crmhub.ErrorCode(err) != crmhub.ECONFLICT {
		t.Fatalf("claim while running: %v, want CONFLICT", err)
	}
	// The running claim of a dead process is taken over by the same
	// request, not by another one.
	clock.Advance(3 * time.Minute)
	if _, err := svc.Claim(ctx, "k", h2); crmhub.ErrorCode(err) != crmhub.EIDEMPOTENCYREUSED {
		t.Fatalf("another request on a stale claim: %v", err)
	}
	if got, err := svc.Claim(ctx, "k", h1); got != nil || err != nil {
		t.Fatalf("take over a stale claim: %v, %v", got, err)
	}
	answer := crmhub.StoredResponse{Status: http.StatusOK, ContentType: "application/json", Body: []byte(`{"data":{}}`)}
	if err := svc.Complete(ctx, "k", answer); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Claim(ctx, "k", h1)
	if err != nil || got == nil || got.Status != 200 || string(got.Body) != `{"data":{}}` || got.ContentType != "application/json" {
		t.Fatalf("replay: %+v, %v", got, err)
	}
	if _, err := svc.Claim(ctx, "k", h2); crmhub.ErrorCode(err) != crmhub.EIDEMPOTENCYREUSED {
		t.Fatalf("another request: %v", err)
	}
	// Released claims run again.
	if _, err := svc.Claim(ctx, "r", h1); err != nil {
		t.Fatal(err)
	}
	if err := svc.Release(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if got, err := svc.Claim(ctx, "r", h2); got != nil || err != nil {
		t.Fatalf("claim after release: %v, %v", got, err)
	}
	// After a day the keys are pruned, whatever the event retention.
	clock.Advance(crmhub.IdempotencyKeyTTL + time.Minute)
	if n, err := db.NewRetention(d, 0, time.Hour, nil).RunOnce(ctx); n != 2 || err != nil {
		t.Fatalf("pruned %d keys (%v), want 2", n, err)
	}
	if got, err := svc.Claim(ctx, "k", h2); got != nil || err != nil {
		t.Fatalf("claim after pruning: %v, %v", got, err)
	}
}
