package db_test

import (
	"context"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
)

// sourcesOf reads a contact's provenance as stored.
func sourcesOf(t *testing.T, svc *db.ContactService, ctx context.Context, id uuid.UUID) crmhub.FieldSources {
	t.Helper()
	cs, err := svc.ContactsByIDs(ctx, []uuid.UUID{id})
	if err != nil || cs[0] == nil {
		t.Fatalf("read contact: %v %v", cs, err)
	}
	return cs[0].FieldSources
}

// wantSources checks the source of each field named and that no other
// field has one.
func wantSources(t *testing.T, what string, got crmhub.FieldSources, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: field sources %v, want %v", what, got, want)
	}
	for f, src := range want {
		if got[f].Source != src || got[f].At.IsZero() {
			t.Fatalf("%s: %s has source %+v, want %s (all: %v)", what, f, got[f], src, got)
		}
	}
}

// TestFieldSourcesFollowWriters: an API key's create sets the provenance
// of every field it sets; a connection's later write takes over only the
// fields whose values it changed; a removed custom field loses its
// provenance; and recording it costs the write no round trip or
// statement.
func TestFieldSourcesFollowWriters(t *testing.T) {
	// The real clock: a test clock's past times would put these events in
	// the way of the package's retention test, which prunes all
	// workspaces.
	d := dbtest.Open(t, nil)
	svc := db.NewContactService(d)
	ctx, ws, _ := dbtest.Workspace(t, d)
	p := crmhub.FromContext(ctx)
	key := crmhub.GlobalID(crmhub.KindAPIKey, p.APIKeyID)

	c, err := svc.CreateContact(ctx, crmhub.ContactInput{Name: ptr("Ann"), Identifiers: []crmhub.Identifier{phone("+447700900001")},
		CustomFields: map[string]any{"tier": "gold", "city": "Leeds"}, Tags: []string{"vip"}})
	if err != nil {
		t.Fatal(err)
	}
	first := sourcesOf(t, svc, ctx, c.ID)
	wantSources(t, "created by a key", first, map[string]string{"name": key, "customFields.tier": key, "customFields.city": key})

	conn := uuid.New()
	asConn := crmhub.NewContext(ctx, &crmhub.Principal{WorkspaceID: ws.ID, ConnectionID: conn, Scopes: []crmhub.Scope{crmhub.ScopeAdmin}})
	counted, stats := db.CountQueries(asConn)
	if _, err := svc.UpdateContact(counted, c.ID, crmhub.ContactPatch{Name: ptr("Ann"),
		CustomFields: map[string]any{"tier": "platinum", "city": nil}}); err != nil {
		t.Fatal(err)
	}
	withSources := stats()
	got := sourcesOf(t, svc, ctx, c.ID)
	connID := crmhub.GlobalID(crmhub.KindConnection, conn)
	wantSources(t, "after the connection's write", got, map[string]string{"name": key, "customFields.tier": connID})
	if !got["name"].At.Equal(first["name"].At) || !got["customFields.tier"].At.After(first["customFields.tier"].At) {
		t.Fatalf("times %v after %v: the unchanged name must keep its time, the new tier get a later one", got, first)
	}

	// The same write path without a tracked field (uri has no
	// provenance) costs exactly as much.
	counted, stats = db.CountQueries(asConn)
	if _, err := svc.UpdateContact(counted, c.ID, crmhub.ContactPatch{URI: ptr("https://example.com/ann")}); err != nil {
		t.Fatal(err)
	}
	if without := stats(); withSources != without || withSources.RoundTrips != 2 {
		t.Fatalf("an update recording provenance cost %+v, one without %+v; want equal, 2 round trips", withSources, without)
	}
}

// TestMergeCarriesFieldSources: the values a merge carries from a source
// contact to the target are the merge's; the target's own keep theirs.
func TestMergeCarriesFieldSources(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	p := crmhub.FromContext(ctx)
	key := crmhub.GlobalID(crmhub.KindAPIKey, p.APIKeyID)
	target, err := svc.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{phone("+447700900002")},
		CustomFields: map[string]any{"tier": "gold"}})
	if err != nil {
		t.Fatal(err)
	}
	source, err := svc.CreateContact(ctx, crmhub.ContactInput{Name: ptr("Bob"), Identifiers: []crmhub.Identifier{phone("+447700900003")},
		CustomFields: map[string]any{"tier": "silver", "city": "York"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.MergeContacts(ctx, target.ID, []uuid.UUID{source.ID}, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Contact.Name == nil || *res.Contact.Name != "Bob" {
		t.Fatalf("merged contact %+v", res.Contact)
	}
	wantSources(t, "after the merge", sourcesOf(t, svc, ctx, target.ID),
		map[string]string{"name": crmhub.SourceMerge, "customFields.city": crmhub.SourceMerge, "customFields.tier": key})
}

// TestDealFieldSources: a deal's fields get the writer's source, and a
// later write by a connection takes over only what it changed.
func TestDealFieldSources(t *testing.T) {
	d := dbtest.Open(t, nil)
	deals := db.NewDealService(d)
	ctx, ws, _ := dbtest.Workspace(t, d)
	p := crmhub.FromContext(ctx)
	key := crmhub.GlobalID(crmhub.KindAPIKey, p.APIKeyID)
	won := crmhub.DealWon
	res, err := deals.UpsertDeals(ctx, []crmhub.DealUpsertInput{{Name: ptr("Fleet"), Amount: ptr(100.0), Currency: ptr("usd"),
		Stage: ptr("proposal")}})
	if err != nil || res[0].Status != crmhub.UpsertCreated {
		t.Fatalf("create deal %+v %v", res, err)
	}
	id := res[0].Deal.ID
	wantSources(t, "created by a key", res[0].Deal.FieldSources,
		map[string]string{"name": key, "amount": key, "currency": key, "stage": key})
	conn := uuid.New()
	asConn := crmhub.NewContext(ctx, &crmhub.Principal{WorkspaceID: ws.ID, ConnectionID: conn, Scopes: []crmhub.Scope{crmhub.ScopeAdmin}})
	if _, err := deals.UpsertDeals(asConn, []crmhub.DealUpsertInput{{ID: &id, Name: ptr("Fleet"), Status: &won, Amount: ptr(120.0)}}); err != nil {
		t.Fatal(err)
	}
	ds, err := deals.DealsByIDs(ctx, []uuid.UUID{id})
	if err != nil {
		t.Fatal(err)
	}
	connID := crmhub.GlobalID(crmhub.KindConnection, conn)
	wantSources(t, "after the connection's write", ds[0].FieldSources,
		map[string]string{"name": key, "amount": connID, "currency": key, "stage": key, "status": connID})
}
