package resolver_test

import (
	"strings"
	"testing"
)

type fieldSource struct{ Field, Source, At string }

// keyID is the global id of the client's own API key.
func (c *client) keyID() string {
	c.t.Helper()
	var out struct {
		Viewer struct{ APIKey struct{ ID string } }
	}
	c.do(`{ viewer { apiKey { id } } }`, nil, &out)
	return out.Viewer.APIKey.ID
}

func wantFieldSources(t *testing.T, what string, got []fieldSource, want ...string) {
	t.Helper()
	var pairs []string
	for _, s := range got {
		if s.At == "" {
			t.Fatalf("%s: %s has no time", what, s.Field)
		}
		pairs = append(pairs, s.Field+"="+s.Source)
	}
	if strings.Join(pairs, " ") != strings.Join(want, " ") {
		t.Fatalf("%s: fieldSources %v, want %v", what, pairs, want)
	}
}

// TestFieldSourcesThroughTheAPI: contacts and deals written through the
// API name the writing key, field by field, sorted; another workspace
// sees neither the records nor their provenance.
func TestFieldSourcesThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	key := c.keyID()
	if !strings.HasPrefix(key, "key_") {
		t.Fatalf("key id %q", key)
	}
	var created struct {
		CreateContact struct {
			ID           string
			FieldSources []fieldSource
		}
	}
	c.do(`mutation { createContact(input: {name: "Ann", identifiers: [{type: PHONE, value: "+447700900123"}],
		customFields: {tier: "gold"}, tags: ["vip"]}) { id fieldSources { field source at } } }`, nil, &created)
	wantFieldSources(t, "created contact", created.CreateContact.FieldSources, "customFields.tier="+key, "name="+key)

	var deal struct {
		UpsertDeals struct {
			Results []struct {
				Deal struct{ FieldSources []fieldSource }
			}
		}
	}
	c.do(`mutation { upsertDeals(input: [{name: "Fleet", amount: 10, currency: "EUR"}]) {
		results { deal { fieldSources { field source at } } } } }`, nil, &deal)
	wantFieldSources(t, "created deal", deal.UpsertDeals.Results[0].Deal.FieldSources,
		"amount="+key, "currency="+key, "name="+key)

	other := e.workspace()
	var read struct {
		Contact *struct{ FieldSources []fieldSource }
	}
	other.do(`query($id: ID!) { contact(id: $id) { fieldSources { field source at } } }`,
		map[string]any{"id": created.CreateContact.ID}, &read)
	if read.Contact != nil {
		t.Fatalf("another workspace read the contact's provenance: %+v", read.Contact)
	}
}

// TestConflictPolicyOnConnections: NEWEST_WINS by default, set on
// creation, changed by an update, listed on runs' fieldConflicts (empty
// before a run decides anything); an unknown policy is refused.
func TestConflictPolicyOnConnections(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	var out struct {
		CreateConnection struct{ ID, ConflictPolicy string }
	}
	c.do(`mutation($in: ConnectionInput!) { createConnection(input: $in) { id conflictPolicy } }`,
		map[string]any{"in": connInput("Default", "k")}, &out)
	if out.CreateConnection.ConflictPolicy != "NEWEST_WINS" {
		t.Fatalf("default policy %q", out.CreateConnection.ConflictPolicy)
	}
	c.do(`mutation($in: ConnectionInput!) { createConnection(input: $in) { id conflictPolicy } }`,
		map[string]any{"in": connInput("Hub first", "k", "conflictPolicy", "HUB_WINS")}, &out)
	if out.CreateConnection.ConflictPolicy != "HUB_WINS" {
		t.Fatalf("created policy %q", out.CreateConnection.ConflictPolicy)
	}
	id := out.CreateConnection.ID
	var upd struct {
		UpdateConnection struct{ ConflictPolicy string }
	}
	c.do(`mutation($id: ID!) { updateConnection(id: $id, input: {conflictPolicy: REMOTE_WINS}) { conflictPolicy } }`,
		map[string]any{"id": id}, &upd)
	var read struct {
		Connection struct{ ConflictPolicy string }
	}
	c.do(`query($id: ID!) { connection(id: $id) { conflictPolicy } }`, map[string]any{"id": id}, &read)
	if upd.UpdateConnection.ConflictPolicy != "REMOTE_WINS" || read.Connection.ConflictPolicy != "REMOTE_WINS" {
		t.Fatalf("after the update %q, read back %q", upd.UpdateConnection.ConflictPolicy, read.Connection.ConflictPolicy)
	}
	resp := c.post(`mutation($id: ID!) { updateConnection(id: $id, input: {conflictPolicy: OLDEST_WINS}) { id } }`,
		map[string]any{"id": id})
	if len(resp.Errors) == 0 {
		t.Fatal("an unknown policy was taken")
	}
	var run struct {
		RunSync struct{ FieldConflicts []map[string]any }
	}
	c.do(`mutation($id: ID!) { runSync(connectionId: $id) { fieldConflicts { recordId field hubValue remoteValue winner } } }`,
		map[string]any{"id": id}, &run)
	if run.RunSync.FieldConflicts == nil || len(run.RunSync.FieldConflicts) != 0 {
		t.Fatalf("a queued run's fieldConflicts %v, want []", run.RunSync.FieldConflicts)
	}
}
