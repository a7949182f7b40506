package resolver_test

import "testing"

// TestTotalCounts checks totalCount on the connections beyond contacts,
// deals and notes: each must count what its listing would page through.
func TestTotalCounts(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	for _, chat := range []string{"447700900101", "447700900102", "447700900103"} {
		c.do(`mutation($in: InboundMessageInput!) { recordInboundMessage(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"channel": "WHATSAPP", "chatId": chat, "type": "TEXT", "text": "hi"}}, nil)
	}
	c.do(`mutation { upsertUsers(input: [{externalId: "1", name: "Ann"}, {externalId: "2", name: "Bob"}]) { results { status } } }`, nil, nil)
	var got struct {
		Users         struct{ TotalCount int }
		Conversations struct {
			TotalCount int
			Edges      []struct {
				Node struct{ Messages struct{ TotalCount int } }
			}
		}
		Events            struct{ TotalCount int }
		WebhookEndpoints  struct{ TotalCount int }
		WebhookDeliveries struct{ TotalCount int }
	}
	c.do(`{
		users(first: 1) { totalCount }
		conversations(first: 1) { totalCount edges { node { messages(first: 1) { totalCount } } } }
		events(first: 1, filter: {types: ["conversation.created"]}) { totalCount }
		webhookEndpoints(first: 1) { totalCount }
		webhookDeliveries(first: 1) { totalCount }
	}`, nil, &got)
	if got.Users.TotalCount != 2 || got.Conversations.TotalCount != 3 || got.Events.TotalCount != 3 ||
		got.Conversations.Edges[0].Node.Messages.TotalCount != 1 || got.WebhookEndpoints.TotalCount != 0 ||
		got.WebhookDeliveries.TotalCount != 0 {
		t.Errorf("totals: %+v", got)
	}
}
