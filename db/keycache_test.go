package db_test

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/jackc/pgx/v5"
)

// cachedAuth is an AuthService with the key cache on, as `crmhub serve`
// runs it: its own hub (one per instance) listening before it returns.
// stop ends the hub's listener.
func cachedAuth(t *testing.T, d *db.DB) (auth *db.AuthService, stop func()) {
	t.Helper()
	auth = db.NewAuthService(d)
	auth.TestSignals.UseRecorded.Init()
	auth.TestSignals.KeyNotified.Init()
	h := db.NewHub(d, db.HubConfig{})
	auth.UseHub(h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	select {
	case <-h.Listening():
	case <-time.After(10 * time.Second):
		t.Fatal("hub did not start listening")
	}
	return auth, stop
}

// roundTrips is what authenticating once costs in round trips; it fails
// the test if the key is refused.
func roundTrips(t *testing.T, d *db.DB, auth *db.AuthService, key string) uint64 {
	t.Helper()
	before := d.QueryStats().RoundTrips
	if _, err := auth.Authenticate(context.Background(), key); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return d.QueryStats().RoundTrips - before
}

// revokeBehindTheService sets revoked_at with plain SQL as the owner: no
// notification, so only a read of the database can see it.
func revokeBehindTheService(t *testing.T, ws crmhub.Workspace, key *crmhub.APIKey) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "UPDATE api_keys SET revoked_at = now() WHERE workspace_id = $1 AND id = $2",
		ws.ID, key.ID); err != nil {
		t.Fatal(err)
	}
}

func TestKeyCacheServesWithoutRoundTrips(t *testing.T) {
	d := dbtest.Open(t, nil)
	auth, _ := cachedAuth(t, d)
	_, _, secret := dbtest.Workspace(t, d)
	roundTrips(t, d, auth, secret) // fills the cache (and records the use)
	dbtest.Await(t, &auth.TestSignals.UseRecorded, "the key's use is recorded")
	for range 3 {
		if n := roundTrips(t, d, auth, secret); n != 0 {
			t.Fatalf("a cached key cost %d round trips", n)
		}
	}
	// The secret is still checked against the cached hash.
	tampered := []byte(secret)
	tampered[len(tampered)-2] ^= 1
	if _, err := auth.Authenticate(context.Background(), string(tampered)); crmhub.ErrorCode(err) != crmhub.EUNAUTHENTICATED {
		t.Fatalf("a wrong secret for a cached key: %v", err)
	}
}

// Two instances over one database: a key revoked through one is refused by
// the other once the notification arrives, without waiting for the TTL.
func TestRevocationReachesEveryInstance(t *testing.T) {
	d1 := dbtest.Open(t, nil)
	d2 := dbtest.Open(t, nil)
	one, _ := cachedAuth(t, d1)
	two, _ := cachedAuth(t, d2)
	ctx, _, _ := dbtest.Workspace(t, d1)
	key, secret, err := one.CreateAPIKey(ctx, "ci", []crmhub.Scope{crmhub.ScopeContactsRead})
	if err != nil {
		t.Fatal(err)
	}
	roundTrips(t, d1, one, secret)
	// Once one has written the use, two reads it with the key and writes
	// none of its own, which would cost round trips in the background.
	dbtest.Await(t, &one.TestSignals.UseRecorded, "instance one records the key's use")
	roundTrips(t, d2, two, secret)
	if n := roundTrips(t, d2, two, secret); n != 0 {
		t.Fatalf("instance two does not cache: %d round trips", n)
	}
	if _, err := one.RevokeAPIKey(ctx, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := one.Authenticate(context.Background(), secret); crmhub.ErrorCode(err) != crmhub.EUNAUTHENTICATED {
		t.Fatalf("the revoking instance still accepts the key: %v", err)
	}
	// Each notification instance two handles may be the revocation (other
	// tests revoke keys too); 2 s is far below the TTL.
	for deadline := time.Now().Add(2 * time.Second); ; {
		_, err := two.Authenticate(context.Background(), secret)
		if crmhub.ErrorCode(err) == crmhub.EUNAUTHENTICATED {
			break
		}
		if !two.TestSignals.KeyNotified.Wait(time.Until(deadline)) {
			t.Fatalf("instance two still accepts the revoked key: %v", err)
		}
	}
}

// Without a listener nothing tells the cache about revocations, so it must
// not be used: every request reads the key, and a revocation made behind
// the service's back (no notification) is seen at once.
func TestKeyCacheNotTrustedWithoutListener(t *testing.T) {
	d := dbtest.Open(t, nil)
	auth, stop := cachedAuth(t, d)
	ctx, ws, _ := dbtest.Workspace(t, d)
	key, secret, err := auth.CreateAPIKey(ctx, "ci", []crmhub.Scope{crmhub.ScopeContactsRead})
	if err != nil {
		t.Fatal(err)
	}
	roundTrips(t, d, auth, secret)
	dbtest.Await(t, &auth.TestSignals.UseRecorded, "the key's use is recorded")
	if n := roundTrips(t, d, auth, secret); n != 0 {
		t.Fatalf("cached key: %d round trips", n)
	}
	stop()
	if n := roundTrips(t, d, auth, secret); n == 0 {
		t.Fatal("the cache was used with the listener down")
	}
	revokeBehindTheService(t, *ws, key)
	if _, err := auth.Authenticate(context.Background(), secret); crmhub.ErrorCode(err) != crmhub.EUNAUTHENTICATED {
		t.Fatalf("with the listener down a silently revoked key still passes: %v", err)
	}
	// A service that never had a hub (the CLI) never caches.
	plain := db.NewAuthService(d)
	_, _, admin := dbtest.Workspace(t, d)
	roundTrips(t, d, plain, admin)
	if n := roundTrips(t, d, plain, admin); n == 0 {
		t.Fatal("a service without a hub cached a key")
	}
}

// A cached key authenticates only in its own workspace: a token that
// pairs the key's id and secret with another workspace is refused.
func TestKeyCacheTenantIsolation(t *testing.T) {
	d := dbtest.Open(t, nil)
	auth, _ := cachedAuth(t, d)
	_, wsA, secretA := dbtest.Workspace(t, d)
	_, wsB, _ := dbtest.Workspace(t, d)
	p, err := auth.Authenticate(context.Background(), secretA)
	if err != nil || p.WorkspaceID != wsA.ID {
		t.Fatalf("key A: %+v %v", p, err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(secretA[len("crm_"):])
	if err != nil || len(raw) != 64 {
		t.Fatalf("key format: %v", err)
	}
	copy(raw[16:32], wsB.ID[:])
	forged := "crm_" + base64.RawURLEncoding.EncodeToString(raw)
	for range 2 {
		if p, err := auth.Authenticate(context.Background(), forged); crmhub.ErrorCode(err) != crmhub.EUNAUTHENTICATED {
			t.Fatalf("key A presented for workspace B: principal %+v, err %v", p, err)
		}
	}
}
