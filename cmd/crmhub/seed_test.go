package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

// small is a seed small enough for a test.
var small = []string{"--contacts", "60", "--deals", "10", "--conversations", "20", "--messages-per-conversation", "3", "--users", "4"}

func TestSeedNewWorkspaceJSON(t *testing.T) {
	t.Parallel()
	getenv := env(t, nil)
	out := mustRun(t, getenv, append([]string{"seed", "--new-workspace", "Bench", "--seed", "9", "--json", "--no-migrate"}, small...)...)
	var got seedJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not the summary: %v\n%s", err, out)
	}
	if got.APIKey == nil || got.Seed != 9 || got.Users != 4 || got.Contacts != 60 || got.Deals != 10 ||
		got.Conversations != 20 || got.Messages != 60 || got.Identities < 120 || got.DealContacts < 10 || got.Seconds <= 0 {
		t.Errorf("summary = %+v", got)
	}

	// The printed key is the workspace's admin key and sees the data.
	d := dbtest.Open(t, nil)
	p, err := db.NewAuthService(d).Authenticate(t.Context(), *got.APIKey)
	if err != nil || crmhub.GlobalID(crmhub.KindWorkspace, p.WorkspaceID) != got.WorkspaceID {
		t.Fatalf("key: %+v, %v; want an admin of %s", p, err, got.WorkspaceID)
	}
	ctx := crmhub.NewContext(t.Context(), p)
	if n, err := db.NewContactService(d).CountContacts(ctx, crmhub.ContactFilter{}); err != nil || n != 60 {
		t.Errorf("contacts: %d, %v; want 60", n, err)
	}

	// Seeding the same workspace again fails cleanly.
	code, out, errOut := run(t, getenv, append([]string{"seed", "--workspace", got.WorkspaceID}, small...)...)
	if code != 1 || out != "" || !strings.Contains(errOut, "empty workspace only") {
		t.Errorf("second seed: exit %d, stdout %q, stderr %q; want 1 and the refusal", code, out, errOut)
	}
}

func TestSeedExistingWorkspaceText(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, nil)
	_, ws, _ := dbtest.Workspace(t, d)
	out := mustRun(t, env(t, nil), append([]string{"seed", "--workspace", ws.GlobalID()}, small...)...)
	if !strings.HasPrefix(out, "Seeded "+ws.GlobalID()+" (seed 1) in ") || !strings.Contains(out, "60 contacts") ||
		!strings.Contains(out, "60 messages") || strings.Contains(out, "API key") {
		t.Errorf("output:\n%s", out)
	}
}

func TestSeedErrors(t *testing.T) {
	t.Parallel()
	getenv := env(t, nil)
	missing := crmhub.GlobalID(crmhub.KindWorkspace, [16]byte{1})
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"seed"}, 2, "give either --workspace or --new-workspace"},
		{[]string{"seed", "--workspace", missing, "--new-workspace", "x"}, 2, "give either --workspace or --new-workspace"},
		{[]string{"seed", "--workspace", missing, "--contacts", "-1"}, 2, "contacts must be between 0 and"},
		{[]string{"seed", "--workspace", missing, "--messages-per-conversation", "-3"}, 2, "messages-per-conversation must be between"},
		{[]string{"seed", "--workspace", missing, "--contacts", "0"}, 2, "need at least one contact"},
		{[]string{"seed", "--workspace", missing, "--seed", "-1"}, 2, "invalid value"},
		{[]string{"seed", "--workspace", missing, "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"seed", "--workspace", missing}, 1, "workspace not found"},
		{[]string{"seed", "--workspace", "acme"}, 1, `no workspace with id "acme"`},
	} {
		code, out, errOut := run(t, getenv, tt.args...)
		if code != tt.code || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("crmhub %s: exit %d, stdout %q, stderr %q; want %d and %q",
				strings.Join(tt.args, " "), code, out, errOut, tt.code, tt.want)
		}
	}
	if code, out, _ := run(t, getenv, "seed", "--help"); code != 0 || !strings.Contains(out, "--messages-per-conversation") {
		t.Errorf("seed --help: exit %d, stdout %q", code, out)
	}
}

// TestSeedScalesWithContacts: --contacts alone scales deals, conversations
// and users in the default dataset's proportion (200 contacts made 20,000
// deals and a million messages); a count given explicitly stays.
func TestSeedScalesWithContacts(t *testing.T) {
	t.Parallel()
	getenv := env(t, nil)
	out := mustRun(t, getenv, "seed", "--new-workspace", "Scaled", "--contacts", "200", "--messages-per-conversation", "2",
		"--users", "3", "--json", "--no-migrate")
	var got seedJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not the summary: %v\n%s", err, out)
	}
	if got.Contacts != 200 || got.Deals != 40 || got.Conversations != 100 || got.Messages != 200 || got.Users != 3 {
		t.Errorf("summary = %+v, want 200 contacts, 40 deals, 100 conversations of 2 messages, 3 users", got)
	}
}
