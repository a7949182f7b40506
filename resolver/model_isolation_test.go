package resolver_test

import (
	"slices"
	"testing"
)

// TestModelIsolation lets workspace B try every consent, user, deal and
// conversation operation on workspace A's ids. Each must behave as if the
// id did not exist, and A must be unchanged afterwards.
func TestModelIsolation(t *testing.T) {
	e := newEnv(t)
	a, b := e.workspace(), e.workspace()

	ua := a.newUser("agent-1", "Ann")
	in := a.inbound("WHATSAPP", "+14155552671", "hello", map[string]any{"senderName": "Alice", "externalId": "wamid.a"})
	ca, cva, ma := in.Conversation.Contact.ID, in.Conversation.ID, in.ID
	a.setConsent(ca, "WHATSAPP", "OPTED_IN", nil)
	sa := a.suppress(ca, "EMAIL", "bounced", nil).ID
	da := a.newDeal(map[string]any{"name": "A's deal", "externalRef": ref("crm", "1"), "responsibleUserId": ua,
		"contactIds": []string{ca}}).ID
	a.do(`mutation($id: ID!, $u: ID) { assignConversation(id: $id, userId: $u) { id } }`, map[string]any{"id": cva, "u": ua}, nil)
	out := a.sendText(cva, "A's reply")

	ub := b.newUser("agent-b", "Bob")
	inb := b.inbound("TELEGRAM", "@bob", "hi", nil)
	cb, cvb := inb.Conversation.Contact.ID, inb.Conversation.ID
	before := a.modelSnapshot()
	sentBefore := len(e.ch.Sent())

	vars := map[string]any{"ca": ca, "cva": cva, "ma": ma, "out": out.ID, "sa": sa, "da": da, "ua": ua, "ub": ub, "cb": cb, "cvb": cvb}

	nullQueries := map[string]string{
		"node user":         `query($ua: ID!) { node(id: $ua) { id } }`,
		"node deal":         `query($da: ID!) { node(id: $da) { id } }`,
		"node conversation": `query($cva: ID!) { node(id: $cva) { id } }`,
		"node message":      `query($ma: ID!) { node(id: $ma) { id } }`,
		"node suppression":  `query($sa: ID!) { node(id: $sa) { id } }`,
		"user":              `query($ua: ID!) { user(id: $ua) { id } }`,
		"deal":              `query($da: ID!) { deal(id: $da) { id } }`,
		"conversation":      `query($cva: ID!) { conversation(id: $cva) { id } }`,
		"message":           `query($out: ID!) { message(id: $out) { id } }`,
	}
	expectNull(t, b, nullQueries, vars)

	notFound := map[string]string{
		"setConsent":               `mutation($ca: ID!) { setConsent(contactId: $ca, channel: WHATSAPP, status: OPTED_OUT) { status } }`,
		"suppressContact":          `mutation($ca: ID!) { suppressContact(contactId: $ca, channel: SMS, reason: "x") { id } }`,
		"liftSuppression":          `mutation($sa: ID!) { liftSuppression(id: $sa) { id } }`,
		"deleteUser":               `mutation($ua: ID!) { deleteUser(id: $ua) }`,
		"assignConversation":       `mutation($cva: ID!, $ub: ID!) { assignConversation(id: $cva, userId: $ub) { id } }`,
		"assign to A's user":       `mutation($cvb: ID!, $ua: ID!) { assignConversation(id: $cvb, userId: $ua) { id } }`,
		"unassign A's":             `mutation($cva: ID!) { assignConversation(id: $cva, userId: null) { id } }`,
		"setConversationStatus":    `mutation($cva: ID!) { setConversationStatus(id: $cva, status: CLOSED) { id } }`,
		"sendMessage":              `mutation($cva: ID!) { sendMessage(input: {conversationId: $cva, type: TEXT, text: "pwned"}) { id } }`,
		"sendMessage to A contact": `mutation($ca: ID!) { sendMessage(input: {contactId: $ca, channel: WHATSAPP, type: TEMPLATE, template: {name: "t", language: "en"}}) { id } }`,
		"sendMessage quoting A's":  `mutation($cvb: ID!, $ma: ID!) { sendMessage(input: {conversationId: $cvb, type: TEXT, text: "x", replyToId: $ma}) { id } }`,
		"updateMessageStatus":      `mutation($out: ID!) { updateMessageStatus(id: $out, status: FAILED, errorCode: "x") { id } }`,
		"createContact with A's user": `mutation($ua: ID!) { createContact(input: {identifiers: [{type: EMAIL, value: "n@example.com"}],
			responsibleUserId: $ua}) { id } }`,
		"updateContact with A's user": `mutation($cb: ID!, $ua: ID!) { updateContact(id: $cb, input: {responsibleUserId: $ua}) { id } }`,
	}
	expectNotFound(t, b, notFound, vars)

	t.Run("upsertDeals", func(t *testing.T) {
		c := *b
		c.t = t
		res := c.upsertDeals(
			map[string]any{"id": da, "name": "pwned"},
			map[string]any{"name": "x", "contactIds": []string{cb, ca}},
			map[string]any{"name": "x", "responsibleUserId": ua},
		)
		for i, field := range []string{"id", "contactIds[1]", "responsibleUserId"} {
			if r := res[i]; r.Status != "FAILED" || len(r.Errors) != 1 || r.Errors[0].Code != "NOT_FOUND" || r.Errors[0].Field != field {
				t.Errorf("item %d = %+v, want NOT_FOUND on %s", i, r, field)
			}
		}
		// A's external ref is A's alone: B gets a deal of its own.
		own := c.upsertDeals(map[string]any{"externalRef": ref("crm", "1"), "name": "B's deal"})
		if own[0].Status != "CREATED" || own[0].Deal.ID == da {
			t.Errorf("B's upsert by A's ref = %+v", own[0])
		}
	})
	t.Run("deleteDeals", func(t *testing.T) {
		var del struct{ DeleteDeals []string }
		b.do(`mutation($ids: [ID!]!) { deleteDeals(ids: $ids) }`, map[string]any{"ids": []string{da}}, &del)
		if !slices.Equal(del.DeleteDeals, []string{da}) {
			t.Errorf("deleteDeals = %v, want A's id reported as not found", del.DeleteDeals)
		}
	})
	t.Run("filters", func(t *testing.T) {
		c := *b
		c.t = t
		for _, f := range []map[string]any{{"contactId": ca}, {"responsibleUserId": ua}} {
			if got := c.dealNames(f); len(got) != 0 {
				t.Errorf("deals filtered by %v = %v", f, got)
			}
		}
		type conns struct {
			Edges []struct{ Node struct{ ID string } }
		}
		var convs struct{ ByContact, Conversations conns }
		c.do(`query($ca: ID!, $ua: ID!) { byContact: conversations(filter: {contactId: $ca}) { edges { node { id } } }
			conversations(filter: {assigneeId: $ua}) { edges { node { id } } } }`, map[string]any{"ca": ca, "ua": ua}, &convs)
		if len(convs.Conversations.Edges) != 0 || len(convs.ByContact.Edges) != 0 {
			t.Errorf("conversations of A's user = %v", convs)
		}
		if n := c.unanswered(ua); n != 0 {
			t.Errorf("unansweredCount(A's user) = %d", n)
		}
	})
	t.Run("users", func(t *testing.T) {
		c := *b
		c.t = t
		// A's external id is free in B, and replacing B's users leaves A's.
		if r := c.upsertUsers(userInput("agent-1", "B's agent")); r[0].Status != "CREATED" || r[0].User.ID == ua {
			t.Errorf("upsert of A's external id = %+v", r[0])
		}
		c.do(`mutation { replaceUsers(input: []) { deleted } }`, nil, nil)
	})
	t.Run("inbound from A's contact's number", func(t *testing.T) {
		c := *b
		c.t = t
		m := c.inbound("WHATSAPP", "+14155552671", "hi B", map[string]any{"externalId": "wamid.a"})
		if m.ID == ma || m.Conversation.ID == cva || m.Conversation.Contact.ID == ca {
			t.Errorf("B's inbound landed in A: %+v", m)
		}
	})

	a.unchanged(t, before)
	if n := len(e.ch.Sent()); n != sentBefore {
		t.Errorf("B's attempts sent %d messages", n-sentBefore)
	}
}
