package inbound_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors/wazelo/wazelotest"
	"github.com/crmhub/crmhub/connectors/wazera/wazeratest"
	"github.com/crmhub/crmhub/db"
	"github.com/google/uuid"
)

// hasIdentity reports whether contact c has the identity.
func (e *env) hasIdentity(c *crmhub.Contact, typ crmhub.IdentityType, value, source string) bool {
	e.t.Helper()
	ids, err := db.NewContactService(e.d).IdentitiesByContact(e.ctx, []uuid.UUID{c.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, id := range ids[c.ID] {
		if id.Type == typ && id.Value == value && (id.Source == nil && source == "" || id.Source != nil && *id.Source == source) {
			return true
		}
	}
	return false
}

// events returns the workspace's events of typ, oldest first.
func (e *env) events(typ crmhub.EventType) []*crmhub.Event {
	e.t.Helper()
	page, err := db.NewEventService(e.d, nil).Events(e.ctx, crmhub.EventFilter{Types: []crmhub.EventType{typ}}, 100, "")
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*crmhub.Event
	for _, edge := range page.Edges {
		out = append(out, edge.Node)
	}
	return out
}

// postSignedEvent posts the fake's signed event and returns the answer.
func (e *env) postSignedEvent(conn *crmhub.Connection, s *wazelotest.Server, ev wazelotest.Event) string {
	e.t.Helper()
	body, header, err := s.Webhook(ev)
	if err != nil {
		e.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, e.base+"/hooks/"+conn.GlobalID(), bytes.NewReader(body))
	req.Header = header
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return strings.TrimSpace(string(b))
}

// wazeloConn is a Wazelo connection whose secret is the fake's, and the
// fake, holding Priya's contact.
func (e *env) wazeloConn() (*crmhub.Connection, *wazelotest.Server) {
	e.t.Helper()
	s := wazelotest.NewServer(e.t, wazelotest.Options{Contacts: []wazelotest.Contact{{ID: "cnt_priya", Phone: "919876543210"}}})
	return e.signedConnection(crmhub.ConnectorWazelo, s.WebhookSecret()), s
}

// deliver posts the fake's signed event and wants 200.
func (e *env) deliver(conn *crmhub.Connection, s *wazelotest.Server, ev wazelotest.Event) {
	e.t.Helper()
	body, header, err := s.Webhook(ev)
	if err != nil {
		e.t.Fatal(err)
	}
	if code := e.postSigned(conn.GlobalID(), body, header); code != 200 {
		e.t.Fatalf("%s: %d", ev.Event, code)
	}
}

// TestWazeloConversationLifecycle: a message opens the hub conversation
// under Wazelo's conversation id with the sender's contact id as an
// EXTERNAL_ID; the assignment makes the agent a hub user and assigns the
// conversation; the resolution closes it; replays change nothing.
func TestWazeloConversationLifecycle(t *testing.T) {
	e := newEnv(t)
	conn, s := e.wazeloConn()
	e.deliver(conn, s, s.Receive("919876543210", "Hello"))
	cv, _ := e.onlyConversation()
	contact, err := db.NewContactService(e.d).Contact(e.ctx, cv.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	if !e.hasIdentity(contact, crmhub.IdentityExternalID, "cnt_priya", conn.GlobalID()) {
		t.Fatalf("the sender %+v lacks Wazelo's contact id", contact)
	}
	agent := wazelotest.Agent{ID: "agt_7", Name: "Asha", Email: "asha@example.com"}
	for range 2 {
		e.deliver(conn, s, s.Assign("919876543210", agent))
	}
	cv, _ = e.onlyConversation()
	users, err := db.NewUserService(e.d).UsersByIDs(e.ctx, []uuid.UUID{*cv.AssigneeID})
	if err != nil || users[0] == nil || users[0].ExternalID != "agt_7" || users[0].Name != "Asha" {
		t.Fatalf("assignee %v: %+v %v", cv.AssigneeID, users, err)
	}
	e.deliver(conn, s, s.Resolve("919876543210"))
	if cv, _ = e.onlyConversation(); cv.Status != crmhub.ConversationClosed {
		t.Fatalf("after resolved: %+v", cv)
	}
	// One assigned and one status event, whatever the replays.
	if a, st := e.events(crmhub.EventConversationAssigned), e.events(crmhub.EventConversationStatusChanged); len(a) != 1 || len(st) != 1 {
		t.Fatalf("%d conversation.assigned, %d conversation.status_changed events", len(a), len(st))
	}
	// A conversation the hub never saw, without a number: skipped.
	if code := e.postSignedEvent(conn, s, wazelotest.Event{Event: "conversation.resolved", Timestamp: "2025-04-19T10:00:00Z",
		Data: map[string]string{"conversation_id": "conv_unknown"}}); code != `{"received":0,"skipped":1}` {
		t.Fatalf("unknown conversation: %s", code)
	}
}

// TestWazeloContactAndCampaign: contact.created upserts the contact by
// its id and number; campaign.completed is a campaign.completed event of
// the connection, once.
func TestWazeloContactAndCampaign(t *testing.T) {
	e := newEnv(t)
	conn, s := e.wazeloConn()
	name := "Meera"
	e.deliver(conn, s, s.ContactCreated(wazelotest.Contact{ID: "cnt_meera", Name: &name, Phone: "919000000001", Tags: []string{"lead"}}))
	c, err := db.NewContactService(e.d).ResolveContact(e.ctx, []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "+919000000001"}})
	if err != nil || c == nil || c.Name == nil || *c.Name != "Meera" || !e.hasIdentity(c, crmhub.IdentityExternalID, "cnt_meera", conn.GlobalID()) {
		t.Fatalf("contact %+v %v", c, err)
	}
	ev := s.CampaignCompleted("cmp_1", "Diwali offer", map[string]any{"sent": 120})
	e.deliver(conn, s, ev)
	e.deliver(conn, s, ev)
	events := e.events(crmhub.EventCampaignCompleted)
	if len(events) != 1 || events[0].SubjectID != conn.GlobalID() {
		t.Fatalf("campaign events %+v", events)
	}
	p, err := crmhub.DecodePayload[crmhub.CampaignPayload](events[0])
	if err != nil || p.CampaignID != "cmp_1" || *p.Name != "Diwali offer" || p.Stats["sent"] != float64(120) || p.CompletedAt == nil {
		t.Fatalf("payload %+v %v", p, err)
	}
}

// TestWazeraConversationEvents: conversation.created opens the
// conversation of the contact it names, assigned to Wazera's agent, and
// conversation.closed closes it; contact.updated upserts the contact.
func TestWazeraConversationEvents(t *testing.T) {
	e := newEnv(t)
	const secret = "wazera-signing-secret-1234"
	conn := e.signedConnection(crmhub.ConnectorWazera, secret)
	agent := int64(3)
	contact := &wazeratest.WebhookContact{ID: 77, Name: "Ana", Phone: "+14155550123"}
	post := func(ev wazeratest.Event) {
		t.Helper()
		b, h, err := ev.Signed(secret)
		if err != nil {
			t.Fatal(err)
		}
		if code := e.postSigned(conn.GlobalID(), b, h); code != 200 {
			t.Fatalf("%s: %d", ev.Event, code)
		}
	}
	post(wazeratest.Event{Event: wazeratest.EventConversationCreated, Timestamp: time.Now(),
		Data: wazeratest.WebhookConversation{ID: 50, Status: "open", AssignedTo: &agent, Contact: contact}})
	cv, _ := e.onlyConversation()
	if cv.ChatID != "+14155550123" || cv.AssigneeID == nil || cv.Status != crmhub.ConversationOpen {
		t.Fatalf("opened %+v", cv)
	}
	post(wazeratest.Event{Event: wazeratest.EventConversationClosed, Timestamp: time.Now(),
		Data: wazeratest.WebhookConversation{ID: 50, Status: "closed"}})
	if cv, _ = e.onlyConversation(); cv.Status != crmhub.ConversationClosed {
		t.Fatalf("closed %+v", cv)
	}
	email, anaMaria := "ana@example.com", "Ana Maria"
	post(wazeratest.Event{Event: wazeratest.EventContactUpdated, Timestamp: time.Now(),
		Data: wazeratest.Contact{ID: 77, Name: &anaMaria, Phone: "+14155550123", Email: &email}})
	c, err := db.NewContactService(e.d).Contact(e.ctx, cv.ContactID)
	if err != nil || *c.Name != "Ana Maria" || !e.hasIdentity(c, crmhub.IdentityEmail, email, "") ||
		!e.hasIdentity(c, crmhub.IdentityExternalID, "77", conn.GlobalID()) {
		t.Fatalf("contact %+v %v", c, err)
	}
}
