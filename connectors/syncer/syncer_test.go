package syncer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/opt"
	"github.com/crmhub/crmhub/connectors/syncer"
	"github.com/crmhub/crmhub/connectors/wazera"
	"github.com/crmhub/crmhub/connectors/wazera/wazeratest"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// env is a workspace with a Wazzup connection to a fake server and an
// engine that syncs it.
type env struct {
	t        testing.TB
	ctx      context.Context // the workspace's admin key
	ws       uuid.UUID
	fake     *wazzuptest.Server
	conn     *crmhub.Connection
	conns    *db.ConnectionService
	syncs    *db.SyncService
	contacts *db.ContactService
	deals    *db.DealService
	consents *db.ConsentService
	events   *db.EventService
	users    *db.UserService
	engine   *syncer.Engine
	upserts  *countingContacts
}

// countingContacts counts the contacts the engine hands to UpsertContacts.
type countingContacts struct {
	*db.ContactService
	mu sync.Mutex
	n  int
}

func (c *countingContacts) UpsertContacts(ctx context.Context, in []crmhub.ContactInput) ([]crmhub.UpsertContactResult, error) {
	c.mu.Lock()
	c.n += len(in)
	c.mu.Unlock()
	return c.ContactService.UpsertContacts(ctx, in)
}

func (c *countingContacts) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func newEnv(t testing.TB, opts wazzuptest.Options, in crmhub.ConnectionInput) *env {
	t.Helper()
	fake := wazzuptest.NewServer(t, opts)
	in.Kind, in.Name, in.BaseURL = crmhub.ConnectorWazzup, "wazzup", fake.URL
	if in.APIKey == "" {
		in.APIKey = fake.APIKey()
	}
	if in.Entities == nil {
		in.Entities = crmhub.SyncEntities
	}
	e := newEnvFor(t, in, wazzup.NewConnector)
	e.fake = fake
	return e
}

// newEnvFor is a workspace with the connection in, whose kind's connector
// factory builds, and an engine that syncs it.
func newEnvFor(t testing.TB, in crmhub.ConnectionInput, factory connectors.Factory) *env {
	t.Helper()
	e := newHubEnv(t)
	e.connect(in, factory)
	return e
}

// newHubEnv is a workspace without a connection yet: a test fills the hub
// first, then connects (see connect), as a user connecting a CRM to a hub
// in use does.
func newHubEnv(t testing.TB) *env {
	t.Helper()
	d := dbtest.Open(t, nil)
	ctx, ws, _ := dbtest.Workspace(t, d)
	e := &env{t: t, ctx: ctx, ws: ws.ID,
		conns:    db.NewConnectionService(d, db.ConnectionConfig{Sealer: db.NewDevSealer(), AllowPrivate: true}),
		contacts: db.NewContactService(d), deals: db.NewDealService(d), consents: db.NewConsentService(d),
		events: db.NewEventService(d, nil), users: db.NewUserService(d)}
	var err error
	if e.syncs, err = db.NewSyncService(d, db.SyncConfig{}); err != nil {
		t.Fatal(err)
	}
	return e
}

// connect creates the connection in and the engine that syncs it.
func (e *env) connect(in crmhub.ConnectionInput, factory connectors.Factory) {
	e.t.Helper()
	var err error
	if e.conn, err = e.conns.CreateConnection(e.ctx, in); err != nil {
		e.t.Fatal(err)
	}
	e.upserts = &countingContacts{ContactService: e.contacts}
	e.engine = syncer.New(e.syncs, syncer.Config{Connections: e.conns,
		Registry: connectors.Registry{in.Kind: factory},
		Contacts: e.upserts, Deals: e.deals, Users: e.users, Consents: e.consents, Backoff: time.Millisecond,
		Log: slog.New(slog.DiscardHandler)})
}

// run works one run to its end and returns it as stored.
func (e *env) run(mode crmhub.SyncMode, dryRun bool) *crmhub.SyncRun {
	e.t.Helper()
	run, err := e.syncs.CreateRun(e.ctx, e.ws, e.conn.ID, mode, dryRun)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.engine.Run(e.ctx, e.ws, run.ID); err != nil {
		var f *crmhub.SyncRunFailure
		if !errors.As(err, &f) {
			e.t.Fatalf("run: %v", err)
		}
	}
	return e.stored(run.ID)
}

func (e *env) stored(id uuid.UUID) *crmhub.SyncRun {
	e.t.Helper()
	run, err := e.syncs.SyncRun(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return run
}

func (e *env) countContacts() int {
	e.t.Helper()
	n, err := e.contacts.CountContacts(e.ctx, crmhub.ContactFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) lastEvent() int64 {
	e.t.Helper()
	n, err := e.events.CountEvents(e.ctx, crmhub.EventFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return int64(n)
}

// remote builds n fake Wazzup contacts with WhatsApp numbers, owned by
// users u1..u5.
func remote(n int) []wazzuptest.Contact {
	out := make([]wazzuptest.Contact, n)
	for i := range out {
		out[i] = wazzuptest.Contact{ID: fmt.Sprintf("c%05d", i), ResponsibleUserID: fmt.Sprintf("u%d", i%5+1),
			Name: fmt.Sprintf("Remote %d", i), ContactData: []wazzuptest.ContactData{
				{ChatType: "whatsapp", ChatID: fmt.Sprintf("7999%07d", i)}}}
	}
	return out
}

func users() []wazzuptest.User {
	var out []wazzuptest.User
	for i := 1; i <= 5; i++ {
		out = append(out, wazzuptest.User{ID: fmt.Sprintf("u%d", i), Name: fmt.Sprintf("Agent %d", i)})
	}
	return out
}

func wantStats(t *testing.T, what string, got, want crmhub.SyncStats) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: stats %+v, want %+v", what, got, want)
	}
}

func TestFullPullThenUnchangedThenEdits(t *testing.T) {
	deals := make([]wazzuptest.Deal, 200)
	for i := range deals {
		deals[i] = wazzuptest.Deal{ID: int64(i + 1), Name: fmt.Sprintf("Deal %d", i+1), ResponsibleUserID: "u2",
			Closed: i%10 == 0, Contacts: []string{fmt.Sprintf("c%05d", i), fmt.Sprintf("c%05d", i+500)}}
	}
	e := newEnv(t, wazzuptest.Options{Contacts: remote(1000), Deals: deals, Users: users()},
		crmhub.ConnectionInput{Direction: crmhub.SyncPull})

	run := e.run(crmhub.SyncFull, false)
	if run.Status != crmhub.SyncSucceeded {
		t.Fatalf("first run %s: %+v", run.Status, run.Errors)
	}
	wantStats(t, "first run", run.Stats, crmhub.SyncStats{Fetched: 1205, Created: 1205})
	if n := e.countContacts(); n != 1000 {
		t.Fatalf("%d contacts, want 1000", n)
	}
	// A contact has its EXTERNAL_ID (source: the connection) and its
	// WhatsApp number, and the responsible user pulled with it.
	c, err := e.contacts.ResolveContact(e.ctx, []crmhub.Identifier{{Type: crmhub.IdentityExternalID, Value: "c00042",
		Source: e.conn.GlobalID()}})
	if err != nil || c == nil {
		t.Fatalf("resolve by external id: %v %v", c, err)
	}
	idents, _ := e.contacts.IdentitiesByContact(e.ctx, []uuid.UUID{c.ID})
	var got []string
	for _, id := range idents[c.ID] {
		got = append(got, string(id.Type)+":"+id.Value)
	}
	slices.Sort(got)
	if want := []string{"EXTERNAL_ID:c00042", "WHATSAPP:+79990000042"}; !slices.Equal(got, want) {
		t.Fatalf("identities %v, want %v", got, want)
	}
	if c.ResponsibleUserID == nil || *c.Name != "Remote 42" {
		t.Fatalf("contact %+v", c)
	}
	// Deals link their contacts and keep their status.
	all, err := e.deals.Deals(e.ctx, crmhub.DealFilter{ContactID: &c.ID}, 10, "")
	if err != nil || len(all.Edges) != 1 || *all.Edges[0].Node.Name != "Deal 43" || all.Edges[0].Node.Status != crmhub.DealOpen {
		t.Fatalf("deals of c00042: %+v %v", all, err)
	}
	links, _ := e.deals.ContactIDsByDeal(e.ctx, []uuid.UUID{all.Edges[0].Node.ID})
	if len(links[all.Edges[0].Node.ID]) != 2 {
		t.Fatalf("deal contacts %v", links)
	}
	closed := crmhub.DealStatus("WON")
	if n, _ := e.deals.CountDeals(e.ctx, crmhub.DealFilter{Status: &closed}); n != 20 {
		t.Errorf("%d closed deals, want 20", n)
	}

	// Unchanged remote: nothing written, only sync.completed appended, and
	// the fingerprints spare even the upsert calls.
	before, upserted := e.lastEvent(), e.upserts.count()
	run = e.run(crmhub.SyncIncremental, false)
	wantStats(t, "second run", run.Stats, crmhub.SyncStats{Fetched: 1205, Unchanged: 1205})
	if n := e.upserts.count() - upserted; n != 0 {
		t.Fatalf("the unchanged run upserted %d contacts", n)
	}
	if after := e.lastEvent(); after != before+1 {
		t.Fatalf("the unchanged run appended %d events, want 1 (sync.completed)", after-before)
	}

	// Ten remote edits: ten updates.
	edited := remote(1000)[:10]
	for i := range edited {
		edited[i].Name += " (edited)"
	}
	e.fake.PutContacts(edited...)
	upserted = e.upserts.count()
	run = e.run(crmhub.SyncIncremental, false)
	wantStats(t, "after 10 edits", run.Stats, crmhub.SyncStats{Fetched: 1205, Updated: 10, Unchanged: 1195})
	if n := e.upserts.count() - upserted; n != 10 {
		t.Fatalf("10 edits upserted %d contacts", n)
	}
	if c0, _ := e.contacts.ResolveContact(e.ctx, []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "79990000003"}}); c0 == nil || *c0.Name != "Remote 3 (edited)" {
		t.Fatalf("edited contact %+v", c0)
	}
}

func TestPushBatchesWithoutEcho(t *testing.T) {
	e := newEnv(t, wazzuptest.Options{Contacts: remote(50), Users: users()}, crmhub.ConnectionInput{})
	if run := e.run(crmhub.SyncFull, false); run.Status != crmhub.SyncSucceeded || run.Stats.Pushed != 0 {
		t.Fatalf("first run: pulled records were pushed back (echo): %+v %+v", run.Stats, run.Errors)
	}
	// 150 contacts made in the hub, and 10 pulled ones renamed there.
	var in []crmhub.ContactInput
	for i := range 150 {
		name := fmt.Sprintf("Hub %d", i)
		in = append(in, crmhub.ContactInput{Name: &name, Identifiers: []crmhub.Identifier{
			{Type: crmhub.IdentityWhatsApp, Value: fmt.Sprintf("7888%07d", i)}}})
	}
	for chunk := range slices.Chunk(in, 100) {
		if _, err := e.contacts.UpsertContacts(e.ctx, chunk); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		c, _ := e.contacts.ResolveContact(e.ctx, []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: fmt.Sprintf("7999%07d", i)}})
		name := fmt.Sprintf("Renamed %d", i)
		if _, err := e.contacts.UpdateContact(e.ctx, c.ID, crmhub.ContactPatch{Name: &name}); err != nil {
			t.Fatal(err)
		}
	}
	calls := e.fake.Calls(wazzuptest.RouteUpsertContacts)
	run := e.run(crmhub.SyncIncremental, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Pushed != 160 || run.Stats.Failed != 0 {
		t.Fatalf("push run: %+v %+v", run.Stats, run.Errors)
	}
	if n := e.fake.Calls(wazzuptest.RouteUpsertContacts) - calls; n != 2 {
		t.Errorf("160 contacts went out in %d upserts, want 2 (100 + 60)", n)
	}
	if got := len(e.fake.Contacts()); got != 200 {
		t.Fatalf("the remote has %d contacts, want 200", got)
	}
	if c, ok := e.fake.Contact("c00003"); !ok || c.Name != "Renamed 3" {
		t.Fatalf("renamed contact on the remote: %+v", c)
	}
	// Pushed contacts got the connection's EXTERNAL_ID (their hub id) and
	// are neither pulled as new nor pushed again: nothing echoes.
	calls = e.fake.Calls(wazzuptest.RouteUpsertContacts)
	run = e.run(crmhub.SyncIncremental, false)
	if run.Stats.Pushed != 0 || run.Stats.Created != 0 || e.fake.Calls(wazzuptest.RouteUpsertContacts) != calls {
		t.Fatalf("a quiet run pushed or created: %+v", run.Stats)
	}
	if n := e.countContacts(); n != 200 {
		t.Fatalf("%d hub contacts, want 200 (no duplicates from the pushed ones)", n)
	}
	// A hub delete is pushed as a delete.
	c, _ := e.contacts.ResolveContact(e.ctx, []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "79990000007"}})
	if err := e.contacts.DeleteContact(e.ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	run = e.run(crmhub.SyncIncremental, false)
	if _, ok := e.fake.Contact("c00007"); ok || run.Stats.Deleted != 1 {
		t.Fatalf("hub delete not pushed: %+v", run.Stats)
	}
}

func TestRateLimitIsWaitedOut(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	e := newEnv(t, wazzuptest.Options{Contacts: remote(250), Users: users(),
		Inject: func(route string, n int) *wazzuptest.Fault {
			mu.Lock()
			defer mu.Unlock()
			times = append(times, time.Now())
			if route == wazzuptest.RouteListContacts && n == 4 {
				return &wazzuptest.Fault{Status: 429, RetryAfter: "1"}
			}
			return nil
		}}, crmhub.ConnectionInput{Direction: crmhub.SyncPull})
	run := e.run(crmhub.SyncFull, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Created != 255 {
		t.Fatalf("run %s %+v %+v", run.Status, run.Stats, run.Errors)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := times[4].Sub(times[3]); gap < time.Second {
		t.Fatalf("retried %v after a 429 with Retry-After: 1", gap)
	}
}

func TestTransientErrorsRetryAndAuthFails(t *testing.T) {
	e := newEnv(t, wazzuptest.Options{Contacts: remote(10), Users: users()}, crmhub.ConnectionInput{Direction: crmhub.SyncPull})
	e.fake.InjectNext(wazzuptest.Fault{Status: 500}, wazzuptest.Fault{Status: 503})
	if run := e.run(crmhub.SyncFull, false); run.Status != crmhub.SyncSucceeded || run.Stats.Created != 15 {
		t.Fatalf("run after two 5xx: %s %+v %+v", run.Status, run.Stats, run.Errors)
	}
	bad := "not-the-key"
	if _, err := e.conns.UpdateConnection(e.ctx, e.conn.ID, crmhub.ConnectionPatch{APIKey: &bad}); err != nil {
		t.Fatal(err)
	}
	run := e.run(crmhub.SyncFull, false)
	if run.Status != crmhub.SyncFailed || len(run.Errors) != 1 || run.Errors[0].Code != "REMOTE_AUTH_FAILED" ||
		!strings.Contains(run.Errors[0].Message, "401") {
		t.Fatalf("run with a bad key: %s %+v", run.Status, run.Errors)
	}
}

func TestInvalidItemsFailAlone(t *testing.T) {
	recs := remote(20)
	recs[5].ContactData = []wazzuptest.ContactData{{ChatType: "whatsapp", ChatID: "7999"}} // not a phone number
	e := newEnv(t, wazzuptest.Options{Contacts: recs, Users: users()}, crmhub.ConnectionInput{})
	run := e.run(crmhub.SyncFull, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Created != 24 || run.Stats.Failed != 1 ||
		len(run.Errors) != 1 || run.Errors[0].RecordID != "c00005" {
		t.Fatalf("pull with one bad record: %s %+v %+v", run.Status, run.Stats, run.Errors)
	}
	// Pushing, Wazzup refuses a contact without any chat; the others of
	// its batch go through.
	email := "nochat@example.com"
	_, err := e.contacts.UpsertContacts(e.ctx, []crmhub.ContactInput{
		{Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityEmail, Value: email}}},
		{Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "78880000001"}}},
		{Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "78880000002"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	run = e.run(crmhub.SyncIncremental, false)
	if run.Stats.Pushed != 2 || run.Stats.Failed != 2 { // c00005 again, and the chat-less contact
		t.Fatalf("push with one bad record: %+v %+v", run.Stats, run.Errors)
	}
}

// A foreground run (the CLI's) cut short by its caller is not resumed by
// anyone: it ends FAILED with INTERRUPTED, and the connection can run again.
func TestInterruptedForegroundRunEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := newEnv(t, wazzuptest.Options{Contacts: remote(300), Users: users(),
		Inject: func(route string, n int) *wazzuptest.Fault {
			if route == wazzuptest.RouteListContacts && n == 3 {
				cancel() // Ctrl-C while a page is on its way
			}
			return nil
		}}, crmhub.ConnectionInput{Direction: crmhub.SyncPull})
	run, err := e.syncs.CreateRun(e.ctx, e.ws, e.conn.ID, crmhub.SyncFull, false)
	if err != nil {
		t.Fatal(err)
	}
	err = e.engine.RunForeground(crmhub.NewContext(ctx, crmhub.FromContext(e.ctx)), e.ws, run.ID)
	var failed *crmhub.SyncRunFailure
	if !errors.As(err, &failed) || failed.Message != "interrupted" {
		t.Fatalf("interrupted run returned %v", err)
	}
	r := e.stored(run.ID)
	if r.Status != crmhub.SyncFailed || len(r.Errors) == 0 || r.Errors[len(r.Errors)-1].Code != "INTERRUPTED" {
		t.Fatalf("interrupted run: %s %+v", r.Status, r.Errors)
	}
	if again := e.run(crmhub.SyncFull, false); again.Status != crmhub.SyncSucceeded {
		t.Fatalf("the next run: %s %+v", again.Status, again.Errors)
	}
}

func TestKilledRunResumes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := newEnv(t, wazzuptest.Options{Contacts: remote(1000), Users: users(),
		Inject: func(route string, n int) *wazzuptest.Fault {
			if route == wazzuptest.RouteListContacts && n == 7 {
				cancel() // the process dies while the 5th page is on its way
			}
			return nil
		}}, crmhub.ConnectionInput{Direction: crmhub.SyncPull})
	run, err := e.syncs.CreateRun(e.ctx, e.ws, e.conn.ID, crmhub.SyncFull, false)
	if err != nil {
		t.Fatal(err)
	}
	dead := crmhub.NewContext(ctx, crmhub.FromContext(e.ctx))
	if err := e.engine.Run(dead, e.ws, run.ID); !errors.Is(err, context.Canceled) {
		t.Fatalf("killed run returned %v", err)
	}
	if r := e.stored(run.ID); r.Status != crmhub.SyncRunning || r.Stats.Created == 0 || r.Stats.Created >= 1005 {
		t.Fatalf("killed run: %s %+v", r.Status, r.Stats)
	}
	lists := e.fake.Calls(wazzuptest.RouteListContacts)
	if err := e.engine.Run(e.ctx, e.ws, run.ID); err != nil {
		t.Fatal(err)
	}
	r := e.stored(run.ID)
	if r.Status != crmhub.SyncSucceeded || r.Stats.Created+r.Stats.Unchanged < 1005 {
		t.Fatalf("resumed run: %s %+v", r.Status, r.Stats)
	}
	// It resumed at the page it was on, not at the start: 10 pages of 100
	// and the empty end page need 11 listings, one repeated at most.
	if n := e.fake.Calls(wazzuptest.RouteListContacts) - lists; n > 7 {
		t.Errorf("the resumed run listed %d pages", n)
	}
	if n := e.countContacts(); n != 1000 {
		t.Fatalf("%d contacts after the resumed run, want 1000", n)
	}
	// Same state as an uninterrupted run: a further run changes nothing.
	again := e.run(crmhub.SyncFull, false)
	wantStats(t, "run after the resumed one", again.Stats, crmhub.SyncStats{Fetched: 1005, Unchanged: 1005})
}

func TestConflictIsRecordedNotMerged(t *testing.T) {
	e := newEnv(t, wazzuptest.Options{Users: users(), Contacts: []wazzuptest.Contact{{ID: "x1", ResponsibleUserID: "u1", Name: "Both",
		ContactData: []wazzuptest.ContactData{{ChatType: "whatsapp", ChatID: "79990000001"}, {ChatType: "telegram", Username: "bob"}}}}},
		crmhub.ConnectionInput{Direction: crmhub.SyncPull, Entities: []crmhub.SyncEntity{crmhub.SyncContacts}})
	a, err := e.contacts.CreateContact(e.ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "79990000001"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.contacts.CreateContact(e.ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityTelegram, Value: "bob"}}})
	if err != nil {
		t.Fatal(err)
	}
	run := e.run(crmhub.SyncFull, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Conflicts != 1 || run.Stats.Created != 0 || len(run.Errors) != 1 ||
		run.Errors[0].Code != crmhub.ECONFLICT || run.Errors[0].RecordID != "x1" {
		t.Fatalf("run: %s %+v %+v", run.Status, run.Stats, run.Errors)
	}
	open := crmhub.ConflictOpen
	list, err := e.syncs.IdentityConflicts(e.ctx, &open, 10, "")
	if err != nil || len(list.Edges) != 1 {
		t.Fatalf("conflicts %+v %v", list, err)
	}
	cf := list.Edges[0].Node
	if cf.ExternalID != "x1" || len(cf.Candidates) != 2 || !slices.Contains(cf.Candidates, a.ID) || !slices.Contains(cf.Candidates, b.ID) {
		t.Fatalf("conflict %+v", cf)
	}
	if n := e.countContacts(); n != 2 {
		t.Fatalf("%d contacts: the conflict was merged or duplicated", n)
	}
	// Another run refreshes the same conflict rather than adding one.
	e.run(crmhub.SyncFull, false)
	if list, _ := e.syncs.IdentityConflicts(e.ctx, nil, 10, ""); len(list.Edges) != 1 {
		t.Fatalf("%d conflicts after a second run", len(list.Edges))
	}
	// Picking A links the record to A; the next run updates A and leaves
	// B its Telegram username.
	if _, err := e.syncs.ResolveIdentityConflict(e.ctx, cf.ID, crmhub.ResolvePick, a.ID); err != nil {
		t.Fatal(err)
	}
	run = e.run(crmhub.SyncFull, false)
	if run.Stats.Conflicts != 0 || run.Stats.Updated != 1 {
		t.Fatalf("run after the pick: %+v %+v", run.Stats, run.Errors)
	}
	if a, _ = e.contacts.Contact(e.ctx, a.ID); a.Name == nil || *a.Name != "Both" {
		t.Fatalf("picked contact %+v", a)
	}
	if got, _ := e.contacts.ResolveContact(e.ctx, []crmhub.Identifier{{Type: crmhub.IdentityTelegram, Value: "bob"}}); got == nil || got.ID != b.ID {
		t.Fatalf("bob moved: %+v", got)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	e := newEnv(t, wazzuptest.Options{Contacts: remote(30), Users: users()}, crmhub.ConnectionInput{})
	before := e.lastEvent()
	run := e.run(crmhub.SyncFull, true)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Created != 35 || len(run.Plan) != 35 || run.Plan[5].Action != "CREATE" {
		t.Fatalf("dry run: %s %+v %d plan items", run.Status, run.Stats, len(run.Plan))
	}
	if n := e.countContacts(); n != 0 {
		t.Fatalf("the dry run wrote %d contacts", n)
	}
	if after := e.lastEvent(); after != before+1 {
		t.Fatalf("the dry run appended %d events, want only sync.completed", after-before)
	}
	// The real run then does what the dry run said.
	if run := e.run(crmhub.SyncFull, false); run.Stats.Created != 35 {
		t.Fatalf("real run %+v", run.Stats)
	}
}

func TestGoneRecordsAreUnlinked(t *testing.T) {
	e := newEnv(t, wazzuptest.Options{Contacts: remote(5), Users: users()},
		crmhub.ConnectionInput{Direction: crmhub.SyncPull, Entities: []crmhub.SyncEntity{crmhub.SyncContacts}})
	e.run(crmhub.SyncFull, false)
	req, _ := http.NewRequest(http.MethodDelete, e.fake.URL+"/v3/contacts/c00002", nil)
	req.Header.Set("Authorization", "Bearer "+e.fake.APIKey())
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("delete on the fake: %v %v", res, err)
	}
	// An incremental run does not look for gone records; a full one does.
	if run := e.run(crmhub.SyncIncremental, false); run.Stats.Deleted != 0 {
		t.Fatalf("incremental run: %+v", run.Stats)
	}
	run := e.run(crmhub.SyncFull, false)
	if run.Stats.Deleted != 1 || run.Stats.Unchanged != 4 {
		t.Fatalf("full run: %+v", run.Stats)
	}
	// The hub contact stays, without the connection's EXTERNAL_ID, and an
	// event says so.
	c, _ := e.contacts.ResolveContact(e.ctx, []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "79990000002"}})
	if c == nil {
		t.Fatal("the hub contact was deleted")
	}
	idents, _ := e.contacts.IdentitiesByContact(e.ctx, []uuid.UUID{c.ID})
	for _, id := range idents[c.ID] {
		if id.Type == crmhub.IdentityExternalID {
			t.Fatalf("still linked: %+v", id)
		}
	}
	page, err := e.events.Events(e.ctx, crmhub.EventFilter{Types: []crmhub.EventType{crmhub.EventSyncRecordGone}}, 10, "")
	if err != nil || len(page.Edges) != 1 || page.Edges[0].Node.SubjectID != c.GlobalID() {
		t.Fatalf("sync.record_gone events: %+v %v", page, err)
	}
	// With onRemoteDelete: delete, the hub contact goes too.
	if _, err := e.conns.UpdateConnection(e.ctx, e.conn.ID, crmhub.ConnectionPatch{Options: map[string]any{"onRemoteDelete": "delete"}}); err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest(http.MethodDelete, e.fake.URL+"/v3/contacts/c00003", nil)
	req.Header.Set("Authorization", "Bearer "+e.fake.APIKey())
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("delete on the fake: %v %v", res, err)
	}
	if run := e.run(crmhub.SyncFull, false); run.Stats.Deleted != 1 {
		t.Fatalf("full run: %+v", run.Stats)
	}
	if n := e.countContacts(); n != 4 {
		t.Fatalf("%d contacts, want 4", n)
	}
}

func TestConflictResolvedByMerge(t *testing.T) {
	e := newEnv(t, wazzuptest.Options{Users: users(), Contacts: []wazzuptest.Contact{{ID: "x1", ResponsibleUserID: "u1", Name: "Both",
		ContactData: []wazzuptest.ContactData{{ChatType: "whatsapp", ChatID: "79990000001"}, {ChatType: "telegram", Username: "bob"}}}}},
		crmhub.ConnectionInput{Direction: crmhub.SyncPull, Entities: []crmhub.SyncEntity{crmhub.SyncContacts}})
	a, _ := e.contacts.CreateContact(e.ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "79990000001"}}})
	b, _ := e.contacts.CreateContact(e.ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityTelegram, Value: "bob"}}})
	e.run(crmhub.SyncFull, false)
	list, _ := e.syncs.IdentityConflicts(e.ctx, nil, 10, "")
	if len(list.Edges) != 1 {
		t.Fatalf("%d conflicts", len(list.Edges))
	}
	cf := list.Edges[0].Node
	if _, err := e.syncs.ResolveIdentityConflict(e.ctx, cf.ID, crmhub.ResolveMerge, uuid.New()); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Fatalf("resolving for a non-candidate: %v", err)
	}
	got, err := e.syncs.ResolveIdentityConflict(e.ctx, cf.ID, crmhub.ResolveMerge, b.ID)
	if err != nil || got.Status != crmhub.ConflictResolved || *got.Resolution != crmhub.ResolveMerge || *got.ContactID != b.ID {
		t.Fatalf("resolve: %+v %v", got, err)
	}
	if _, err := e.syncs.ResolveIdentityConflict(e.ctx, cf.ID, crmhub.ResolvePick, b.ID); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Fatalf("resolving twice: %v", err)
	}
	if n := e.countContacts(); n != 1 {
		t.Fatalf("%d contacts after the merge", n)
	}
	run := e.run(crmhub.SyncFull, false)
	if run.Stats.Conflicts != 0 || run.Stats.Updated != 1 {
		t.Fatalf("run after the merge: %+v %+v", run.Stats, run.Errors)
	}
	c, _ := e.contacts.ResolveContact(e.ctx, []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "79990000001"}})
	if c == nil || c.ID != b.ID || *c.Name != "Both" {
		t.Fatalf("merged contact %+v (a was %s)", c, a.GlobalID())
	}
}

// TestPushToARemoteThatAssignsIDs pushes hub-created contacts through a
// Wazera connection, whose remote gives new contacts ids of its own: each
// is linked by the id Wazera reported, gets it as its EXTERNAL_ID, and is
// then pulled back as the same hub contact, never created again on either
// side.
func TestPushToARemoteThatAssignsIDs(t *testing.T) {
	fake := wazeratest.NewServer(t, wazeratest.Options{})
	fake.PutContacts(wazeratest.Contact{Name: ptr("Remote 1"), Phone: "+79990000001"},
		wazeratest.Contact{Name: ptr("Remote 2"), Phone: "+79990000002"})
	e := newEnvFor(t, crmhub.ConnectionInput{Kind: crmhub.ConnectorWazera, Name: "wazera",
		BaseURL: fake.URL, APIKey: fake.APIKey(), Entities: []crmhub.SyncEntity{crmhub.SyncContacts},
		Options: map[string]any{wazera.OptionPlan: "enterprise"}}, wazera.NewConnector)
	ctx := e.ctx

	if run := e.run(crmhub.SyncFull, false); run.Status != crmhub.SyncSucceeded || run.Stats.Created != 2 || run.Stats.Pushed != 0 {
		t.Fatalf("first run: %+v %+v", run.Stats, run.Errors)
	}
	const n = 12
	for i := range n {
		name := fmt.Sprintf("Hub %d", i)
		if _, err := e.contacts.CreateContact(ctx, crmhub.ContactInput{Name: &name, Identifiers: []crmhub.Identifier{
			{Type: crmhub.IdentityWhatsApp, Value: fmt.Sprintf("+7888%07d", i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	run := e.run(crmhub.SyncIncremental, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Pushed != n || run.Stats.Failed != 0 || run.Stats.Created != 0 {
		t.Fatalf("push run: %+v %+v", run.Stats, run.Errors)
	}
	// The remote holds each contact once, under an id of its own, and the
	// hub contact has that id as its EXTERNAL_ID.
	byPhone := map[string]int64{}
	for _, c := range fake.Contacts() {
		if _, dup := byPhone[c.Phone]; dup {
			t.Errorf("the remote holds %s twice", c.Phone)
		}
		byPhone[c.Phone] = c.ID
	}
	if len(byPhone) != n+2 {
		t.Fatalf("the remote holds %d contacts, want %d", len(byPhone), n+2)
	}
	for i := range n {
		id := byPhone[fmt.Sprintf("+7888%07d", i)]
		c, err := e.contacts.ResolveContact(ctx, []crmhub.Identifier{{Type: crmhub.IdentityExternalID,
			Value: fmt.Sprint(id), Source: e.conn.GlobalID()}})
		if err != nil || c == nil || opt.Deref(c.Name) != fmt.Sprintf("Hub %d", i) {
			t.Fatalf("hub contact by the remote's id %d: %+v %v", id, c, err)
		}
	}

	// A full run pulls the pushed contacts back as the same hub contacts.
	creates := fake.Calls(wazeratest.RouteCreateContact)
	run = e.run(crmhub.SyncFull, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Created != 0 || run.Stats.Pushed != 0 || run.Stats.Deleted != 0 {
		t.Fatalf("full run after the push: %+v %+v", run.Stats, run.Errors)
	}
	if got := e.countContacts(); got != n+2 {
		t.Fatalf("%d hub contacts, want %d (no duplicates of the pushed ones)", got, n+2)
	}
	// A quiet run pushes and creates nothing, on either side.
	run = e.run(crmhub.SyncIncremental, false)
	if run.Stats.Pushed != 0 || run.Stats.Created != 0 || fake.Calls(wazeratest.RouteCreateContact) != creates ||
		fake.Calls(wazeratest.RouteUpdateContact) != 0 {
		t.Fatalf("a quiet run pushed or created: %+v; %v", run.Stats, fake.CallCounts())
	}

	// An edit in the hub updates the contact under the id linked.
	c, _ := e.contacts.ResolveContact(ctx, []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "+78880000003"}})
	renamed := "Renamed 3"
	if _, err := e.contacts.UpdateContact(ctx, c.ID, crmhub.ContactPatch{Name: &renamed}); err != nil {
		t.Fatal(err)
	}
	run = e.run(crmhub.SyncIncremental, false)
	if run.Stats.Pushed != 1 || fake.Calls(wazeratest.RouteCreateContact) != creates || fake.Calls(wazeratest.RouteUpdateContact) != 1 {
		t.Fatalf("edit run: %+v; %v", run.Stats, fake.CallCounts())
	}
	if got, _ := fake.Contact(byPhone["+78880000003"]); opt.Deref(got.Name) != renamed || len(fake.Contacts()) != n+2 {
		t.Errorf("the remote after the edit: %+v, %d contacts", got, len(fake.Contacts()))
	}
}

func ptr[T any](v T) *T { return &v }
