package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
)

func TestSyncCommand(t *testing.T) {
	contacts := make([]wazzuptest.Contact, 120)
	for i := range contacts {
		contacts[i] = wazzuptest.Contact{ID: fmt.Sprintf("c%d", i), ResponsibleUserID: "u1", Name: fmt.Sprintf("N%d", i),
			ContactData: []wazzuptest.ContactData{{ChatType: "whatsapp", ChatID: fmt.Sprintf("7999%07d", i)}}}
	}
	fake := wazzuptest.NewServer(t, wazzuptest.Options{Contacts: contacts, Users: []wazzuptest.User{{ID: "u1", Name: "Agent"}}})
	secret := db.NewSecretKey()
	key, _ := db.ParseSecretKey(secret)
	sealer, err := db.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	d := dbtest.Open(t, nil)
	ctx, _, _ := dbtest.Workspace(t, d)
	conn, err := db.NewConnectionService(d, db.ConnectionConfig{Sealer: sealer, AllowPrivate: true}).CreateConnection(ctx,
		crmhub.ConnectionInput{Kind: crmhub.ConnectorWazzup, Name: "w", BaseURL: fake.URL, APIKey: fake.APIKey(),
			Direction: crmhub.SyncPull, Entities: []crmhub.SyncEntity{crmhub.SyncUsers, crmhub.SyncContacts}})
	if err != nil {
		t.Fatal(err)
	}
	getenv := env(t, map[string]string{"CRMHUB_SECRET_KEY": secret, "CRMHUB_CONNECTOR_ALLOW_PRIVATE": "true"})

	code, stdout, stderr := run(t, getenv, "sync", "--connection", conn.GlobalID(), "--full")
	if code != 0 {
		t.Fatalf("sync: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"SUCCEEDED", "FULL", "fetched    121", "created    121"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "[##############################] 120/120") {
		t.Errorf("no finished progress bar on stderr:\n%q", stderr)
	}

	code, stdout, stderr = run(t, getenv, "sync", "--connection", conn.GlobalID(), "--json")
	var got struct {
		Status string
		Mode   string
		Stats  crmhub.SyncStats
	}
	if err := json.Unmarshal([]byte(stdout), &got); code != 0 || err != nil {
		t.Fatalf("sync --json: exit %d %v\n%s\n%s", code, err, stdout, stderr)
	}
	if got.Status != "SUCCEEDED" || got.Mode != "INCREMENTAL" || got.Stats != (crmhub.SyncStats{Fetched: 121, Unchanged: 121}) {
		t.Fatalf("second run: %+v", got)
	}

	// A dry run lists what it would do and changes nothing.
	fake.PutContacts(wazzuptest.Contact{ID: "new", ResponsibleUserID: "u1", Name: "New",
		ContactData: []wazzuptest.ContactData{{ChatType: "telegram", Username: "newbie"}}})
	code, stdout, _ = run(t, getenv, "sync", "--connection", conn.GlobalID(), "--dry-run")
	if code != 0 || !strings.Contains(stdout, "Would change:") || !strings.Contains(stdout, "CONTACTS  CREATE  new") {
		t.Fatalf("dry run: exit %d\n%s", code, stdout)
	}
	if n, _ := db.NewContactService(d).CountContacts(ctx, crmhub.ContactFilter{}); n != 120 {
		t.Fatalf("the dry run wrote: %d contacts", n)
	}

	// Mistakes: no flag, a malformed id, an unknown connection, no key.
	if code, _, _ := run(t, getenv, "sync"); code != 2 {
		t.Errorf("sync without --connection: exit %d", code)
	}
	if code, _, stderr := run(t, getenv, "sync", "--connection", "ct_nope"); code != 1 || !strings.Contains(stderr, "no connection") {
		t.Errorf("malformed id: exit %d %s", code, stderr)
	}
	if code, _, stderr := run(t, getenv, "sync", "--connection", crmhub.GlobalID(crmhub.KindConnection, uuid.New())); code != 1 ||
		!strings.Contains(stderr, "no connection") {
		t.Errorf("unknown connection: exit %d %s", code, stderr)
	}
	if code, _, stderr := run(t, env(t, nil), "sync", "--connection", conn.GlobalID()); code != 1 || !strings.Contains(stderr, "CRMHUB_SECRET_KEY") {
		t.Errorf("no secret key: exit %d %s", code, stderr)
	}
}
