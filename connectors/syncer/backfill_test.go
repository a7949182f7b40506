package syncer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors/wazapin"
	"github.com/crmhub/crmhub/connectors/wazapin/wazapintest"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
	"github.com/google/uuid"
)

// hubContacts creates n hub contacts "Hub i" with WhatsApp numbers
// +7888000000i, in batches, and returns their ids in order.
func (e *env) hubContacts(n int) []uuid.UUID {
	e.t.Helper()
	var ids []uuid.UUID
	for start := 0; start < n; start += crmhub.MaxBatch {
		var in []crmhub.ContactInput
		for i := start; i < min(n, start+crmhub.MaxBatch); i++ {
			name := fmt.Sprintf("Hub %d", i)
			in = append(in, crmhub.ContactInput{Name: &name, Identifiers: []crmhub.Identifier{
				{Type: crmhub.IdentityWhatsApp, Value: fmt.Sprintf("+7888%07d", i)}}})
		}
		res, err := e.contacts.UpsertContacts(e.ctx, in)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, r := range res {
			if r.Status != crmhub.UpsertCreated {
				e.t.Fatalf("hub contact: %+v", r)
			}
			ids = append(ids, r.Contact.ID)
		}
	}
	return ids
}

// linked returns the hub id linked to a remote record, failing when none is.
func (e *env) linked(entity crmhub.SyncEntity, ext string) uuid.UUID {
	e.t.Helper()
	links, err := e.syncs.Links(e.ctx, e.ws, e.conn.ID, entity, []string{ext})
	if err != nil || len(links) != 1 {
		e.t.Fatalf("link of %s %s: %v %v", entity, ext, links, err)
	}
	return links[ext].LocalID
}

// wantQuiet runs a run of mode and fails unless it wrote nothing at the
// remote (writes counts the remote's write requests) and pushed nothing.
func (e *env) wantQuiet(mode crmhub.SyncMode, writes func() int) *crmhub.SyncRun {
	e.t.Helper()
	before := writes()
	run := e.run(mode, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Pushed != 0 || run.Stats.Deleted != 0 || run.Stats.Created != 0 {
		e.t.Fatalf("%s run after the backfill: %s %+v %+v", mode, run.Status, run.Stats, run.Errors)
	}
	if n := writes() - before; n != 0 {
		e.t.Fatalf("a quiet %s run made %d write requests at the remote", mode, n)
	}
	return run
}

// A Wazzup connection made over a hub that holds contacts fills Wazzup on
// its first run: the hub contacts the remote lacks are pushed, the one it
// has (same WhatsApp number, matched by the pull) is linked, not pushed
// again. Later runs, INCREMENTAL and FULL, write nothing at the remote.
func TestBackfillFillsWazzupThenStaysQuiet(t *testing.T) {
	e := newHubEnv(t)
	hub := e.hubContacts(4)
	fake := wazzuptest.NewServer(t, wazzuptest.Options{Users: users(), Contacts: []wazzuptest.Contact{
		{ID: "r1", ResponsibleUserID: "u1", Name: "Remote 1", ContactData: []wazzuptest.ContactData{
			{ChatType: "whatsapp", ChatID: "78880000002"}}}, // the hub's "Hub 2"
		{ID: "r2", ResponsibleUserID: "u1", Name: "Remote 2", ContactData: []wazzuptest.ContactData{
			{ChatType: "whatsapp", ChatID: "79990000009"}}},
	}})
	e.connect(crmhub.ConnectionInput{Kind: crmhub.ConnectorWazzup, Name: "wazzup", BaseURL: fake.URL,
		APIKey: fake.APIKey(), Entities: crmhub.SyncEntities}, wazzup.NewConnector)

	run := e.run(crmhub.SyncIncremental, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Pushed != 3 || run.Stats.Failed != 0 {
		t.Fatalf("first run: %s %+v %+v", run.Status, run.Stats, run.Errors)
	}
	if got := len(fake.Contacts()); got != 5 {
		t.Fatalf("the remote holds %d contacts, want 5 (its 2 and the hub's 3 it lacked)", got)
	}
	for _, i := range []int{0, 1, 3} {
		c, ok := fake.Contact(crmhub.GlobalID(crmhub.KindContact, hub[i]))
		if !ok || c.Name != fmt.Sprintf("Hub %d", i) || c.ResponsibleUserID == "" {
			t.Fatalf("hub contact %d at the remote: %+v %v", i, c, ok)
		}
	}
	if got := e.linked(crmhub.SyncContacts, "r1"); got != hub[2] {
		t.Fatalf("r1 is linked to %s, want the hub's contact with its number", got)
	}
	if n := e.countContacts(); n != 5 {
		t.Fatalf("%d hub contacts, want 5", n)
	}

	e.wantQuiet(crmhub.SyncIncremental, fake.Writes)
	e.wantQuiet(crmhub.SyncFull, fake.Writes)

	// A hub edit still goes out, once.
	name := "Hub 1 renamed"
	if _, err := e.contacts.UpdateContact(e.ctx, hub[1], crmhub.ContactPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if run := e.run(crmhub.SyncFull, false); run.Stats.Pushed != 1 {
		t.Fatalf("run after a hub edit: %+v %+v", run.Stats, run.Errors)
	}
	if c, _ := fake.Contact(crmhub.GlobalID(crmhub.KindContact, hub[1])); c.Name != name {
		t.Fatalf("edited contact at the remote: %+v", c)
	}
	e.wantQuiet(crmhub.SyncFull, fake.Writes)
}

// A backfill saves its position after every page of hub records: a run
// killed in the middle resumes at the page it was on, pushes each record
// once, and leaves no duplicate at the remote.
func TestBackfillResumesAtItsPage(t *testing.T) {
	const n = 2500 // three pages of 1000
	e := newHubEnv(t)
	e.hubContacts(n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fake := wazzuptest.NewServer(t, wazzuptest.Options{Users: users(),
		Inject: func(route string, k int) *wazzuptest.Fault {
			if route == wazzuptest.RouteUpsertContacts && k > 12 {
				cancel() // the process dies during the backfill's second page
			}
			return nil
		}})
	e.connect(crmhub.ConnectionInput{Kind: crmhub.ConnectorWazzup, Name: "wazzup", BaseURL: fake.URL,
		APIKey: fake.APIKey(), Direction: crmhub.SyncPush, Entities: []crmhub.SyncEntity{crmhub.SyncContacts}},
		wazzup.NewConnector)
	run, err := e.syncs.CreateRun(e.ctx, e.ws, e.conn.ID, crmhub.SyncIncremental, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.engine.Run(crmhub.NewContext(ctx, crmhub.FromContext(e.ctx)), e.ws, run.ID); !errors.Is(err, context.Canceled) {
		t.Fatalf("killed run returned %v", err)
	}
	killed := fake.Calls(wazzuptest.RouteUpsertContacts)
	if got := len(fake.Contacts()); got < 1000 || got >= n {
		t.Fatalf("the killed run pushed %d contacts, want the first page and part of the second", got)
	}
	if err := e.engine.Run(e.ctx, e.ws, run.ID); err != nil {
		t.Fatal(err)
	}
	r := e.stored(run.ID)
	if r.Status != crmhub.SyncSucceeded || r.Stats.Failed != 0 {
		t.Fatalf("resumed run: %s %+v %+v", r.Status, r.Stats, r.Errors)
	}
	if got := len(fake.Contacts()); got != n {
		t.Fatalf("the remote holds %d contacts, want %d", got, n)
	}
	// 25 batches of 100 in all; the resumed run skipped the first page's
	// 10 and redid at most the batch the kill cut short.
	if resumed := fake.Calls(wazzuptest.RouteUpsertContacts) - killed; resumed > 25-10+1 {
		t.Fatalf("the resumed run sent %d upserts (the killed one %d): it redid pages", resumed, killed)
	}
	e.wantQuiet(crmhub.SyncFull, fake.Writes)
}

// A Wazapin push resolves first: the hub contact whose phone Wazapin
// already holds updates that contact, the others are created, and the
// runs after write nothing.
func TestBackfillResolvesAtWazapin(t *testing.T) {
	e := newHubEnv(t)
	hub := e.hubContacts(3)
	fake := wazapintest.NewServer(t, wazapintest.Options{Contacts: []wazapintest.Contact{
		{ID: "cnt_1", PhoneNumber: "+78880000001", Name: "Known at Wazapin"}}})
	e.connect(crmhub.ConnectionInput{Kind: crmhub.ConnectorWazapin, Name: "wazapin", BaseURL: fake.URL,
		APIKey: fake.APIKey(), Direction: crmhub.SyncPush, Entities: []crmhub.SyncEntity{crmhub.SyncContacts}},
		wazapin.NewConnector)

	run := e.run(crmhub.SyncIncremental, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Pushed != 3 || run.Stats.Failed != 0 {
		t.Fatalf("first run: %s %+v %+v", run.Status, run.Stats, run.Errors)
	}
	if got := fake.Calls(wazapintest.RouteCreateContact); got != 2 {
		t.Fatalf("%d contacts created at Wazapin, want 2 (the third resolved to cnt_1)", got)
	}
	if c, _ := fake.Contact("cnt_1"); c.Name != "Hub 1" || len(fake.Contacts()) != 3 {
		t.Fatalf("cnt_1 after the push: %+v; %d contacts", c, len(fake.Contacts()))
	}
	if got := e.linked(crmhub.SyncContacts, "cnt_1"); got != hub[1] {
		t.Fatalf("cnt_1 is linked to %s, want %s", got, hub[1])
	}
	e.wantQuiet(crmhub.SyncIncremental, fake.Writes)
	e.wantQuiet(crmhub.SyncFull, fake.Writes)
}

// A hub merge of two contacts that both exist at Wazzup deletes the
// merged-away contact's copy there and pushes the survivor; the survivor
// no longer carries the deleted copy's EXTERNAL_ID, and the runs after
// are quiet.
func TestMergeReachesWazzup(t *testing.T) {
	e := newEnv(t, wazzuptest.Options{Users: users(), Contacts: remote(3)}, crmhub.ConnectionInput{
		Entities: []crmhub.SyncEntity{crmhub.SyncUsers, crmhub.SyncContacts}})
	if run := e.run(crmhub.SyncFull, false); run.Status != crmhub.SyncSucceeded || run.Stats.Pushed != 0 {
		t.Fatalf("first run: %+v %+v", run.Stats, run.Errors)
	}
	survivor, gone := e.linked(crmhub.SyncContacts, "c00000"), e.linked(crmhub.SyncContacts, "c00001")
	if _, err := e.contacts.MergeContacts(e.ctx, survivor, []uuid.UUID{gone}, false); err != nil {
		t.Fatal(err)
	}
	run := e.run(crmhub.SyncIncremental, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Deleted != 1 || run.Stats.Pushed != 1 {
		t.Fatalf("run after the merge: %+v %+v", run.Stats, run.Errors)
	}
	if _, ok := e.fake.Contact("c00001"); ok {
		t.Fatal("the merged-away contact is still at the remote")
	}
	c, ok := e.fake.Contact("c00000")
	if !ok || len(c.ContactData) != 2 {
		t.Fatalf("the survivor at the remote: %+v (want both numbers)", c)
	}
	e.wantNoExternalID(survivor, "c00001")
	e.wantQuiet(crmhub.SyncFull, e.fake.Writes)
	if n := e.countContacts(); n != 2 {
		t.Fatalf("%d hub contacts, want 2", n)
	}
}

// wantNoExternalID fails when contact id still has the connection's
// EXTERNAL_ID ext.
func (e *env) wantNoExternalID(id uuid.UUID, ext string) {
	e.t.Helper()
	idents, err := e.contacts.IdentitiesByContact(e.ctx, []uuid.UUID{id})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ident := range idents[id] {
		if ident.Type == crmhub.IdentityExternalID && ident.Value == ext {
			e.t.Fatalf("contact %s still has the EXTERNAL_ID %s", id, ext)
		}
	}
}

// The same at Wazapin, which resolves: the merged-away contact's copy is
// deleted and the survivor's own copy updated, nothing created. The run is
// a FULL one, whose backfill pushes the survivor: the merge is carried
// first, else Wazapin would resolve the survivor's two numbers to two
// contacts and refuse it as an identity conflict.
func TestMergeReachesWazapin(t *testing.T) {
	e, fake := newWazapinEnv(t, nil)
	if run := e.run(crmhub.SyncFull, false); run.Status != crmhub.SyncSucceeded || run.Stats.Created != 2 {
		t.Fatalf("first run: %+v %+v", run.Stats, run.Errors)
	}
	survivor, gone := e.hubContact("cnt_1"), e.hubContact("cnt_2")
	if _, err := e.contacts.MergeContacts(e.ctx, survivor, []uuid.UUID{gone}, false); err != nil {
		t.Fatal(err)
	}
	creates := fake.Calls(wazapintest.RouteCreateContact)
	run := e.run(crmhub.SyncFull, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Deleted != 1 || run.Stats.Pushed != 1 || run.Stats.Conflicts != 0 {
		t.Fatalf("run after the merge: %+v %+v", run.Stats, run.Errors)
	}
	if _, ok := fake.Contact("cnt_2"); ok {
		t.Fatal("the merged-away contact is still at Wazapin")
	}
	if _, ok := fake.Contact("cnt_1"); !ok || fake.Calls(wazapintest.RouteCreateContact) != creates {
		t.Fatalf("the survivor's copy: present %v; %d creates", ok, fake.Calls(wazapintest.RouteCreateContact)-creates)
	}
	e.wantNoExternalID(survivor, "cnt_2")
	e.wantQuiet(crmhub.SyncFull, fake.Writes)
}

// Wazzup keeps users and deals: a user or a deal deleted in the hub is
// deleted there by the next run.
func TestUserAndDealDeletionsReachWazzup(t *testing.T) {
	e := newEnv(t, wazzuptest.Options{Users: users(), Contacts: remote(2), Deals: []wazzuptest.Deal{
		{ID: 7, Name: "Deal 7", ResponsibleUserID: "u1", Contacts: []string{"c00000"}},
		{ID: 8, Name: "Deal 8", ResponsibleUserID: "u1"}}}, crmhub.ConnectionInput{})
	if run := e.run(crmhub.SyncFull, false); run.Status != crmhub.SyncSucceeded || run.Stats.Pushed != 0 {
		t.Fatalf("first run: %+v %+v", run.Stats, run.Errors)
	}
	if err := e.users.DeleteUser(e.ctx, e.linked(crmhub.SyncUsers, "u3")); err != nil {
		t.Fatal(err)
	}
	if missing, err := e.deals.DeleteDeals(e.ctx, []uuid.UUID{e.linked(crmhub.SyncDeals, "7")}); err != nil || len(missing) != 0 {
		t.Fatalf("delete deal: %v %v", missing, err)
	}
	run := e.run(crmhub.SyncIncremental, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Deleted != 2 {
		t.Fatalf("run after the deletions: %+v %+v", run.Stats, run.Errors)
	}
	if _, ok := e.fake.Deal(7); ok {
		t.Fatal("deal 7 is still at the remote")
	}
	if _, ok := e.fake.Deal(8); !ok {
		t.Fatal("deal 8 was deleted too")
	}
	if slices.ContainsFunc(e.fake.Users(), func(u wazzuptest.User) bool { return u.ID == "u3" }) || len(e.fake.Users()) != 4 {
		t.Fatalf("users at the remote after deleting u3: %+v", e.fake.Users())
	}
	e.wantQuiet(crmhub.SyncFull, e.fake.Writes)
}

// A contact Wazzup refuses shows the remote's own detail in the run's
// errors: INVALID_CONTACTS_DATA and the fields it named.
func TestInvalidContactsDataNamesTheFields(t *testing.T) {
	e := newHubEnv(t)
	hub := e.hubContacts(2)
	fake := wazzuptest.NewServer(t, wazzuptest.Options{}) // no user: no responsibleUserId to give
	e.connect(crmhub.ConnectionInput{Kind: crmhub.ConnectorWazzup, Name: "wazzup", BaseURL: fake.URL,
		APIKey: fake.APIKey(), Direction: crmhub.SyncPush, Entities: []crmhub.SyncEntity{crmhub.SyncContacts}},
		wazzup.NewConnector)
	run := e.run(crmhub.SyncFull, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Failed != 2 || len(run.Errors) != 2 {
		t.Fatalf("run: %s %+v %+v", run.Status, run.Stats, run.Errors)
	}
	for i, se := range run.Errors {
		if se.Code != wazzup.CodeInvalidContactsData || !strings.Contains(se.Message, "(fields: responsibleUserId)") ||
			se.RecordID != crmhub.GlobalID(crmhub.KindContact, hub[i]) {
			t.Fatalf("error %d: %+v", i, se)
		}
	}
}
