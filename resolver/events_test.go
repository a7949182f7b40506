package resolver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmhub/crmhub/db"
)

const eventsQuery = `query($first: Int, $after: String, $filter: EventFilter) {
	events(first: $first, after: $after, filter: $filter) {
		totalCount edges { cursor node { ` + eventFields + ` } } pageInfo { hasNextPage endCursor } } }`

type eventPage struct {
	TotalCount int
	Edges      []struct {
		Cursor string
		Node   wsEvent
	}
	PageInfo struct {
		HasNextPage bool
		EndCursor   *string
	}
}

// eventsPage reads one page of the log.
func (c *client) eventsPage(first int, after string, filter map[string]any) eventPage {
	c.t.Helper()
	vars := map[string]any{"first": first, "filter": filter}
	if after != "" {
		vars["after"] = after
	}
	var out struct{ Events eventPage }
	c.do(eventsQuery, vars, &out)
	return out.Events
}

// allEvents reads the whole log (matching filter) page by page.
func (c *client) allEvents(filter map[string]any) []wsEvent {
	c.t.Helper()
	var out []wsEvent
	after := ""
	for {
		p := c.eventsPage(100, after, filter)
		for _, e := range p.Edges {
			if e.Cursor != e.Node.Cursor {
				c.t.Fatalf("edge cursor %q, node cursor %q", e.Cursor, e.Node.Cursor)
			}
			out = append(out, e.Node)
		}
		if !p.PageInfo.HasNextPage {
			return out
		}
		after = *p.PageInfo.EndCursor
	}
}

func TestEventsQuery(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	if p := c.eventsPage(10, "", nil); len(p.Edges) != 0 || p.PageInfo.HasNextPage || p.TotalCount != 0 {
		t.Fatalf("fresh workspace has events: %+v", p)
	}
	var ids []string
	for i := range 5 {
		ids = append(ids, c.createContact(fmt.Sprintf("P%d", i), ident("EMAIL", fmt.Sprintf("p%d@example.com", i))).ID)
	}
	c.do(`mutation($id: ID!) { updateContact(id: $id, input: {name: "P0 renamed"}) { id } }`, map[string]any{"id": ids[0]}, nil)
	c.do(`mutation($id: ID!) { deleteContact(id: $id) }`, map[string]any{"id": ids[4]}, nil)

	// Pages of two walk the whole log in order, each exactly once.
	var walked []wsEvent
	after, pages := "", 0
	for {
		p := c.eventsPage(2, after, nil)
		pages++
		if len(p.Edges) > 2 {
			t.Fatalf("page of %d events for first: 2", len(p.Edges))
		}
		for _, ed := range p.Edges {
			walked = append(walked, ed.Node)
		}
		if p.TotalCount != 7 {
			t.Errorf("totalCount = %d, want 7", p.TotalCount)
		}
		if !p.PageInfo.HasNextPage {
			break
		}
		if p.PageInfo.EndCursor == nil || *p.PageInfo.EndCursor != p.Edges[len(p.Edges)-1].Cursor {
			t.Fatalf("endCursor %v does not name the page's last edge", p.PageInfo.EndCursor)
		}
		after = *p.PageInfo.EndCursor
	}
	var types, subjects []string
	for _, ev := range walked {
		types, subjects = append(types, ev.Type), append(subjects, ev.SubjectID)
		if ev.ID == "" || !strings.HasPrefix(ev.Actor, "api_key:key_") || ev.Payload == nil || ev.Payload["id"] != ev.SubjectID {
			t.Errorf("incomplete event %+v", ev)
		}
	}
	wantTypes := []string{"contact.created", "contact.created", "contact.created", "contact.created", "contact.created",
		"contact.updated", "contact.deleted"}
	wantSubjects := append(slices.Clone(ids), ids[0], ids[4])
	if !slices.Equal(types, wantTypes) || !slices.Equal(subjects, wantSubjects) || pages != 4 {
		t.Fatalf("walked %d pages:\n types %v\n subjects %v\nwant %v\n %v", pages, types, subjects, wantTypes, wantSubjects)
	}
	// After the last cursor nothing is left.
	if p := c.eventsPage(10, walked[len(walked)-1].Cursor, nil); len(p.Edges) != 0 || p.PageInfo.HasNextPage {
		t.Fatalf("after the last event: %+v", p)
	}
	// Resuming from the middle gives the rest.
	if p := c.eventsPage(100, walked[2].Cursor, nil); len(p.Edges) != 4 || p.Edges[0].Node.ID != walked[3].ID {
		t.Fatalf("after the third event: %+v", p)
	}

	// Filters by type and by subject, alone and together.
	byType := c.allEvents(map[string]any{"types": []string{"contact.updated", "contact.deleted"}})
	if len(byType) != 2 || byType[0].Type != "contact.updated" || byType[1].Type != "contact.deleted" {
		t.Fatalf("type filter: %+v", byType)
	}
	bySubject := c.allEvents(map[string]any{"subjectId": ids[0]})
	if len(bySubject) != 2 || bySubject[0].Type != "contact.created" || bySubject[1].Type != "contact.updated" {
		t.Fatalf("subject filter: %+v", bySubject)
	}
	both := c.allEvents(map[string]any{"subjectId": ids[0], "types": []string{"contact.created"}})
	if len(both) != 1 || both[0].ID != bySubject[0].ID {
		t.Fatalf("type and subject filter: %+v", both)
	}
	if p := c.eventsPage(1, "", map[string]any{"types": []string{"contact.created"}}); p.TotalCount != 5 ||
		len(p.Edges) != 1 || !p.PageInfo.HasNextPage {
		t.Fatalf("filtered page: %+v", p)
	}
	if none := c.allEvents(map[string]any{"subjectId": "ct_" + fmt.Sprintf("%032d", 0)}); len(none) != 0 {
		t.Fatalf("unknown subject: %+v", none)
	}

	// Another workspace sees none of them, even when it asks by subject.
	other := e.workspace()
	if got := other.allEvents(nil); len(got) != 0 {
		t.Fatalf("workspace B sees %d events of A", len(got))
	}
	if got := other.allEvents(map[string]any{"subjectId": ids[0]}); len(got) != 0 {
		t.Fatalf("workspace B sees A's events by subject: %+v", got)
	}

	// Bad input.
	c.fail(eventsQuery, map[string]any{"filter": map[string]any{"types": []string{"contact.exploded"}}},
		"VALIDATION_ERROR", "filter.types[0]")
	c.fail(eventsQuery, map[string]any{"filter": map[string]any{"types": []string{"contact.created", "nope"}}},
		"VALIDATION_ERROR", "filter.types[1]")
	for _, bad := range []string{"garbage", "ev", "ev-1", "evx", "ct_123", "ev99999999999999999999999"} {
		c.fail(eventsQuery, map[string]any{"after": bad}, "VALIDATION_ERROR", "after")
	}
	c.fail(eventsQuery, map[string]any{"first": 101}, "VALIDATION_ERROR", "first")
	c.fail(eventsQuery, map[string]any{"first": -1}, "VALIDATION_ERROR", "first")

	// events:read is required.
	reader := e.client(c.createKey("contacts only", "contacts:read").Secret)
	reader.fail(eventsQuery, nil, "FORBIDDEN")
	evReader := e.client(c.createKey("events only", "events:read").Secret)
	if got := evReader.allEvents(nil); len(got) != 7 {
		t.Fatalf("events:read key sees %d events", len(got))
	}
}

// TestNoEventLostOrDuplicatedUnderLoad is the "done when": 1,000
// writes issued concurrently while two websocket subscribers (resuming
// from a cursor taken before the writes) and one webhook receiver that
// verifies every signature run. Each subscriber gets every event exactly
// once in log order; the receiver gets every event, each under one
// webhook-id, and the log has exactly one delivery per event.
func TestNoEventLostOrDuplicatedUnderLoad(t *testing.T) {
	const writers, each = 10, 100
	e := newHookEnv(t, db.WebhookConfig{AllowPrivate: true}, true)
	c := e.workspace()
	rc := newWhReceiver(t, nil)
	ep := c.hook(rc, "contact.created")
	marker := c.createContact("marker", ident("EMAIL", "marker@example.com"))
	from := c.allEvents(nil)[0].Cursor

	subs := []*wsSub{
		e.ws(c.key).subscribe(eventsSubscription, map[string]any{"after": from}),
		e.ws(c.key).subscribe(eventsSubscription, map[string]any{"after": from}),
	}
	started := time.Now()
	errs := make(chan error, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				errs <- postOnce(c, `mutation($in: ContactInput!) { createContact(input: $in) { id } }`, map[string]any{"in": map[string]any{
					"identifiers": []any{ident("EMAIL", fmt.Sprintf("load-%d-%d@example.com", w, i))}}})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d writes in %s", writers*each, time.Since(started))

	log := c.allEvents(nil)
	if len(log) != 1+writers*each || log[0].SubjectID != marker.ID {
		t.Fatalf("the log has %d events, want %d", len(log), 1+writers*each)
	}
	want := eventIDs(log[1:])
	for i, s := range subs {
		got := make([]wsEvent, 0, len(want))
		for range want {
			got = append(got, s.nextEvent("events"))
		}
		if ids := eventIDs(got); !slices.Equal(ids, want) {
			t.Fatalf("subscriber %d: %d events differ from the log's %d (first difference at %d)", i, len(ids), len(want),
				firstDiff(ids, want))
		}
	}
	// Nothing more is pending: the next event is the next write.
	last := c.createContact("last", ident("EMAIL", "last@example.com"))
	for i, s := range subs {
		if ev := s.nextEvent("events"); ev.SubjectID != last.ID {
			t.Fatalf("subscriber %d: after the load got %+v, want the creation of %s", i, ev, last.ID)
		}
	}

	// The receiver: every event, each under a single webhook-id.
	wanted := map[string]bool{log[0].ID: true} // the marker too: it came after the endpoint
	for _, id := range want {
		wanted[id] = true
	}
	wanted[c.allEvents(map[string]any{"subjectId": last.ID})[0].ID] = true
	hookOf := map[string]string{} // event id -> webhook-id
	for len(hookOf) < len(wanted) {
		m := rc.next()
		if !wanted[m.Msg.ID] {
			t.Fatalf("receiver got an unexpected event %s", m.Body)
		}
		if prev, ok := hookOf[m.Msg.ID]; ok && prev != m.ID {
			t.Fatalf("event %s delivered under two webhook-ids %s and %s", m.Msg.ID, prev, m.ID)
		}
		hookOf[m.Msg.ID] = m.ID
	}
	var n struct{ WebhookDeliveries struct{ TotalCount int } }
	c.do(`query($ep: ID) { webhookDeliveries(endpointId: $ep) { totalCount } }`, map[string]any{"ep": ep.ID}, &n)
	if n.WebhookDeliveries.TotalCount != len(wanted) {
		t.Fatalf("%d deliveries for %d events", n.WebhookDeliveries.TotalCount, len(wanted))
	}
	t.Logf("all delivered %s after the writes began", time.Since(started))
}

// postOnce sends one operation from any goroutine and reports failure as
// an error.
func postOnce(c *client, query string, vars map[string]any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || bytes.Contains(b, []byte(`"errors"`)) {
		return fmt.Errorf("status %d: %s", res.StatusCode, b)
	}
	return nil
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestEventPayloadShapesMatchTheAPI: a contact without tags shows
// "tags": [] in its events, as the API shows it (it was null).
func TestEventPayloadShapesMatchTheAPI(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	a := c.createContact("NoTags", ident("EMAIL", "notags@example.com"))
	c.do(`mutation($id: ID!) { updateContact(id: $id, input: {name: "Still none"}) { id } }`, map[string]any{"id": a.ID}, nil)
	var got struct{ Contact struct{ Tags []string } }
	c.do(`query($id: ID!) { contact(id: $id) { tags } }`, map[string]any{"id": a.ID}, &got)
	if got.Contact.Tags == nil {
		t.Fatal("the API shows tags as null")
	}
	for _, ed := range c.eventsPage(10, "", nil).Edges {
		tags, ok := ed.Node.Payload["tags"].([]any)
		if !ok || len(tags) != 0 {
			t.Errorf("%s payload tags = %#v, want []", ed.Node.Type, ed.Node.Payload["tags"])
		}
	}
}
