package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/internal/proctest"
)

// webClientDir is the TypeScript client example.
var webClientDir = filepath.Join("..", "..", "examples", "web-client")

// webClientStep is one line the example prints: a step and what it saw.
type webClientStep struct {
	Step    string
	Status  string
	Contact struct{ ID, Name string }
	Events  []string
	Type    string
	// SubjectID is the subscription event's contact.
	SubjectID string `json:"subjectId"`
	// DocumentTextsSent counts the documents whose text went over HTTP
	// because the server did not know their hash.
	DocumentTextsSent int `json:"documentTextsSent"`
}

// checkWebClient installs the example from its lock file and generates its
// typed documents from this tree's schema.graphqls (codegen checks every
// operation against it), then type checks it with tsc --noEmit.
func checkWebClient(t *testing.T) {
	t.Helper()
	npmCI(t, webClientDir)
	for _, args := range [][]string{{"node_modules/.bin/graphql-codegen"}, {"node_modules/.bin/tsc", "--noEmit"}} {
		if out, err := runNode(t, webClientDir, nil, args...); err != nil {
			t.Fatalf("examples/web-client: %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// runWebClient runs the example against s and checks its walk: the
// mutation creates a contact, the query reads it with its contact.created
// event, and the renaming arrives through the subscription. It returns the
// last step, which counts the document texts sent.
func runWebClient(t *testing.T, s *server, env ...string) webClientStep {
	t.Helper()
	env = append(env, "CRMHUB_URL="+s.Base+"/graphql", "CRMHUB_API_KEY="+s.Key)
	out, err := runNode(t, webClientDir, env, "node_modules/.bin/tsx", "src/main.ts")
	if err != nil {
		t.Fatalf("examples/web-client: %v\n%s\nserver log:\n%s", err, out, s.Stderr)
	}
	var steps []webClientStep
	for line := range strings.Lines(strings.TrimSpace(out)) {
		var st webClientStep
		if err := json.Unmarshal([]byte(line), &st); err != nil {
			t.Fatalf("examples/web-client printed %q: %v\n%s", line, err, out)
		}
		steps = append(steps, st)
	}
	if len(steps) != 5 {
		t.Fatalf("examples/web-client: want 5 steps:\n%s", out)
	}
	created, read, renamed, event := steps[0], steps[1], steps[2], steps[3]
	id := created.Contact.ID
	switch {
	case created.Step != "mutation" || created.Status != "CREATED" || !strings.HasPrefix(id, "ct_"):
		t.Fatalf("the mutation: %+v", created)
	case read.Step != "query" || read.Contact.ID != id || strings.Join(read.Events, ",") != "contact.created":
		t.Fatalf("the query: %+v", read)
	case renamed.Step != "mutation" || renamed.Status != "UPDATED" || renamed.Contact.Name != "Ada King":
		t.Fatalf("the second mutation: %+v", renamed)
	case event.Step != "subscription" || event.Type != "contact.updated" || event.SubjectID != id:
		t.Fatalf("the subscription: %+v", event)
	case steps[4].Step != "done":
		t.Fatalf("the last step: %+v", steps[4])
	}
	return steps[4]
}

// TestWebClient: examples/web-client type checks against this tree's
// schema and runs against the real binary. With automatic persisted
// queries its first run sends the texts of its two HTTP documents once and
// the second run only their hashes; against a server whose allow-list
// (CRMHUB_PERSISTED_QUERIES) is codegen's persisted-documents.json it runs
// by hash alone, and a document not in the list is FORBIDDEN.
func TestWebClient(t *testing.T) {
	checkWebClient(t)
	dir := t.TempDir()
	bin := build(t, dir)
	dbURL := "DATABASE_URL=" + dbtest.URL(t)

	apq := start(t, bin, filepath.Join(dir, "dev-key"), []string{dbURL})
	if got := runWebClient(t, apq).DocumentTextsSent; got != 2 {
		t.Errorf("first run against a fresh server sent %d document texts, want 2", got)
	}
	if got := runWebClient(t, apq).DocumentTextsSent; got != 0 {
		t.Errorf("second run sent %d document texts, want 0 (hashes only)", got)
	}
	apq.Kill(t)

	manifest, err := filepath.Abs(filepath.Join(webClientDir, "src", "gql", "persisted-documents.json"))
	if err != nil {
		t.Fatal(err)
	}
	allow := start(t, bin, filepath.Join(dir, "dev-key"), []string{dbURL, "CRMHUB_PERSISTED_QUERIES=" + manifest})
	if got := runWebClient(t, allow, "CRMHUB_PERSISTED_ONLY=true").DocumentTextsSent; got != 0 {
		t.Errorf("against the allow-list the client sent %d document texts", got)
	}
	if code := errorCode(t, allow, `{ viewer { scopes } }`); code != "FORBIDDEN" {
		t.Errorf("a document outside the allow-list: code %q, want FORBIDDEN", code)
	}
}

// TestWebClientBreaksOnSchemaChange: a schema without a field the example
// uses fails its codegen, so a schema change that breaks clients fails the
// build.
func TestWebClientBreaksOnSchemaChange(t *testing.T) {
	npmCI(t, webClientDir)
	schema, err := os.ReadFile(filepath.Join("..", "..", "schema.graphqls"))
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(schema), "\n  upsertContacts(", "\n  upsertContactsRenamed(", 1)
	if broken == string(schema) {
		t.Fatal("schema.graphqls has no Mutation.upsertContacts to rename")
	}
	path := filepath.Join(t.TempDir(), "schema.graphqls")
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runNode(t, webClientDir, []string{"CRMHUB_SCHEMA=" + path}, "node_modules/.bin/graphql-codegen")
	if err == nil || !strings.Contains(out, "upsertContacts") {
		t.Fatalf("codegen against a schema without upsertContacts: %v\n%s", err, out)
	}
}

// errorCode posts a query to s and returns the code of its first error.
func errorCode(t *testing.T, s *server, query string) string {
	t.Helper()
	status, b := proctest.Post(t, s.Base, s.Key, query, nil)
	var r struct {
		Errors []struct {
			Extensions struct{ Code string }
		}
	}
	if err := json.Unmarshal(b, &r); err != nil || len(r.Errors) == 0 {
		t.Fatalf("%s: %d %s", query, status, b)
	}
	return r.Errors[0].Extensions.Code
}
