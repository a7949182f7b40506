package db_test

import (
	"context"
	"strings"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// TestOpenPooled: with a session URL apart, the main pool may sit behind a
// transaction pooler. It then runs as its login role (no SET ROLE, which a
// pooler would leave on one server connection), so Open refuses a login
// role that bypasses row-level security, and takes the service role. The
// session pool is the one LISTEN and River use.
func TestOpenPooled(t *testing.T) {
	ctx := context.Background()
	_, err := db.Open(ctx, db.Config{URL: dbtest.URL(t), SessionURL: dbtest.ServiceURL(t)})
	if err == nil || !strings.Contains(err.Error(), "not a superuser") {
		t.Fatalf("a superuser behind the pooler: %v, want a refusal", err)
	}
	d, err := db.Open(ctx, db.Config{URL: dbtest.ServiceURL(t) + "&application_name=pooled", SessionURL: dbtest.ServiceURL(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Session == d.Pool {
		t.Fatal("one pool for both URLs")
	}
	if got := d.Pool.Config().ConnConfig.DefaultQueryExecMode; got != pgx.QueryExecModeExec {
		t.Errorf("pooled exec mode %v, want QueryExecModeExec (no statement kept across transactions)", got)
	}
	var user string
	if err := d.Pool.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user == db.AppRole {
		t.Errorf("pooled connection runs as %q (%v); want the login role, not a SET ROLE", user, err)
	}
	if err := d.Session.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != db.AppRole {
		t.Errorf("session connection runs as %q (%v), want %s", user, err, db.AppRole)
	}
	// Writes and reads work on it, and row-level security holds there.
	contacts := db.NewContactService(d)
	mine, _, _ := dbtest.Workspace(t, d)
	other, _, _ := dbtest.Workspace(t, d)
	c, err := contacts.CreateContact(mine, crmhub.ContactInput{Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityEmail, Value: "pooled@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := contacts.Contact(other, c.ID); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("another workspace reads the contact: %v", err)
	}
	// The reads that send arguments with pgx (uuid arrays, times, text)
	// work without described statements too.
	if got, err := contacts.ContactsByIDs(mine, []uuid.UUID{c.ID}); err != nil || got[0] == nil || got[0].ID != c.ID {
		t.Errorf("contacts by id: %v %v", got, err)
	}
	if got, err := contacts.ContactsByIDs(other, []uuid.UUID{c.ID}); err != nil || got[0] != nil {
		t.Errorf("another workspace reads the contact by id: %v %v", got, err)
	}
	if got, err := contacts.IdentitiesByContact(mine, []uuid.UUID{c.ID}); err != nil || len(got[c.ID]) != 1 {
		t.Errorf("identities by contact: %v %v", got, err)
	}
	deals := db.NewDealService(d)
	if _, err := deals.UpsertDeals(mine, []crmhub.DealUpsertInput{{Name: ptr("a"), ContactIDs: &[]uuid.UUID{c.ID}},
		{Name: ptr("b"), ContactIDs: &[]uuid.UUID{c.ID}}}); err != nil {
		t.Fatal(err)
	}
	open := crmhub.DealFilter{Status: ptr(crmhub.DealOpen), ContactID: &c.ID}
	first, err := deals.Deals(mine, open, 1, "")
	if err != nil || len(first.Edges) != 1 || first.PageInfo.EndCursor == nil {
		t.Fatalf("first deal: %+v %v", first, err)
	}
	second, err := deals.Deals(mine, open, 1, *first.PageInfo.EndCursor)
	if err != nil || len(second.Edges) != 1 || second.Edges[0].Node.ID == first.Edges[0].Node.ID {
		t.Errorf("second deal: %+v %v", second, err)
	}
	if n, err := deals.CountDeals(mine, open); err != nil || n != 2 {
		t.Errorf("count: %d %v", n, err)
	}
}
