// Package connectortest is the conformance suite every connector must
// pass. A connector's tests call Run with a Harness that starts a fresh
// fake of the remote and reads and writes its state in domain terms; the
// suite then checks what the sync engine relies on: paging that returns
// each record once, upserts that report each record's remote id (listing
// the remote afterwards shows the record under exactly that id, which may
// not be the id sent), batches capped before anything is sent, one bad
// record failing alone, missing ids on delete, and the typed errors of
// package connectors for 429, 5xx and a refused key. Deals and users are
// checked for a connector that is a connectors.DealSyncer or UserSyncer.
//
// The suite compares records the way the hub will see them: identifiers
// are normalized with crmhub.Identifier.Normalize and compared as sets,
// and only the fields a remote can be expected to keep are compared
// (external id, name, uri, responsible user and identifiers of contacts).
package connectortest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/opt"
)

// Harness describes one connector to the suite.
type Harness struct {
	// Start starts a fresh fake of the remote, empty, and returns it with
	// a connector pointed at it. The fake lives until the test ends.
	Start func(t *testing.T) Fake

	// Contact returns the i-th sample contact (i >= 0): a record the remote
	// accepts and keeps in full, with a unique external id, a name and
	// identifiers, and, when the remote keeps them, a uri and a
	// responsible user. Records for different i must differ. The external
	// id is one Seed can store the record under; an upsert may still give
	// the record another id (a remote that assigns its own), which it
	// reports.
	Contact func(i int) connectors.RemoteContact
	// InvalidContact returns a contact the remote (not the connector)
	// refuses, for the one-bad-record check.
	InvalidContact func(i int) connectors.RemoteContact

	// Deal and User return sample records like Contact; they are needed
	// when the connector is a connectors.DealSyncer or UserSyncer.
	Deal func(i int) connectors.RemoteDeal
	User func(i int) connectors.RemoteUser
}

// Fake is one running fake of the remote, seen in domain terms.
type Fake interface {
	// Connector returns a connector that uses the fake with a valid key.
	Connector() connectors.Connector
	// BadKey returns a connector that uses the fake with a wrong key.
	BadKey() connectors.Connector

	// Seed stores contacts in the fake directly, without the connector,
	// each under its ExternalID.
	Seed(t *testing.T, contacts []connectors.RemoteContact)
	// Stored returns the contacts the fake holds, in any order.
	Stored(t *testing.T) []connectors.RemoteContact

	// InjectRateLimit makes the next request be answered 429 with a
	// Retry-After of retryAfter.
	InjectRateLimit(retryAfter time.Duration)
	// InjectServerError makes the next request be answered 500.
	InjectServerError()
	// Requests returns how many requests the fake has received.
	Requests() int
}

// Run runs the suite. Each subtest starts its own fake and runs in
// parallel with the others.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Start == nil || h.Contact == nil || h.InvalidContact == nil {
		t.Fatal("connectortest: Harness needs Start, Contact and InvalidContact")
	}
	conn := h.Start(t).Connector()
	caps := conn.Capabilities()
	if caps.MaxBatch <= 0 {
		t.Fatalf("Capabilities().MaxBatch = %d, want a positive limit", caps.MaxBatch)
	}
	if (connectors.Supports(conn, crmhub.SyncDeals) && h.Deal == nil) || (connectors.Supports(conn, crmhub.SyncUsers) && h.User == nil) {
		t.Fatal("connectortest: the connector syncs DEALS or USERS: Harness.Deal or Harness.User is missing")
	}
	tests := []struct {
		name   string
		entity crmhub.SyncEntity
		run    func(t *testing.T, h Harness, caps connectors.Capabilities)
	}{
		{"ListContactsPages", crmhub.SyncContacts, testListContactsPages},
		{"UpsertContactsRoundTrip", crmhub.SyncContacts, testUpsertContactsRoundTrip},
		{"UpsertContactsOverBatchRefusedLocally", crmhub.SyncContacts, testOverBatch},
		{"UpsertContactsOneInvalid", crmhub.SyncContacts, testOneInvalid},
		{"DeleteContactsMissing", crmhub.SyncContacts, testDeleteContacts},
		{"RateLimit", crmhub.SyncContacts, testRateLimit},
		{"ServerError", crmhub.SyncContacts, testServerError},
		{"BadKey", crmhub.SyncContacts, testBadKey},
		{"DealsRoundTrip", crmhub.SyncDeals, testDealsRoundTrip},
		{"UsersRoundTrip", crmhub.SyncUsers, testUsersRoundTrip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !connectors.Supports(conn, tt.entity) {
				t.Skipf("the connector does not sync %s", tt.entity)
			}
			tt.run(t, h, caps)
		})
	}
}

// samples returns the sample records from..from+n-1.
func samples[T any](from, n int, sample func(int) T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = sample(from + i)
	}
	return out
}

func testListContactsPages(t *testing.T, h Harness, _ connectors.Capabilities) {
	f := h.Start(t)
	const n = 250
	want := samples(0, n, h.Contact)
	f.Seed(t, want)
	got := listAll(t, f.Connector().ListContacts)
	if len(got) != n {
		t.Errorf("listed %d contacts, want %d", len(got), n)
	}
	count := map[string]int{}
	for _, c := range got {
		count[c.ExternalID]++
	}
	for _, c := range want {
		if count[c.ExternalID] != 1 {
			t.Errorf("contact %s listed %d times, want once", c.ExternalID, count[c.ExternalID])
		}
	}

	// An empty remote is one empty page.
	p, err := h.Start(t).Connector().ListContacts(t.Context(), "")
	if err != nil || len(p.Items) != 0 || p.Next != "" {
		t.Errorf("empty remote: %d items, Next %q, %v; want none, \"\", nil", len(p.Items), p.Next, err)
	}
}

func testUpsertContactsRoundTrip(t *testing.T, h Harness, caps connectors.Capabilities) {
	f := h.Start(t)
	c := f.Connector()
	n := min(100, caps.MaxBatch)
	want := samples(0, n, h.Contact)
	results, err := c.UpsertContacts(t.Context(), want)
	wantAccepted(t, results, err, n)
	want = underReturnedIDs(want, results, func(c *connectors.RemoteContact) *string { return &c.ExternalID })
	compareContacts(t, "listed after upsert", listAll(t, c.ListContacts), want)
	compareContacts(t, "stored after upsert", f.Stored(t), want)

	// An upsert of the id returned updates that record, under that id.
	changed := h.Contact(n) // another record's name, uri and identifiers
	changed.ExternalID = want[0].ExternalID
	want[0] = changed
	results, err = c.UpsertContacts(t.Context(), want[:1])
	wantAccepted(t, results, err, 1)
	if got := results[0].ExternalID; got != changed.ExternalID {
		t.Errorf("update of %s reported id %q, want the id sent", changed.ExternalID, got)
	}
	compareContacts(t, "listed after update", listAll(t, c.ListContacts), want)
}

// underReturnedIDs returns want with each record's id (reached by id)
// replaced by the one its result reports, so that what is listed next is
// compared by the ids the upsert returned, not by those sent.
func underReturnedIDs[T any](want []T, results []connectors.UpsertResult, id func(*T) *string) []T {
	out := slices.Clone(want)
	for i := range out {
		if i < len(results) && results[i].Err == nil {
			*id(&out[i]) = results[i].ExternalID
		}
	}
	return out
}

func testOverBatch(t *testing.T, h Harness, caps connectors.Capabilities) {
	f := h.Start(t)
	before := f.Requests()
	results, err := f.Connector().UpsertContacts(t.Context(), samples(0, caps.MaxBatch+1, h.Contact))
	if err == nil {
		t.Errorf("upsert of MaxBatch+1 = %d records: results %v, no error", caps.MaxBatch+1, results)
	}
	if got := f.Requests() - before; got != 0 {
		t.Errorf("upsert of MaxBatch+1 records sent %d requests, want none", got)
	}
	if stored := f.Stored(t); len(stored) != 0 {
		t.Errorf("the remote holds %d contacts, want none", len(stored))
	}
}

func testOneInvalid(t *testing.T, h Harness, caps connectors.Capabilities) {
	f := h.Start(t)
	n := min(100, caps.MaxBatch)
	const bad = 12
	batch := samples(0, n, h.Contact)
	batch[bad] = h.InvalidContact(bad)
	results, err := f.Connector().UpsertContacts(t.Context(), batch)
	if err != nil {
		t.Fatalf("upsert with one invalid record: %v; want per-record errors only", err)
	}
	if len(results) != n {
		t.Fatalf("got %d results for %d records", len(results), n)
	}
	for i, res := range results {
		var ie connectors.ItemError
		switch {
		case i == bad && !errors.As(res.Err, &ie):
			t.Errorf("result %d (the invalid record) = %v, want a connectors.ItemError", i, res.Err)
		case i == bad && ie.Index != bad:
			t.Errorf("ItemError.Index = %d, want %d (the record's place in the input)", ie.Index, bad)
		case i == bad && res.ExternalID != "":
			t.Errorf("result %d (the invalid record) reports id %q, want none", i, res.ExternalID)
		case i != bad && res.Err != nil:
			t.Errorf("result %d = %v, want nil", i, res.Err)
		case i != bad && res.ExternalID == "":
			t.Errorf("result %d: accepted without an id", i)
		}
	}
	want := underReturnedIDs(batch, results, func(c *connectors.RemoteContact) *string { return &c.ExternalID })
	want = slices.Delete(want, bad, bad+1)
	compareContacts(t, "stored", f.Stored(t), want)
}

func testDeleteContacts(t *testing.T, h Harness, _ connectors.Capabilities) {
	f := h.Start(t)
	seeded := samples(0, 3, h.Contact)
	f.Seed(t, seeded)
	const absent = "connectortest-absent-id"
	missing, err := f.Connector().DeleteContacts(t.Context(), []string{seeded[0].ExternalID, absent, seeded[2].ExternalID})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(missing, []string{absent}) {
		t.Errorf("missing = %q, want [%s]", missing, absent)
	}
	compareContacts(t, "stored after delete", f.Stored(t), seeded[1:2])
}

func testRateLimit(t *testing.T, h Harness, _ connectors.Capabilities) {
	f := h.Start(t)
	c := f.Connector()
	f.InjectRateLimit(2 * time.Second)
	_, err := c.ListContacts(t.Context(), "")
	var rl *connectors.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("after a 429: error %v (%T), want *connectors.RateLimitError", err, err)
	}
	if rl.RetryAfter != 2*time.Second {
		t.Errorf("RetryAfter = %s, want 2s", rl.RetryAfter)
	}
	if _, err := c.ListContacts(t.Context(), ""); err != nil {
		t.Errorf("the request after the 429: %v", err)
	}

	f.InjectRateLimit(time.Second)
	_, err = c.UpsertContacts(t.Context(), samples(0, 2, h.Contact))
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Errorf("upsert after a 429: error %v, want *connectors.RateLimitError of 1s", err)
	}
}

func testServerError(t *testing.T, h Harness, _ connectors.Capabilities) {
	f := h.Start(t)
	f.InjectServerError()
	_, err := f.Connector().ListContacts(t.Context(), "")
	var te *connectors.TransientError
	if !errors.As(err, &te) || te.Status < 500 {
		t.Errorf("after a 500: error %v (%T), want *connectors.TransientError with the status", err, err)
	}
	f.InjectServerError()
	_, err = f.Connector().UpsertContacts(t.Context(), samples(0, 2, h.Contact))
	if !errors.As(err, &te) {
		t.Errorf("upsert after a 500: error %v (%T), want *connectors.TransientError", err, err)
	}
}

func testBadKey(t *testing.T, h Harness, _ connectors.Capabilities) {
	f := h.Start(t)
	c := f.BadKey()
	var ae *connectors.AuthError
	if _, err := c.ListContacts(t.Context(), ""); !errors.As(err, &ae) {
		t.Errorf("list with a bad key: error %v (%T), want *connectors.AuthError", err, err)
	}
	if _, err := c.UpsertContacts(t.Context(), samples(0, 1, h.Contact)); !errors.As(err, &ae) {
		t.Errorf("upsert with a bad key: error %v (%T), want *connectors.AuthError", err, err)
	}
	if deals, ok := c.(connectors.DealSyncer); ok {
		if _, err := deals.ListDeals(t.Context(), ""); !errors.As(err, &ae) {
			t.Errorf("list deals with a bad key: error %v (%T), want *connectors.AuthError", err, err)
		}
	}
}

func testDealsRoundTrip(t *testing.T, h Harness, caps connectors.Capabilities) {
	c := h.Start(t).Connector().(connectors.DealSyncer)
	n := min(100, caps.MaxBatch)
	want := samples(0, n, h.Deal)
	results, err := c.UpsertDeals(t.Context(), want)
	wantAccepted(t, results, err, n)
	want = underReturnedIDs(want, results, func(d *connectors.RemoteDeal) *string { return &d.ExternalID })
	got := listAll(t, c.ListDeals)
	compareRecords(t, "deals", got, want, func(d connectors.RemoteDeal) string { return d.ExternalID }, dealKey)

	missing, err := c.DeleteDeals(t.Context(), []string{want[0].ExternalID, want[0].ExternalID})
	if err != nil || !slices.Equal(missing, []string{want[0].ExternalID}) {
		t.Errorf("deleting a deal twice: missing %q, %v; want the second time missing", missing, err)
	}
	if got := listAll(t, c.ListDeals); len(got) != n-1 {
		t.Errorf("%d deals after one delete, want %d", len(got), n-1)
	}
}

func testUsersRoundTrip(t *testing.T, h Harness, caps connectors.Capabilities) {
	c := h.Start(t).Connector().(connectors.UserSyncer)
	n := min(10, caps.MaxBatch)
	want := samples(0, n, h.User)
	results, err := c.UpsertUsers(t.Context(), want)
	wantAccepted(t, results, err, n)
	want = underReturnedIDs(want, results, func(u *connectors.RemoteUser) *string { return &u.ExternalID })
	got := listAll(t, c.ListUsers)
	compareRecords(t, "users", got, want, func(u connectors.RemoteUser) string { return u.ExternalID },
		func(u connectors.RemoteUser) string { return u.ExternalID + "|" + u.Name })
}

// wantAccepted fails unless the upsert of n records succeeded for each,
// each result carrying the record's remote id, a different one for each
// record.
func wantAccepted(t *testing.T, results []connectors.UpsertResult, err error, n int) {
	t.Helper()
	if err != nil {
		t.Fatalf("upsert: %v", err)
	}
	if len(results) != n {
		t.Fatalf("upsert: %d results for %d records", len(results), n)
	}
	seen := map[string]int{}
	for i, res := range results {
		switch prev, dup := seen[res.ExternalID]; {
		case res.Err != nil:
			t.Errorf("upsert: record %d refused: %v", i, res.Err)
		case res.ExternalID == "":
			t.Errorf("upsert: record %d accepted without an ExternalID", i)
		case dup:
			t.Errorf("upsert: records %d and %d both reported as %s", prev, i, res.ExternalID)
		default:
			seen[res.ExternalID] = i
		}
	}
}

// listAll pages through a listing, failing the test on an error or a
// cursor that comes back.
func listAll[T any](t *testing.T, list func(ctx context.Context, cursor string) (connectors.Page[T], error)) []T {
	t.Helper()
	var all []T
	seen := map[string]bool{"": true}
	for cursor := ""; ; {
		p, err := list(t.Context(), cursor)
		if err != nil {
			t.Fatalf("list(%q): %v", cursor, err)
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			return all
		}
		if seen[p.Next] {
			t.Fatalf("list(%q): Next %q was already returned", cursor, p.Next)
		}
		seen[p.Next] = true
		cursor = p.Next
	}
}

// compareContacts fails unless got and want hold the same contacts, by
// external id, as the hub would see them.
func compareContacts(t *testing.T, what string, got, want []connectors.RemoteContact) {
	t.Helper()
	compareRecords(t, what, got, want, func(c connectors.RemoteContact) string { return c.ExternalID }, contactKey)
}

// compareRecords matches got and want by id and compares each pair by key.
func compareRecords[T any](t *testing.T, what string, got, want []T, id func(T) string, key func(T) string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d records, want %d", what, len(got), len(want))
	}
	byID := make(map[string]T, len(got))
	for _, r := range got {
		byID[id(r)] = r
	}
	bad := 0
	for _, w := range want {
		g, ok := byID[id(w)]
		switch {
		case !ok:
			t.Errorf("%s: %s is missing", what, id(w))
		case key(g) != key(w):
			t.Errorf("%s: %s\ngot  %s\nwant %s", what, id(w), key(g), key(w))
		default:
			continue
		}
		if bad++; bad >= 5 {
			t.Fatalf("%s: stopping after %d differences", what, bad)
		}
	}
}

// contactKey renders what the hub keeps of a contact from a remote.
func contactKey(c connectors.RemoteContact) string {
	ids := make([]string, 0, len(c.Identifiers))
	for _, id := range c.Identifiers {
		if n, err := id.Normalize(); err == nil {
			id = n
		}
		ids = append(ids, string(id.Type)+":"+id.Value)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	return fmt.Sprintf("name=%q uri=%q responsible=%q identifiers=%q",
		opt.Deref(c.Name), opt.Deref(c.URI), opt.Deref(c.ResponsibleUserExternalID), ids)
}

// dealKey renders what the hub keeps of a deal from a remote. A closed
// status is compared as closed: a remote may not tell won from lost.
func dealKey(d connectors.RemoteDeal) string {
	status := "open"
	if d.Status != nil && *d.Status != crmhub.DealOpen {
		status = "closed"
	}
	contacts := slices.Sorted(slices.Values(d.ContactExternalIDs))
	return fmt.Sprintf("name=%q status=%s responsible=%q contacts=%q",
		opt.Deref(d.Name), status, opt.Deref(d.ResponsibleUserExternalID), contacts)
}
