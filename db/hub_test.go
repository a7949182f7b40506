package db_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/jackc/pgx/v5"
)

// startHub runs a hub until the test ends and waits until it listens.
func startHub(t *testing.T, d *db.DB, cfg db.HubConfig) *db.Hub {
	t.Helper()
	h := db.NewHub(d, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-h.Listening():
	case <-time.After(10 * time.Second):
		t.Fatal("hub did not start listening")
	}
	return h
}

// collect reads n events or fails after a deadline.
func collect(t *testing.T, sub crmhub.Subscription, n int) []*crmhub.Event {
	t.Helper()
	var got []*crmhub.Event
	deadline := time.After(20 * time.Second)
	for len(got) < n {
		select {
		case e, ok := <-sub.C():
			if !ok {
				t.Fatalf("subscription ended after %d of %d events: %v", len(got), n, sub.Err())
			}
			got = append(got, e)
		case <-deadline:
			t.Fatalf("got %d of %d events", len(got), n)
		}
	}
	return got
}

// createN creates n contacts; safe to call from a goroutine (it reports
// with Errorf, not Fatal).
func createN(t *testing.T, svc *db.ContactService, ctx context.Context, prefix string, n int) {
	t.Helper()
	for i := range n {
		if _, err := svc.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{email(fmt.Sprintf("%s%d@x.io", prefix, i))}}); err != nil {
			t.Errorf("create contact: %v", err)
			return
		}
	}
}

func assertContiguous(t *testing.T, evs []*crmhub.Event, from int64) {
	t.Helper()
	for i, e := range evs {
		if e.Position != from+int64(i) {
			t.Fatalf("event %d has position %d, want %d (gap or duplicate)", i, e.Position, from+int64(i))
		}
	}
}

func TestSubscribeReplaysThenFollows(t *testing.T) {
	d := dbtest.Open(t, nil)
	hub := startHub(t, d, db.HubConfig{})
	events := db.NewEventService(d, hub)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	ctxB, _, _ := dbtest.Workspace(t, d)
	createN(t, svc, ctx, "before", 3)

	sub, err := events.Subscribe(ctx, crmhub.EventFilter{}, crmhub.EventCursor(1))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	subB, err := events.Subscribe(ctxB, crmhub.EventFilter{}, crmhub.EventCursor(0))
	if err != nil {
		t.Fatal(err)
	}
	defer subB.Close()
	// Writes race with the replay: the subscriber must see each once.
	go createN(t, svc, ctx, "during", 20)
	got := collect(t, sub, 22)
	assertContiguous(t, got, 2)
	select {
	case e := <-subB.C():
		t.Fatalf("workspace B received A's event %s", e.Type)
	case <-time.After(200 * time.Millisecond):
	}

	page, err := events.Events(ctx, crmhub.EventFilter{Types: []crmhub.EventType{crmhub.EventContactCreated}}, 10, crmhub.EventCursor(20))
	if err != nil || len(page.Edges) != 3 || page.PageInfo.HasNextPage {
		t.Fatalf("events after 20: %d edges, %v", len(page.Edges), err)
	}
	if _, err := events.Subscribe(ctx, crmhub.EventFilter{Types: []crmhub.EventType{"contact.exploded"}}, ""); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := events.Subscribe(ctx, crmhub.EventFilter{}, "nonsense"); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("malformed cursor: %v", err)
	}
	// Without a cursor a subscription starts at the end of the log.
	live, err := events.Subscribe(ctx, crmhub.EventFilter{}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	createN(t, svc, ctx, "after", 1)
	if got := collect(t, live, 1); got[0].Position != 24 {
		t.Errorf("live-only subscription started at position %d, want 24", got[0].Position)
	}
}

func TestSubscriberOverflowReadsTheLog(t *testing.T) {
	d := dbtest.Open(t, nil)
	hub := startHub(t, d, db.HubConfig{Buffer: 1})
	events := db.NewEventService(d, hub)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	sub, err := events.Subscribe(ctx, crmhub.EventFilter{}, crmhub.EventCursor(0))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	createN(t, svc, ctx, "burst", 40) // nobody reads meanwhile: the 1-slot buffer overflows
	assertContiguous(t, collect(t, sub, 40), 1)
}

func TestStuckSubscriberIsDropped(t *testing.T) {
	d := dbtest.Open(t, nil)
	hub := startHub(t, d, db.HubConfig{Buffer: 4, SendTimeout: 50 * time.Millisecond})
	events := db.NewEventService(d, hub)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	stuck, err := events.Subscribe(ctx, crmhub.EventFilter{}, crmhub.EventCursor(0))
	if err != nil {
		t.Fatal(err)
	}
	reader, err := events.Subscribe(ctx, crmhub.EventFilter{}, crmhub.EventCursor(0))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	// The writes run beside the reader, which takes each event as it comes:
	// a reader that only started after the writes could itself fall 50 ms
	// behind and be dropped.
	wrote := make(chan struct{})
	go func() { createN(t, svc, ctx, "s", 10); close(wrote) }()
	assertContiguous(t, collect(t, reader, 10), 1) // the stuck one slows nobody
	<-wrote
	select {
	case <-stuck.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("stuck subscriber was not dropped")
	}
	if stuck.Err() != db.ErrSlowSubscriber {
		t.Errorf("stuck subscriber ended with %v, want ErrSlowSubscriber", stuck.Err())
	}
}

func TestListenerReconnectCatchesUp(t *testing.T) {
	d := dbtest.Open(t, nil)
	hub := startHub(t, d, db.HubConfig{})
	events := db.NewEventService(d, hub)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	sub, err := events.Subscribe(ctx, crmhub.EventFilter{}, crmhub.EventCursor(0))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	createN(t, svc, ctx, "a", 2)
	collect(t, sub, 2)

	// Kill the listener's connection (as the superuser the tests run as)
	// and write while it is away: those notifications are lost for good.
	admin, err := pgx.Connect(context.Background(), dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var killed int
	if err := admin.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN crmhub_events'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d listeners (%v), want 1", killed, err)
	}
	createN(t, svc, ctx, "b", 5)
	assertContiguous(t, collect(t, sub, 5), 3)
}

// TestSubjectSubscribersGetOnlyTheirEvents: subscriptions to one contact
// each (the hub keeps them by subject) get that contact's events, in
// order, also past their small live buffer; a subscription to every
// contact gets them all.
func TestSubjectSubscribersGetOnlyTheirEvents(t *testing.T) {
	d := dbtest.Open(t, nil)
	hub := startHub(t, d, db.HubConfig{})
	events := db.NewEventService(d, hub)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	var ids []string
	subs := map[string]crmhub.Subscription{}
	for _, name := range []string{"a", "b", "c"} {
		c, err := svc.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{email(name + "@x.io")}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.GlobalID())
		sub, err := events.Watch(ctx, crmhub.ScopeContactsRead, crmhub.EventFilter{Types: []crmhub.EventType{crmhub.EventContactUpdated}, SubjectID: c.GlobalID()})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		subs[c.GlobalID()] = sub
	}
	all, err := events.Watch(ctx, crmhub.ScopeContactsRead, crmhub.EventFilter{Types: []crmhub.EventType{crmhub.EventContactUpdated}})
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	// Nobody reads while contact a changes 40 times: its subscription's
	// buffer overflows and it reads the rest from the log.
	counts := map[string]int{ids[0]: 40, ids[1]: 3}
	for _, id := range ids[:2] {
		uid, _ := crmhub.ParseID(crmhub.KindContact, id)
		for i := range counts[id] {
			if _, err := svc.UpdateContact(ctx, uid, crmhub.ContactPatch{CustomFields: map[string]any{"n": i}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range ids[:2] {
		got := collect(t, subs[id], counts[id])
		for i, e := range got {
			if e.SubjectID != id || (i > 0 && e.Position <= got[i-1].Position) {
				t.Fatalf("subscriber of %s: event %d is %s at %d", id, i, e.SubjectID, e.Position)
			}
		}
	}
	assertContiguous(t, collect(t, all, 43), 4)
	for id, sub := range subs {
		select {
		case e := <-sub.C():
			t.Errorf("subscriber of %s got one more event, about %s", id, e.SubjectID)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestLiveSubscriptionsNeedNoQuery: once the hub follows a workspace, a
// subscription from now starts at the last position it fanned out, with
// no query (10,000 subscribers connecting cost one), and still gets every
// event fanned out after it exactly once and none before.
func TestLiveSubscriptionsNeedNoQuery(t *testing.T) {
	d := dbtest.Open(t, nil)
	hub := startHub(t, d, db.HubConfig{})
	events := db.NewEventService(d, hub)
	svc := db.NewContactService(d)
	ctx, ws, _ := dbtest.Workspace(t, d)
	createN(t, svc, ctx, "before", 2)
	first, err := events.Subscribe(ctx, crmhub.EventFilter{}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	var subs []crmhub.Subscription
	for i := range 2 {
		// Counted for this call alone: the hub's own reads (a late
		// notification of an earlier write) and the first subscription's
		// replay may run meanwhile.
		counted, stats := db.CountQueries(ctx)
		sub, err := events.Subscribe(counted, crmhub.EventFilter{}, "")
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		if n := stats().RoundTrips; n != 0 {
			t.Errorf("subscribing from now took %d round trips, want 0", n)
		}
		subs = append(subs, sub)
		createN(t, svc, ctx, fmt.Sprintf("during%d-", i), 1)
		// The first subscriber may have read the event from the log
		// before the hub fanned it out, so its receipt orders nothing:
		// wait for the hub itself, after which the next subscription
		// from now starts past it.
		waitCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := db.WaitFannedOut(hub, waitCtx, ws.ID, int64(3+i)); err != nil {
			t.Fatalf("hub did not fan out position %d: %v", 3+i, err)
		}
		cancel()
		assertContiguous(t, collect(t, first, 1), int64(3+i))
	}
	assertContiguous(t, collect(t, subs[0], 2), 3)
	assertContiguous(t, collect(t, subs[1], 1), 4)
	// The count sees queries: a subscription that replays makes some.
	counted, stats := db.CountQueries(ctx)
	replaying, err := events.Subscribe(counted, crmhub.EventFilter{}, crmhub.EventCursor(0))
	if err != nil {
		t.Fatal(err)
	}
	assertContiguous(t, collect(t, replaying, 4), 1)
	replaying.Close()
	if stats().RoundTrips == 0 {
		t.Error("a replaying subscription counted no round trip")
	}
	for _, sub := range append(subs, first) {
		select {
		case e := <-sub.C():
			t.Errorf("one event too many, at %d", e.Position)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestSubscriptionAnnouncesEachHandover: a subscription announces every
// value before it is on C, those it began to hand over before Announce
// included, and its close; no value comes unannounced and no announcement
// goes without its value. (The websocket transport answers announcements
// instead of keeping a goroutine on C.)
func TestSubscriptionAnnouncesEachHandover(t *testing.T) {
	d := dbtest.Open(t, nil)
	hub := startHub(t, d, db.HubConfig{})
	events := db.NewEventService(d, hub)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	createN(t, svc, ctx, "before", 2)
	sub, err := events.Subscribe(ctx, crmhub.EventFilter{}, crmhub.EventCursor(0))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	// The replay's first event waits on C before anyone listens.
	time.Sleep(100 * time.Millisecond)
	announced := make(chan struct{}, 100)
	sub.(crmhub.SubscriptionAnnouncer).Announce(func() { announced <- struct{}{} })

	next := func() (*crmhub.Event, bool) {
		t.Helper()
		select {
		case <-announced:
		case <-time.After(10 * time.Second):
			t.Fatal("no announcement")
		}
		select {
		case e, ok := <-sub.C():
			return e, ok
		case <-time.After(10 * time.Second):
			t.Fatal("announced, but nothing on C")
		}
		return nil, false
	}
	quiet := func() {
		t.Helper()
		select {
		case <-announced:
			t.Fatal("an announcement without a value")
		case e := <-sub.C():
			t.Fatalf("an unannounced event at %d", e.Position)
		case <-time.After(200 * time.Millisecond):
		}
	}
	for want := int64(1); want <= 2; want++ {
		if e, ok := next(); !ok || e.Position != want {
			t.Fatalf("got %v %v, want the event at %d", e, ok, want)
		}
	}
	quiet()
	createN(t, svc, ctx, "live", 1)
	if e, ok := next(); !ok || e.Position != 3 {
		t.Fatalf("got %v %v, want the live event at 3", e, ok)
	}
	quiet()
	sub.Close()
	if e, ok := next(); ok {
		t.Fatalf("got %v, want the close", e)
	}
}
