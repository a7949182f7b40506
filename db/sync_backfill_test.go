package db_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
)

// makeContacts creates n contacts in the workspace of ctx and returns
// their ids in id order.
func makeContacts(t *testing.T, ctx context.Context, contacts *db.ContactService, prefix string, n int) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	for i := range n {
		c, err := contacts.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{
			{Type: crmhub.IdentityEmail, Value: fmt.Sprintf("%s%d@example.com", prefix, i)}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return ids
}

// TestBackfillPage: a backfill reads its workspace's records in id order,
// page by page, and finds due those without a link to the connection and
// those changed in the hub after their link was saved; another
// workspace's records never appear.
func TestBackfillPage(t *testing.T) {
	d := dbtest.Open(t, nil)
	conns, syncs, contacts := newConnections(d, false), newSyncs(t, d), db.NewContactService(d)
	ctxA, wsA, _ := dbtest.Workspace(t, d)
	ctxB, wsB, _ := dbtest.Workspace(t, d)
	a := makeContacts(t, ctxA, contacts, "a", 3)
	makeContacts(t, ctxB, contacts, "b", 2)
	conn, err := conns.CreateConnection(ctxA, wazzupInput("Sales", "k"))
	if err != nil {
		t.Fatal(err)
	}
	page := func(ws uuid.UUID, after uuid.UUID, limit int) ([]uuid.UUID, uuid.UUID, int) {
		t.Helper()
		due, last, n, err := syncs.BackfillPage(ctxA, ws, conn.ID, crmhub.SyncContacts, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		return due, last, n
	}

	due, last, n := page(wsA.ID, uuid.Nil, 2)
	if n != 2 || last != a[1] || !slices.Equal(due, a[:2]) {
		t.Fatalf("first page: due %v, last %v, read %d; want %v", due, last, n, a[:2])
	}
	if due, last, n = page(wsA.ID, last, 2); n != 1 || last != a[2] || !slices.Equal(due, a[2:]) {
		t.Fatalf("second page: due %v, last %v, read %d", due, last, n)
	}
	if _, _, n = page(wsA.ID, last, 2); n != 0 {
		t.Fatalf("past the end: read %d", n)
	}

	// A linked record is not due until it changes in the hub.
	if err := syncs.SaveLinks(ctxA, wsA.ID, conn.ID, crmhub.SyncContacts,
		[]crmhub.SyncLink{{ExternalID: "r0", LocalID: a[0], Fingerprint: []byte{1}}}, nil); err != nil {
		t.Fatal(err)
	}
	if due, _, _ = page(wsA.ID, uuid.Nil, 10); !slices.Equal(due, a[1:]) {
		t.Fatalf("after linking a[0]: due %v, want %v", due, a[1:])
	}
	name := "changed"
	if _, err := contacts.UpdateContact(ctxA, a[0], crmhub.ContactPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if due, _, _ = page(wsA.ID, uuid.Nil, 10); !slices.Equal(due, a) {
		t.Fatalf("after changing a[0]: due %v, want %v", due, a)
	}

	// Workspace B's store sees B's records only, and none of A's.
	if due, _, n = page(wsB.ID, uuid.Nil, 10); n != 2 || slices.ContainsFunc(due, func(id uuid.UUID) bool { return slices.Contains(a, id) }) {
		t.Fatalf("workspace B's page: %v (%d read)", due, n)
	}

	if ok, err := syncs.HasSucceeded(ctxA, wsA.ID, conn.ID); err != nil || ok {
		t.Fatalf("HasSucceeded of a new connection = %v, %v", ok, err)
	}
	if pos, err := syncs.EventPosition(ctxA, wsA.ID); err != nil || pos < 4 {
		t.Fatalf("EventPosition = %d, %v; want at least the 4 events of the writes", pos, err)
	}
}
