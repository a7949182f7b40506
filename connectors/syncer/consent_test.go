package syncer_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors/internal/opt"
	"github.com/crmhub/crmhub/connectors/wazapin"
	"github.com/crmhub/crmhub/connectors/wazapin/wazapintest"
	"github.com/google/uuid"
)

// newWazapinEnv is a workspace with a Wazapin connection (contacts, both
// ways) to a fake seeded with two contacts; cnt_1 has opted out of
// WhatsApp and is suppressed on SMS.
func newWazapinEnv(t *testing.T, inject func(route string, n int) *wazapintest.Fault) (*env, *wazapintest.Server) {
	t.Helper()
	past := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	fake := wazapintest.NewServer(t, wazapintest.Options{Inject: inject, Contacts: []wazapintest.Contact{
		{ID: "cnt_1", PhoneNumber: "+628120000001", Name: "Ani",
			Consents: []wazapintest.Consent{{Channel: "whatsapp", Status: "opted_out", Source: "form",
				CapturedAt: &past, UpdatedAt: past}},
			Suppressions: []wazapintest.Suppression{{ID: "sup_1", Channel: "sms", Reason: "complained",
				Active: true, CreatedAt: past}}},
		{ID: "cnt_2", PhoneNumber: "+628120000002", Name: "Budi"},
	}})
	e := newEnvFor(t, crmhub.ConnectionInput{Kind: crmhub.ConnectorWazapin, Name: "wazapin", BaseURL: fake.URL,
		APIKey: fake.APIKey(), Entities: []crmhub.SyncEntity{crmhub.SyncContacts}}, wazapin.NewConnector)
	return e, fake
}

// hubContact is the hub contact linked to a Wazapin contact id.
func (e *env) hubContact(ext string) uuid.UUID {
	e.t.Helper()
	c, err := e.contacts.ResolveContact(e.ctx, []crmhub.Identifier{{Type: crmhub.IdentityExternalID, Value: ext,
		Source: e.conn.GlobalID()}})
	if err != nil || c == nil {
		e.t.Fatalf("hub contact of %s: %v %v", ext, c, err)
	}
	return c.ID
}

// consentWrites counts the consent and suppression writes the fake got.
func consentWrites(f *wazapintest.Server) int {
	return f.Calls(wazapintest.RoutePutConsent) + f.Calls(wazapintest.RouteUpsertSuppression)
}

func TestConsentsPulledPushedWithoutEcho(t *testing.T) {
	e, fake := newWazapinEnv(t, nil)
	ctx := e.ctx

	run := e.run(crmhub.SyncFull, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Created != 2 || run.Stats.Pushed != 0 || run.Stats.Failed != 0 {
		t.Fatalf("first run: %+v %+v", run.Stats, run.Errors)
	}
	c1, c2 := e.hubContact("cnt_1"), e.hubContact("cnt_2")
	consents, err := e.consents.ConsentsByContact(ctx, []uuid.UUID{c1, c2})
	if err != nil {
		t.Fatal(err)
	}
	if cs := consents[c1]; len(cs) != 1 || cs[0].Channel != crmhub.ChannelWhatsApp || cs[0].Status != crmhub.ConsentOptedOut ||
		opt.Deref(cs[0].Source) != "form" || len(consents[c2]) != 0 {
		t.Fatalf("pulled consents: %+v", consents)
	}
	hist, err := e.consents.ConsentHistory(ctx, []crmhub.ConsentHistoryKey{{ContactID: c1, Channel: crmhub.ChannelWhatsApp}})
	if err != nil || len(hist[crmhub.ConsentHistoryKey{ContactID: c1, Channel: crmhub.ChannelWhatsApp}]) != 1 {
		t.Fatalf("consent history: %+v %v", hist, err)
	}
	sups, err := e.consents.SuppressionsByContact(ctx, []uuid.UUID{c1, c2})
	if err != nil {
		t.Fatal(err)
	}
	if s := sups[c1]; len(s) != 1 || s[0].Channel != crmhub.ChannelSMS || s[0].Reason != "complained" ||
		!s[0].ActiveAt(time.Now()) || len(sups[c2]) != 0 {
		t.Fatalf("pulled suppressions: %+v", sups)
	}
	// The events have the connection as origin, so they are not pushed back.
	evs, err := e.events.Events(ctx, crmhub.EventFilter{Types: []crmhub.EventType{crmhub.EventConsentChanged,
		crmhub.EventSuppressionChanged}}, 10, "")
	if err != nil || len(evs.Edges) != 2 {
		t.Fatalf("consent events: %+v %v", evs, err)
	}
	for _, ed := range evs.Edges {
		if ed.Node.Origin != e.conn.GlobalID() {
			t.Errorf("%s origin %q, want the connection", ed.Node.Type, ed.Node.Origin)
		}
	}
	if n := consentWrites(fake); n != 0 {
		t.Fatalf("the pull was pushed back: %d consent writes", n)
	}
	if run := e.run(crmhub.SyncIncremental, false); run.Stats.Pushed != 0 || consentWrites(fake) != 0 {
		t.Fatalf("a quiet run pushed: %+v", run.Stats)
	}

	// Hub changes go out: a consent of cnt_1, a suppression of cnt_2.
	if _, err := e.consents.SetConsent(ctx, c1, crmhub.ConsentInput{Channel: crmhub.ChannelWhatsApp,
		Status: crmhub.ConsentOptedIn, Source: ptr("call")}); err != nil {
		t.Fatal(err)
	}
	sup, err := e.consents.SuppressContact(ctx, c2, crmhub.SuppressionInput{Channel: crmhub.ChannelEmail, Reason: "bounced"})
	if err != nil {
		t.Fatal(err)
	}
	run = e.run(crmhub.SyncIncremental, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Pushed != 2 || run.Stats.Failed != 0 {
		t.Fatalf("push run: %+v %+v", run.Stats, run.Errors)
	}
	r1, _ := fake.Contact("cnt_1")
	if i := slices.IndexFunc(r1.Consents, func(c wazapintest.Consent) bool { return c.Channel == "whatsapp" }); i < 0 ||
		r1.Consents[i].Status != "opted_in" || r1.Consents[i].Source != "call" {
		t.Errorf("cnt_1 consents on the remote: %+v", r1.Consents)
	}
	r2, _ := fake.Contact("cnt_2")
	if len(r2.Suppressions) != 1 || r2.Suppressions[0].Channel != "email" || !r2.Suppressions[0].Active ||
		r2.Suppressions[0].Reason != "bounced" {
		t.Errorf("cnt_2 suppressions on the remote: %+v", r2.Suppressions)
	}

	// A lift goes out as a lift.
	if _, err := e.consents.LiftSuppression(ctx, sup.ID); err != nil {
		t.Fatal(err)
	}
	if run := e.run(crmhub.SyncIncremental, false); run.Stats.Pushed != 1 || run.Stats.Failed != 0 {
		t.Fatalf("lift run: %+v %+v", run.Stats, run.Errors)
	}
	if r2, _ := fake.Contact("cnt_2"); len(r2.Suppressions) != 1 || r2.Suppressions[0].Active || r2.Suppressions[0].LiftedAt == nil {
		t.Errorf("cnt_2 suppressions after the lift: %+v", r2.Suppressions)
	}

	// Nothing echoes: a full and a quiet run write nothing on either side.
	writes, last := consentWrites(fake), e.lastEvent()
	for _, mode := range []crmhub.SyncMode{crmhub.SyncFull, crmhub.SyncIncremental} {
		if run := e.run(mode, false); run.Stats.Pushed != 0 || run.Stats.Failed != 0 {
			t.Fatalf("%s run after the pushes: %+v %+v", mode, run.Stats, run.Errors)
		}
	}
	if consentWrites(fake) != writes {
		t.Errorf("quiet runs wrote consents: %v", fake.CallCounts())
	}
	evs, err = e.events.Events(ctx, crmhub.EventFilter{Types: []crmhub.EventType{crmhub.EventConsentChanged,
		crmhub.EventSuppressionChanged}}, 10, crmhub.EventCursor(last))
	if err != nil || len(evs.Edges) != 0 {
		t.Errorf("quiet runs changed consents in the hub: %d events, %v", len(evs.Edges), err)
	}
}

func TestConsentPushErrorFailsOnlyItsContact(t *testing.T) {
	var mu sync.Mutex
	puts := 0
	e, fake := newWazapinEnv(t, func(route string, n int) *wazapintest.Fault {
		if route != wazapintest.RoutePutConsent {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		switch puts++; puts {
		case 1:
			return &wazapintest.Fault{Status: 422, Code: wazapintest.CodeValidation, Message: "refused"}
		case 2:
			return &wazapintest.Fault{Status: 503} // retried
		}
		return nil
	})
	if run := e.run(crmhub.SyncFull, false); run.Status != crmhub.SyncSucceeded {
		t.Fatalf("first run: %+v %+v", run.Stats, run.Errors)
	}
	for _, ext := range []string{"cnt_1", "cnt_2"} {
		if _, err := e.consents.SetConsent(e.ctx, e.hubContact(ext), crmhub.ConsentInput{Channel: crmhub.ChannelEmail,
			Status: crmhub.ConsentOptedIn}); err != nil {
			t.Fatal(err)
		}
	}
	run := e.run(crmhub.SyncIncremental, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Pushed != 1 || run.Stats.Failed != 1 {
		t.Fatalf("push run: %+v %+v", run.Stats, run.Errors)
	}
	if len(run.Errors) != 1 || run.Errors[0].RecordID != "cnt_1" || run.Errors[0].Code != "REMOTE_REJECTED" {
		t.Errorf("errors %+v, want cnt_1 rejected", run.Errors)
	}
	hasEmail := func(id string) bool {
		c, _ := fake.Contact(id)
		return slices.ContainsFunc(c.Consents, func(c wazapintest.Consent) bool { return c.Channel == "email" })
	}
	if hasEmail("cnt_1") || !hasEmail("cnt_2") {
		t.Errorf("email consent on the remote: cnt_1 %v, cnt_2 %v; want only cnt_2", hasEmail("cnt_1"), hasEmail("cnt_2"))
	}
}

func TestConsentDryRunPlans(t *testing.T) {
	e, fake := newWazapinEnv(t, nil)
	run := e.run(crmhub.SyncFull, true)
	if run.Status != crmhub.SyncSucceeded || e.countContacts() != 0 || consentWrites(fake) != 0 {
		t.Fatalf("dry run: %+v %+v", run.Stats, run.Errors)
	}
	var got []string
	for _, p := range run.Plan {
		if p.RecordID == "cnt_1" {
			got = append(got, p.Action)
		}
	}
	if !slices.Contains(got, "CONSENT") || !slices.Contains(got, "SUPPRESS") {
		t.Errorf("plan of cnt_1: %v, want CONSENT and SUPPRESS", got)
	}
}

// TestPushIdentityConflictIsRecorded: a hub contact whose phone and email
// Wazapin holds on two different contacts is not pushed and not merged;
// it becomes an identity conflict naming the hub contact, and the other
// contacts of the batch go through.
func TestPushIdentityConflictIsRecorded(t *testing.T) {
	fake := wazapintest.NewServer(t, wazapintest.Options{Contacts: []wazapintest.Contact{
		{ID: "cnt_a", PhoneNumber: "+628120000001", Name: "A"},
		{ID: "cnt_b", Email: "b@example.com", Name: "B"},
	}})
	e := newEnvFor(t, crmhub.ConnectionInput{Kind: crmhub.ConnectorWazapin, Name: "wazapin", BaseURL: fake.URL,
		APIKey: fake.APIKey(), Direction: crmhub.SyncPush, Entities: []crmhub.SyncEntity{crmhub.SyncContacts}}, wazapin.NewConnector)
	both, err := e.contacts.CreateContact(e.ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{
		{Type: crmhub.IdentityPhone, Value: "+628120000001"}, {Type: crmhub.IdentityEmail, Value: "b@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.contacts.CreateContact(e.ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{
		{Type: crmhub.IdentityPhone, Value: "+628120000077"}}}); err != nil {
		t.Fatal(err)
	}
	run := e.run(crmhub.SyncIncremental, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Conflicts != 1 || run.Stats.Pushed != 1 || run.Stats.Failed != 0 {
		t.Fatalf("run %s %+v %+v", run.Status, run.Stats, run.Errors)
	}
	open := crmhub.ConflictOpen
	list, err := e.syncs.IdentityConflicts(e.ctx, &open, 10, "")
	if err != nil || len(list.Edges) != 1 {
		t.Fatalf("conflicts %+v %v", list, err)
	}
	if cf := list.Edges[0].Node; cf.ExternalID != both.GlobalID() || len(cf.Candidates) != 1 || cf.Candidates[0] != both.ID {
		t.Fatalf("conflict %+v", cf)
	}
	if n := len(fake.Contacts()); n != 3 {
		t.Fatalf("Wazapin holds %d contacts, want 3 (nothing merged, the other one created)", n)
	}
}

// TestNotesBothWays: a remote note reaches the hub contact, a hub note
// reaches the remote, neither comes back, and a quiet run adds nothing.
func TestNotesBothWays(t *testing.T) {
	fake := wazapintest.NewServer(t, wazapintest.Options{Contacts: []wazapintest.Contact{
		{ID: "cnt_1", PhoneNumber: "+628120000001", Name: "Ani",
			Notes: []wazapintest.Note{{ID: "n1", Content: "called on Monday", CreatedAt: time.Now().Add(-time.Hour)}}},
		{ID: "cnt_2", PhoneNumber: "+628120000002", Name: "Budi"},
	}})
	e := newEnvFor(t, crmhub.ConnectionInput{Kind: crmhub.ConnectorWazapin, Name: "wazapin", BaseURL: fake.URL,
		APIKey: fake.APIKey(), Entities: []crmhub.SyncEntity{crmhub.SyncContacts}}, wazapin.NewConnector)
	if run := e.run(crmhub.SyncFull, false); run.Status != crmhub.SyncSucceeded {
		t.Fatalf("first run %+v", run.Errors)
	}
	notesOf := func(id uuid.UUID) []string {
		t.Helper()
		key := crmhub.NotesKey{ContactID: id, First: 10}
		pages, err := e.contacts.NotesByContact(e.ctx, []crmhub.NotesKey{key})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, edge := range pages[key].Edges {
			out = append(out, edge.Node.Body)
		}
		return out
	}
	if got := notesOf(e.hubContact("cnt_1")); len(got) != 1 || got[0] != "called on Monday" {
		t.Fatalf("pulled notes %v", got)
	}
	if _, err := e.contacts.AddNote(e.ctx, e.hubContact("cnt_2"), "follow up next week"); err != nil {
		t.Fatal(err)
	}
	run := e.run(crmhub.SyncIncremental, false)
	if run.Stats.Pushed != 1 || run.Stats.Failed != 0 {
		t.Fatalf("push run %+v %+v", run.Stats, run.Errors)
	}
	remote, _ := fake.Contact("cnt_2")
	if len(remote.Notes) != 1 || remote.Notes[0].Content != "follow up next week" {
		t.Fatalf("remote notes of cnt_2 %+v", remote.Notes)
	}
	if c1, _ := fake.Contact("cnt_1"); len(c1.Notes) != 1 {
		t.Fatalf("the pulled note was pushed back: %+v", c1.Notes)
	}
	if run := e.run(crmhub.SyncFull, false); run.Stats.Pushed != 0 {
		t.Fatalf("a quiet run pushed %+v", run.Stats)
	}
	if got := notesOf(e.hubContact("cnt_2")); len(got) != 1 {
		t.Fatalf("hub notes of cnt_2 after the runs: %v", got)
	}
}

// TestFullRunRereadsConsents: a consent changed at the CRM without any
// change to the contact reaches the hub with the next FULL run.
func TestFullRunRereadsConsents(t *testing.T) {
	e, fake := newWazapinEnv(t, nil)
	if run := e.run(crmhub.SyncFull, false); run.Status != crmhub.SyncSucceeded {
		t.Fatalf("first run %+v", run.Errors)
	}
	c1 := e.hubContact("cnt_1")
	status := func() crmhub.ConsentStatus {
		t.Helper()
		cs, err := e.consents.ConsentsByContact(e.ctx, []uuid.UUID{c1})
		if err != nil || len(cs[c1]) != 1 {
			t.Fatalf("consents %+v %v", cs, err)
		}
		return cs[c1][0].Status
	}
	if status() != crmhub.ConsentOptedOut {
		t.Fatal("not pulled")
	}
	// The contact's consent changes at Wazapin; its listing does not.
	remote, _ := fake.Contact("cnt_1")
	now := time.Now().UTC().Truncate(time.Second)
	remote.Consents = []wazapintest.Consent{{Channel: "whatsapp", Status: "opted_in", Source: "form", CapturedAt: &now, UpdatedAt: now}}
	fake.PutContacts(remote)
	if run := e.run(crmhub.SyncIncremental, false); run.Stats.Unchanged != 2 {
		t.Fatalf("incremental run %+v", run.Stats)
	}
	if run := e.run(crmhub.SyncFull, false); run.Status != crmhub.SyncSucceeded || run.Stats.Unchanged != 2 {
		t.Fatalf("full run %+v %+v", run.Stats, run.Errors)
	}
	if got := status(); got != crmhub.ConsentOptedIn {
		t.Fatalf("after the full run the consent is %s, want OPTED_IN", got)
	}
}
