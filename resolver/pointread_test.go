package resolver_test

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/crmhub/crmhub/db/dbtest"
)

// The point reads of issue 7 cost one round trip each once the key is in
// the cache: the tenant, the contact and its identities go in one batch,
// and the Contact fields take the identities from it.
func TestPointReadsTakeOneRoundTrip(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	res := c.upsert([]map[string]any{{"name": "Ada", "tags": []string{"vip"},
		"identifiers": []any{ident("EMAIL", "ada@example.com"), ident("PHONE", "+14155550101")}}})
	id := res[0].Contact.ID
	// The key's first use is written in the background; its round trips
	// must not fall among the ones counted below.
	dbtest.Await(t, &e.auth.TestSignals.UseRecorded, "the key's use is recorded")
	type point struct {
		ID, Name   string
		Email      *string
		Phone      *string
		Tags       []string
		Identities []identity
	}
	want := point{ID: id, Name: "Ada", Identities: []identity{{Type: "EMAIL", Value: "ada@example.com"}, {Type: "PHONE", Value: "+14155550101"}}}
	email, phone := "ada@example.com", "+14155550101"
	want.Email, want.Phone = &email, &phone

	for _, tc := range []struct {
		name, query string
		vars        map[string]any
	}{
		{"contact", `query($id: ID!) { contact(id: $id) { id name email phone identities { type value } } }`,
			map[string]any{"id": id}},
		{"resolveContact", `query($p: String!) { resolveContact(identifiers: [{type: PHONE, value: $p}]) {
			id name email phone identities { type value } } }`, map[string]any{"p": phone}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out map[string]*point
			c.do(tc.query, tc.vars, &out) // the key is now cached
			const n = 5
			before := e.db.QueryStats()
			for range n {
				out = nil
				c.do(tc.query, tc.vars, &out)
				if got := out[tc.name]; got == nil || !reflect.DeepEqual(*got, want) {
					t.Fatalf("%s = %+v, want %+v", tc.name, got, want)
				}
			}
			if rt := e.db.QueryStats().RoundTrips - before.RoundTrips; rt != n {
				t.Fatalf("%d requests took %d round trips, want %d", n, rt, n)
			}
		})
	}

	// Fields the batch does not cover still read, in the same operation.
	var out struct{ Contact point }
	c.do(`query($id: ID!) { contact(id: $id) { id name tags identities { type value } } }`, map[string]any{"id": id}, &out)
	if !reflect.DeepEqual(out.Contact.Tags, []string{"vip"}) || len(out.Contact.Identities) != 2 {
		t.Fatalf("contact with tags: %+v", out.Contact)
	}
	// No contact, no match, a conflict: answered as before.
	var none struct{ Contact, ResolveContact *point }
	c.do(`{ contact(id: "ct_00000000000000000000000000000000") { id }
		resolveContact(identifiers: [{type: PHONE, value: "+14155550199"}]) { id } }`, nil, &none)
	if none.Contact != nil || none.ResolveContact != nil {
		t.Fatalf("missing contact: %+v", none)
	}
	c.upsert([]map[string]any{{"name": "Bob", "identifiers": []any{ident("EMAIL", "bob@example.com")}}})
	c.fail(`{ resolveContact(identifiers: [{type: PHONE, value: "+14155550101"}, {type: EMAIL, value: "bob@example.com"}]) { id } }`,
		nil, "CONFLICT")
}

// Two instances of the API over one database, each with its key cache and
// listener: a key revoked through one stops working on the other without
// waiting for the cache's TTL.
func TestRevokedKeyStopsWorkingOnEveryInstance(t *testing.T) {
	one := newEnv(t)
	two := newEnvOn(t, one.db)
	admin := one.workspace()
	k := admin.createKey("ci", "contacts:read")
	user := two.client(k.Secret)
	user.count()
	user.count() // served from instance two's cache
	admin.do(`mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`, map[string]any{"id": k.APIKey.ID}, nil)
	if res := one.client(k.Secret).post(`{ contacts { totalCount } }`, nil); res.Status != http.StatusUnauthorized {
		t.Fatalf("instance one after revoking: status %d %s", res.Status, res.Raw)
	}
	// Each notification instance two handles may be the revocation.
	for deadline := time.Now().Add(2 * time.Second); ; {
		res := user.post(`{ contacts { totalCount } }`, nil)
		if res.Status == http.StatusUnauthorized && len(res.Errors) > 0 && res.Errors[0].code() == "UNAUTHENTICATED" {
			break
		}
		if !two.auth.TestSignals.KeyNotified.Wait(time.Until(deadline)) {
			t.Fatalf("instance two still serves the revoked key: status %d %s", res.Status, res.Raw)
		}
	}
}
