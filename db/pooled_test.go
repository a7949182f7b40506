package db_test

import (
	"context"
	"strings"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
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
}
