package wazelo

import (
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazelo/wazelotest"
)

// TestRecordEvents: the fake's conversation.assigned,
// conversation.resolved, contact.created and campaign.completed parse
// into the events the hub applies; an agent given by id alone is read
// too.
func TestRecordEvents(t *testing.T) {
	now := time.Date(2025, 4, 19, 10, 0, 0, 0, time.UTC)
	s := wazelotest.NewServer(t, wazelotest.Options{Now: func() time.Time { return now },
		Contacts: []wazelotest.Contact{{ID: "cnt_priya", Phone: "919876543210"}}})
	c := connectorFor(s, s.APIKey())
	parse := func(ev wazelotest.Event) connectors.Inbound {
		t.Helper()
		body, header, err := s.Webhook(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.ParseWebhook(header, body, s.WebhookSecret())
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %v %v", ev.Event, got, err)
		}
		return got[0]
	}
	priya := []crmhub.Identifier{{Type: crmhub.IdentityExternalID, Value: "cnt_priya"}}
	got := parse(s.Assign("919876543210", wazelotest.Agent{ID: "agt_7", Name: "Asha", Email: "asha@example.com"}))
	connectortest.WantEqual(t, "assigned", got.Conversation, &connectors.ConversationEvent{ExternalID: "conv_919876543210",
		Channel: crmhub.ChannelWhatsApp, ChatID: "+919876543210", Identifiers: priya,
		Assignee: &connectors.RemoteUser{ExternalID: "agt_7", Name: "Asha", Email: ptr("asha@example.com")}})

	closed := crmhub.ConversationClosed
	got = parse(s.Resolve("919876543210"))
	connectortest.WantEqual(t, "resolved", got.Conversation, &connectors.ConversationEvent{ExternalID: "conv_919876543210",
		Channel: crmhub.ChannelWhatsApp, ChatID: "+919876543210", Identifiers: priya, Status: &closed})

	got = parse(wazelotest.Event{Event: EventConversationAssigned, Timestamp: "2025-04-19T10:00:00Z",
		Data: map[string]any{"conversation_id": "conv_1", "assigned_to": 42, "agent_name": "Ravi"}})
	if a := got.Conversation.Assignee; a == nil || a.ExternalID != "42" || a.Name != "Ravi" || got.Conversation.ChatID != "" {
		t.Errorf("assigned by id: %+v", got.Conversation)
	}

	name := "Meera"
	got = parse(s.ContactCreated(wazelotest.Contact{Name: &name, Phone: "919000000001", Tags: []string{"lead"}}))
	if rc := got.Contact; rc == nil || rc.ExternalID == "" || *rc.Name != "Meera" || rc.Identifiers[0].Value != "+919000000001" ||
		rc.Tags[0] != "lead" {
		t.Errorf("contact.created: %+v", got.Contact)
	}

	got = parse(s.CampaignCompleted("cmp_1", "Diwali offer", map[string]any{"sent": 120, "failed": 3}))
	connectortest.WantEqual(t, "campaign", got.Campaign, &connectors.CampaignEvent{ExternalID: "cmp_1", Name: ptr("Diwali offer"),
		Stats: map[string]any{"sent": float64(120), "failed": float64(3)}, CompletedAt: &now})
}
