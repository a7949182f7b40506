package resolver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

const eventsSubscription = `subscription($types: [String!], $after: String) {
	events(types: $types, after: $after) { ` + eventFields + ` } }`

// nextEvent reads the next event of an events or contactChanged operation.
func (s *wsSub) nextEvent(field string) wsEvent {
	s.c.t.Helper()
	var ev wsEvent
	s.next(field, &ev)
	return ev
}

// eventIDs lists the ids of events.
func eventIDs(evs []wsEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// TestEventsSubscriptionReplaysThenFollows subscribes from a cursor while
// other clients write: the subscriber gets exactly the log after the
// cursor, in order, once each.
func TestEventsSubscriptionReplaysThenFollows(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	for i := range 10 {
		c.createContact("", ident("EMAIL", fmt.Sprintf("before%d@example.com", i)))
	}
	log := c.allEvents(nil)
	from := log[2].Cursor

	// Writers race with the subscription's replay and its switch to live.
	const writers, each = 4, 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := range each {
				c.createContact("", ident("EMAIL", fmt.Sprintf("w%d-%d@example.com", w, i)))
			}
		})
	}
	sock := e.ws(c.key)
	all := sock.subscribe(eventsSubscription, map[string]any{"after": from})
	created := sock.subscribe(eventsSubscription, map[string]any{"after": from, "types": []string{"contact.created"}})
	close(start)
	var got []wsEvent
	for range 7 + writers*each {
		got = append(got, all.nextEvent("events"))
	}
	wg.Wait()
	want := c.allEvents(nil)[3:]
	if !slices.Equal(eventIDs(got), eventIDs(want)) {
		t.Fatalf("subscription got %d events, the log after the cursor has %d:\n%v\n%v",
			len(got), len(want), eventIDs(got), eventIDs(want))
	}
	// The next event is the next write: nothing was sent twice.
	next := c.createContact("", ident("EMAIL", "after@example.com"))
	if ev := all.nextEvent("events"); ev.SubjectID != next.ID || ev.Type != "contact.created" {
		t.Fatalf("after the race got %+v, want the creation of %s", ev, next.ID)
	}

	// The filtered subscription got the same events (all are creations)
	// and then skips the types it did not ask for.
	c.do(`mutation($id: ID!) { updateContact(id: $id, input: {name: "renamed"}) { id } }`, map[string]any{"id": next.ID}, nil)
	last := c.createContact("", ident("EMAIL", "last@example.com"))
	var filtered []wsEvent
	for range len(want) + 2 {
		filtered = append(filtered, created.nextEvent("events"))
	}
	if !slices.Equal(eventIDs(filtered[:len(want)]), eventIDs(want)) || filtered[len(want)].SubjectID != next.ID ||
		filtered[len(want)+1].SubjectID != last.ID {
		t.Fatalf("filtered subscription got %+v", filtered)
	}
	for _, ev := range filtered {
		if ev.Type != "contact.created" {
			t.Fatalf("types filter let through %+v", ev)
		}
	}
}

// TestEventsSubscriptionWithoutCursor starts live: it gets what is
// written after it is registered and nothing from before.
func TestEventsSubscriptionWithoutCursor(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	c.createContact("old", ident("EMAIL", "old@example.com"))
	sock := e.ws(c.key)
	deleted := sock.subscribe(eventsSubscription, map[string]any{"types": []string{"contact.deleted"}})
	live := sock.subscribe(eventsSubscription, nil)
	e.waitSubscribers(2)
	x := c.createContact("x", ident("EMAIL", "x@example.com"))
	c.do(`mutation($id: ID!) { deleteContact(id: $id) }`, map[string]any{"id": x.ID}, nil)
	if ev := live.nextEvent("events"); ev.Type != "contact.created" || ev.SubjectID != x.ID {
		t.Fatalf("first live event %+v", ev)
	}
	if ev := live.nextEvent("events"); ev.Type != "contact.deleted" || ev.SubjectID != x.ID {
		t.Fatalf("second live event %+v", ev)
	}
	if ev := deleted.nextEvent("events"); ev.Type != "contact.deleted" || ev.SubjectID != x.ID {
		t.Fatalf("filtered live event %+v", ev)
	}
}

func TestSubscriptionBadInput(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()

	// A bad key never gets to subscribe: the socket closes with 4401.
	conn, msg, err := wsDial(t, e, nil, map[string]any{"Authorization": "Bearer crm_not-a-key"})
	if err == nil {
		t.Fatalf("bad key: socket open, got %v", msg)
	}
	if s := websocket.CloseStatus(err); s != 4401 {
		t.Fatalf("bad key: close status %d (%v), want 4401", s, err)
	}
	conn.CloseNow()

	// A key without events:read is refused that field, and the socket
	// stays usable for what the key may do.
	reader := c.createKey("contacts reader", "contacts:read")
	sock := e.ws(reader.Secret)
	sock.subscribe(eventsSubscription, nil).fails("FORBIDDEN")
	sock.subscribe(`subscription { messageAdded { id } }`, nil).fails("FORBIDDEN")
	changed := sock.subscribe(`subscription { contactChanged { `+eventFields+` } }`, nil)
	e.waitSubscribers(1)
	x := c.createContact("x", ident("EMAIL", "x@example.com"))
	if ev := changed.nextEvent("contactChanged"); ev.SubjectID != x.ID {
		t.Fatalf("contactChanged after a refused subscription: %+v", ev)
	}

	admin := e.ws(c.key)
	for _, tc := range []struct {
		name string
		vars map[string]any
	}{
		{"unknown type", map[string]any{"types": []string{"contact.created", "contact.exploded"}}},
		{"malformed cursor", map[string]any{"after": "not-a-cursor"}},
		{"negative cursor", map[string]any{"after": "ev-5"}},
		{"cursor of another kind", map[string]any{"after": x.ID}},
	} {
		if m := admin.subscribe(eventsSubscription, tc.vars).fails("VALIDATION_ERROR"); m == "" {
			t.Errorf("%s: empty message", tc.name)
		}
	}
	for _, q := range []string{
		`subscription { messageAdded(conversationId: "garbage") { id } }`,
		`subscription { conversationUpdated(id: "garbage") { id } }`,
		`subscription { contactChanged(id: "garbage") { id } }`,
		`subscription { unansweredCount(userId: "garbage") }`,
	} {
		admin.subscribe(q, nil).fails("NOT_FOUND")
	}
	// None of the failures left a subscription behind, and the socket works.
	e.waitSubscribers(1)
	ok := admin.subscribe(eventsSubscription, map[string]any{"after": ""})
	if ev := ok.nextEvent("events"); ev.SubjectID != x.ID {
		t.Fatalf("replay from the start: %+v", ev)
	}
}

func TestSubscriptionLimitPerSocket(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	sock := e.ws(c.key)
	var subs []*wsSub
	for range 20 {
		subs = append(subs, sock.subscribe(eventsSubscription, nil))
	}
	e.waitSubscribers(20)
	sock.subscribe(eventsSubscription, nil).fails("RATE_LIMITED")
	sock.subscribe(`subscription { unansweredCount }`, nil).fails("RATE_LIMITED")

	// The limit is per socket.
	other := e.ws(c.key)
	fresh := other.subscribe(`subscription { unansweredCount }`, nil)
	var n int
	fresh.next("unansweredCount", &n)

	// Completing one frees its slot (released as the operation winds down,
	// so the first tries may still find the socket full).
	subs[0].complete()
	deadline := time.Now().Add(wsWait)
	for {
		s := sock.subscribe(`subscription { unansweredCount }`, nil)
		m, ok := s.msg()
		if ok && m.Type == "next" && !strings.Contains(string(m.Payload), `"RATE_LIMITED"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot after completing a subscription: %s %s", m.Type, m.Payload)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The others still work.
	x := c.createContact("x", ident("EMAIL", "x@example.com"))
	for _, s := range subs[1:] {
		if ev := s.nextEvent("events"); ev.SubjectID != x.ID {
			t.Fatalf("got %+v", ev)
		}
	}
}

// TestSubscriptionWorkspaceIsolation: B's subscriptions never see A's
// events, whether live, replayed or by A's ids.
func TestSubscriptionWorkspaceIsolation(t *testing.T) {
	e := newEnv(t)
	a, b := e.workspace(), e.workspace()
	ca := a.createContact("Alice", ident("EMAIL", "alice@example.com"))
	aConv := a.inbound("WHATSAPP", "+14155552671", "hi", nil).Conversation.ID
	sock := e.ws(b.key)
	live := sock.subscribe(eventsSubscription, nil)
	replay := sock.subscribe(eventsSubscription, map[string]any{"after": ""})
	byID := sock.subscribe(`subscription($id: ID) { contactChanged(id: $id) { `+eventFields+` } }`, map[string]any{"id": ca.ID})
	anyContact := sock.subscribe(`subscription { contactChanged { `+eventFields+` } }`, nil)
	msgs := sock.subscribe(`subscription($id: ID) { messageAdded(conversationId: $id) { id } }`, map[string]any{"id": aConv})
	allMsgs := sock.subscribe(`subscription { messageAdded { id } }`, nil)
	e.waitSubscribers(6)

	// A writes, then B writes: each of B's operations must see B's write
	// first.
	a.do(`mutation($id: ID!) { updateContact(id: $id, input: {name: "Alice 2"}) { id } }`, map[string]any{"id": ca.ID}, nil)
	a.inbound("WHATSAPP", "+14155552671", "again", nil)
	a.createContact("Alan", ident("EMAIL", "alan@example.com"))
	cb := b.createContact("Bob", ident("EMAIL", "bob@example.com"))
	bMsg := b.inbound("WHATSAPP", "+14155552671", "hello B", nil)
	for name, s := range map[string]*wsSub{"live": live, "replay": replay, "contactChanged": anyContact} {
		field := "events"
		if name == "contactChanged" {
			field = "contactChanged"
		}
		if ev := s.nextEvent(field); ev.SubjectID != cb.ID {
			t.Errorf("%s: B's first event is %+v, want the creation of %s", name, ev, cb.ID)
		}
	}
	var m struct{ ID string }
	allMsgs.next("messageAdded", &m)
	if m.ID != bMsg.ID {
		t.Errorf("messageAdded: B got %s, want its own %s", m.ID, bMsg.ID)
	}
	// The operations on A's ids got nothing so far (a check at this point
	// only: unlike the ones above they have no own write to wait for).
	for name, s := range map[string]*wsSub{"contactChanged(A's id)": byID, "messageAdded(A's conversation)": msgs} {
		select {
		case got, ok := <-s.ch:
			if ok {
				t.Errorf("%s: B received %s %s", name, got.Type, got.Payload)
			}
		default:
		}
	}
}

// TestMessageAddedAndConversationUpdated follows conversations: each
// operation gets the messages and changes of its own conversation only.
func TestMessageAddedAndConversationUpdated(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	ann := c.newUser("ann", "Ann")
	in1 := c.inbound("WHATSAPP", "+14155552671", "first", nil)
	conv1 := in1.Conversation.ID
	conv2 := c.inbound("TELEGRAM", "@other", "elsewhere", nil).Conversation.ID

	sock := e.ws(c.key)
	only1 := sock.subscribe(`subscription($id: ID) { messageAdded(conversationId: $id) { id direction text conversation { id } } }`,
		map[string]any{"id": conv1})
	all := sock.subscribe(`subscription { messageAdded { id conversation { id } } }`, nil)
	upd1 := sock.subscribe(`subscription($id: ID) { conversationUpdated(id: $id) { id status assignee { id } unanswered } }`,
		map[string]any{"id": conv1})
	e.waitSubscribers(3)

	// Each write waits for the update before it: conversationUpdated sends
	// the conversation as it is when the event is delivered, so a later
	// write already committed would show in an earlier update.
	type msg struct {
		ID, Direction string
		Text          *string
		Conversation  struct{ ID string }
	}
	type conv struct {
		ID, Status string
		Assignee   *struct{ ID string }
		Unanswered bool
	}
	var m msg
	var cv conv
	other := c.inbound("TELEGRAM", "@other", "noise", nil)
	in := c.inbound("WHATSAPP", "+14155552671", "second", nil)
	only1.next("messageAdded", &m)
	if m.ID != in.ID || m.Direction != "INBOUND" || m.Conversation.ID != conv1 || m.Text == nil || *m.Text != "second" {
		t.Fatalf("messageAdded(conv1) first = %+v, want inbound %s", m, in.ID)
	}
	upd1.next("conversationUpdated", &cv) // the inbound message
	if cv.ID != conv1 || !cv.Unanswered {
		t.Fatalf("conversationUpdated after inbound = %+v", cv)
	}

	out := c.sendText(conv1, "reply")
	only1.next("messageAdded", &m)
	if m.ID != out.ID || m.Direction != "OUTBOUND" || m.Conversation.ID != conv1 {
		t.Fatalf("messageAdded(conv1) second = %+v, want the reply %s", m, out.ID)
	}
	upd1.next("conversationUpdated", &cv) // the reply
	if cv.ID != conv1 || cv.Unanswered {
		t.Fatalf("conversationUpdated after the reply = %+v", cv)
	}
	var ids []string
	for range 3 {
		all.next("messageAdded", &m)
		ids = append(ids, m.ID)
	}
	if want := []string{other.ID, in.ID, out.ID}; !slices.Equal(ids, want) {
		t.Fatalf("messageAdded = %v, want %v", ids, want)
	}

	c.do(`mutation($id: ID!, $u: ID) { assignConversation(id: $id, userId: $u) { id } }`, map[string]any{"id": conv2, "u": ann}, nil)
	c.do(`mutation($id: ID!, $u: ID) { assignConversation(id: $id, userId: $u) { id } }`, map[string]any{"id": conv1, "u": ann}, nil)
	upd1.next("conversationUpdated", &cv) // assigned (conv2's assignment is skipped)
	if cv.ID != conv1 || cv.Assignee == nil || cv.Assignee.ID != ann {
		t.Fatalf("conversationUpdated after assignment = %+v", cv)
	}
	c.do(`mutation($id: ID!) { setConversationStatus(id: $id, status: CLOSED) { id } }`, map[string]any{"id": conv1}, nil)
	upd1.next("conversationUpdated", &cv)
	if cv.ID != conv1 || cv.Status != "CLOSED" {
		t.Fatalf("conversationUpdated after closing = %+v", cv)
	}
}

func TestContactChanged(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	x := c.createContact("X", ident("EMAIL", "x@example.com"))
	y := c.createContact("Y", ident("EMAIL", "y@example.com"))
	sock := e.ws(c.key)
	onlyX := sock.subscribe(`subscription($id: ID) { contactChanged(id: $id) { `+eventFields+` } }`, map[string]any{"id": x.ID})
	anyC := sock.subscribe(`subscription { contactChanged { `+eventFields+` } }`, nil)
	e.waitSubscribers(2)

	rename := `mutation($id: ID!, $n: String) { updateContact(id: $id, input: {name: $n}) { id } }`
	c.do(rename, map[string]any{"id": y.ID, "n": "Y2"}, nil)
	c.newUser("u1", "Not a contact") // not a contact event
	c.do(rename, map[string]any{"id": x.ID, "n": "X2"}, nil)
	c.do(`mutation($id: ID!) { setConsent(contactId: $id, channel: EMAIL, status: OPTED_OUT) { status } }`,
		map[string]any{"id": x.ID}, nil)
	c.do(`mutation($id: ID!) { deleteContact(id: $id) }`, map[string]any{"id": x.ID}, nil)

	var gotX []string
	for range 3 {
		ev := onlyX.nextEvent("contactChanged")
		if ev.SubjectID != x.ID {
			t.Fatalf("contactChanged(X) got an event about %s: %+v", ev.SubjectID, ev)
		}
		gotX = append(gotX, ev.Type)
	}
	if want := []string{"contact.updated", "consent.changed", "contact.deleted"}; !slices.Equal(gotX, want) {
		t.Fatalf("contactChanged(X) = %v, want %v", gotX, want)
	}
	var gotAny []string
	for range 4 {
		ev := anyC.nextEvent("contactChanged")
		gotAny = append(gotAny, ev.Type+" "+ev.SubjectID)
	}
	want := []string{"contact.updated " + y.ID, "contact.updated " + x.ID, "consent.changed " + x.ID, "contact.deleted " + x.ID}
	if !slices.Equal(gotAny, want) {
		t.Fatalf("contactChanged = %v, want %v", gotAny, want)
	}
}

func TestUnansweredCountSubscription(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	ann := c.newUser("ann", "Ann")
	conv := c.inbound("WHATSAPP", "+14155552671", "hi", nil).Conversation.ID
	c.do(`mutation($id: ID!, $u: ID) { assignConversation(id: $id, userId: $u) { id } }`, map[string]any{"id": conv, "u": ann}, nil)
	c.inbound("TELEGRAM", "@someone", "unassigned", nil)

	sock := e.ws(c.key)
	annCount := sock.subscribe(`subscription($u: ID) { unansweredCount(userId: $u) }`, map[string]any{"u": ann})
	total := sock.subscribe(`subscription { unansweredCount }`, nil)
	count := func(s *wsSub, want int, when string) {
		t.Helper()
		var n int
		s.next("unansweredCount", &n)
		if n != want {
			t.Fatalf("%s: unansweredCount = %d, want %d", when, n, want)
		}
	}
	count(annCount, 1, "Ann at first")
	count(total, 2, "all at first")

	c.sendText(conv, "answered")
	count(annCount, 0, "Ann after the reply")
	count(total, 1, "all after the reply")

	c.inbound("WHATSAPP", "+14155552671", "one more thing", nil)
	count(annCount, 1, "Ann after a new inbound message")
	count(total, 2, "all after a new inbound message")

	// An inbound message on a conversation not assigned to Ann changes
	// only the total; Ann's next value is the one after her next change.
	c.inbound("INSTAGRAM", "newcomer", "hello", nil)
	count(total, 3, "all after a third conversation")
	c.sendText(conv, "done")
	count(annCount, 0, "Ann after the second reply")
	count(total, 2, "all after the second reply")
}

// TestSubscriptionComplete: a completed operation gets nothing more and
// frees its subscription; the socket goes on.
func TestSubscriptionComplete(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	sock := e.ws(c.key)
	s := sock.subscribe(eventsSubscription, nil)
	keep := sock.subscribe(`subscription { contactChanged { id type } }`, nil)
	e.waitSubscribers(2)
	x := c.createContact("x", ident("EMAIL", "x@example.com"))
	if ev := s.nextEvent("events"); ev.SubjectID != x.ID {
		t.Fatalf("got %+v", ev)
	}
	s.complete()
	e.waitSubscribers(1)
	y := c.createContact("y", ident("EMAIL", "y@example.com"))
	var ev wsEvent
	keep.next("contactChanged", &ev)
	keep.next("contactChanged", &ev)
	if ev.Type != "contact.created" {
		t.Fatalf("got %+v", ev)
	}
	_ = y
	again := sock.subscribe(eventsSubscription, map[string]any{"after": ""})
	if got := again.nextEvent("events"); got.SubjectID != x.ID {
		t.Fatalf("new operation after complete: %+v", got)
	}
	if got := again.nextEvent("events"); got.SubjectID != y.ID {
		t.Fatalf("new operation after complete: %+v", got)
	}
	// Closing the socket ends every operation on the server.
	sock.conn.Close(websocket.StatusNormalClosure, "")
	e.waitSubscribers(0)
}

// TestEventsSubscriptionAcrossRestart: a subscriber that saw events,
// lost the server and resumed with its last cursor on a new server over
// the same database gets exactly what it missed.
func TestEventsSubscriptionAcrossRestart(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	sock := e.ws(c.key)
	s := sock.subscribe(eventsSubscription, nil)
	e.waitSubscribers(1)
	seen := []string{c.createContact("a", ident("EMAIL", "a@example.com")).ID, c.createContact("b", ident("EMAIL", "b@example.com")).ID}
	var last wsEvent
	for _, id := range seen {
		if last = s.nextEvent("events"); last.SubjectID != id {
			t.Fatalf("before the restart got %+v, want %s", last, id)
		}
	}
	// The server goes away entirely.
	sock.conn.Close(websocket.StatusGoingAway, "")
	e.srv.CloseClientConnections()
	e.srv.Close()
	if err := sock.closeErr(); err == nil {
		t.Fatal("socket still readable")
	}

	// Writes while no server runs, straight to the services as another
	// instance would make them, and one on the new server before the
	// client is back.
	p, err := db.NewAuthService(e.db).Authenticate(context.Background(), c.key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := crmhub.NewContext(context.Background(), p)
	var missed []string
	for i := range 2 {
		x, err := db.NewContactService(e.db).CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{
			{Type: crmhub.IdentityEmail, Value: fmt.Sprintf("missed%d@example.com", i)}}})
		if err != nil {
			t.Fatal(err)
		}
		missed = append(missed, x.GlobalID())
	}
	e2 := newEnvOn(t, e.db)
	c2 := e2.client(c.key)
	missed = append(missed, c2.createContact("", ident("EMAIL", "missed2@example.com")).ID)

	sock2 := e2.ws(c2.key)
	r := sock2.subscribe(eventsSubscription, map[string]any{"after": last.Cursor})
	var got []string
	for range 3 {
		got = append(got, r.nextEvent("events").SubjectID)
	}
	if !slices.Equal(got, missed) {
		t.Fatalf("after the restart got %v, want exactly the missed %v", got, missed)
	}
	after := c2.createContact("after", ident("EMAIL", "after@example.com"))
	if ev := r.nextEvent("events"); ev.SubjectID != after.ID {
		t.Fatalf("live after the restart: %+v, want %s (no duplicate, no gap)", ev, after.ID)
	}
}

// TestSlowSubscriberGetsAReason: a subscriber that does not take events in
// time is dropped with a protocol-level error carrying the reason and the
// code RATE_LIMITED, not a silent complete. The hub here gives a
// subscriber one buffered event and next to no time to take the next one,
// so a burst of a hundred events must overflow it.
func TestSlowSubscriberGetsAReason(t *testing.T) {
	e := newEnvHub(t, dbtest.Open(t, nil), db.HubConfig{Buffer: 1, SendTimeout: time.Nanosecond})
	c := e.workspace()
	sub := e.ws(c.key).subscribe(`subscription { events(after: "") { cursor } }`, nil)
	var in []map[string]any
	for i := range 100 {
		in = append(in, map[string]any{"identifiers": []map[string]any{ident("EMAIL", fmt.Sprintf("burst%d@example.com", i))}})
	}
	c.do(`mutation($in: [ContactUpsertInput!]!) { upsertContacts(input: $in) { results { status } } }`, map[string]any{"in": in}, nil)
	for {
		m, ok := sub.msg()
		if !ok {
			t.Fatal("the subscription ended without an error")
		}
		if m.Type == "next" {
			continue // events taken before the drop
		}
		var errs []gqlError
		json.Unmarshal(m.Payload, &errs)
		if m.Type != "error" || len(errs) != 1 || errs[0].code() != "RATE_LIMITED" || !strings.Contains(errs[0].Message, "too slow") {
			t.Fatalf("want an error message RATE_LIMITED with the reason, got %s %s", m.Type, m.Payload)
		}
		return
	}
}

// TestRevokedKeyLosesItsSocket: revoking a key closes its open websockets
// with 4401 at once, so it neither receives events nor opens new
// subscriptions; a socket of another key stays.
func TestRevokedKeyLosesItsSocket(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	k := admin.createKey("listener", "events:read", "contacts:read")
	doomed := e.ws(k.Secret)
	sub := doomed.subscribe(`subscription { events { type } }`, nil)
	kept := e.ws(admin.key)
	keptSub := kept.subscribe(`subscription { events { type } }`, nil)
	e.waitSubscribers(2)

	admin.do(`mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`, map[string]any{"id": k.APIKey.ID}, nil)
	err := doomed.closeErr()
	if websocket.CloseStatus(err) != 4401 {
		t.Fatalf("socket of the revoked key ended with %v, want close 4401", err)
	}
	if m, ok := sub.msg(); ok && m.Type == "next" {
		t.Fatalf("the revoked key's subscription got %s", m.Payload)
	}
	admin.createContact("After", ident("EMAIL", "after@example.com"))
	var ev struct{ Type string }
	keptSub.next("events", &ev)
	if ev.Type != "contact.created" {
		t.Fatalf("the other socket got %q", ev.Type)
	}
}

// TestInitPayloadMustBeAnObject: a connection_init whose payload is not an
// object is answered by closing the socket with 4400 (gqlgen left it open
// and unanswered, holding a file handle).
func TestInitPayloadMustBeAnObject(t *testing.T) {
	e := newEnv(t)
	for _, payload := range []string{`"Bearer x"`, `[1,2]`, `42`, `true`} {
		ctx, cancel := context.WithTimeout(context.Background(), wsWait)
		wsURL := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/graphql"
		conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init","payload":`+payload+`}`)); err != nil {
			t.Fatal(err)
		}
		_, _, err = conn.Read(ctx)
		if websocket.CloseStatus(err) != 4400 {
			t.Errorf("payload %s: read gave %v, want close 4400", payload, err)
		}
		conn.CloseNow()
		cancel()
	}
}
