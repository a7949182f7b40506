package db_test

import (
	"context"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestAuthenticate(t *testing.T) {
	d := dbtest.Open(t, nil)
	auth := db.NewAuthService(d)
	auth.TestSignals.UseRecorded.Init()
	ctx, ws, secret := dbtest.Workspace(t, d)

	p, err := auth.Authenticate(context.Background(), secret)
	if err != nil {
		t.Fatalf("Authenticate(admin key): %v", err)
	}
	if p.WorkspaceID != ws.ID || !p.Can(crmhub.ScopeContactsWrite) {
		t.Fatalf("principal = %+v, want workspace %s with admin", p, ws.ID)
	}

	key, keySecret, err := auth.CreateAPIKey(ctx, "reader", []crmhub.Scope{crmhub.ScopeContactsRead})
	if err != nil {
		t.Fatal(err)
	}
	p, err = auth.Authenticate(context.Background(), keySecret)
	if err != nil || p.Can(crmhub.ScopeContactsWrite) || !p.Can(crmhub.ScopeContactsRead) {
		t.Fatalf("reader key: principal %+v, err %v", p, err)
	}
	// last_used_at is written in the background, off the request's path.
	for range 2 { // the admin key's use, then the reader key's
		dbtest.Await(t, &auth.TestSignals.UseRecorded, "the keys' uses are recorded")
	}
	if got, err := auth.APIKey(ctx, key.ID); err != nil || got.LastUsedAt == nil {
		t.Fatalf("last_used_at not recorded: %+v %v", got, err)
	}

	if _, err := auth.RevokeAPIKey(ctx, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Authenticate(context.Background(), keySecret); crmhub.ErrorCode(err) != crmhub.EUNAUTHENTICATED {
		t.Fatalf("revoked key: err = %v, want UNAUTHENTICATED", err)
	}

	tampered := []byte(secret)
	tampered[len(tampered)-1] ^= 1
	for _, bad := range []string{"", "crm_", "nonsense", string(tampered), secret + "x"} {
		if _, err := auth.Authenticate(context.Background(), bad); crmhub.ErrorCode(err) != crmhub.EUNAUTHENTICATED {
			t.Errorf("Authenticate(%q): err = %v, want UNAUTHENTICATED", bad, err)
		}
	}
}

func TestAPIKeyIsolation(t *testing.T) {
	d := dbtest.Open(t, nil)
	auth := db.NewAuthService(d)
	ctxA, _, _ := dbtest.Workspace(t, d)
	ctxB, _, _ := dbtest.Workspace(t, d)
	keyA, _, err := auth.CreateAPIKey(ctxA, "a", []crmhub.Scope{crmhub.ScopeContactsRead})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.RevokeAPIKey(ctxB, keyA.ID); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Fatalf("revoking another workspace's key: err = %v, want NOT_FOUND", err)
	}
	if _, err := auth.APIKey(ctxB, keyA.ID); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Fatalf("reading another workspace's key: err = %v, want NOT_FOUND", err)
	}
	keys, err := auth.APIKeys(ctxB)
	if err != nil || len(keys) != 1 {
		t.Fatalf("workspace B sees %d keys (%v), want only its own", len(keys), err)
	}
}
