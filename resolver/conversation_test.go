package resolver_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

// messageTexts lists a conversation's message texts, newest first.
func (c *client) messageTexts(conversationID string) []string {
	c.t.Helper()
	var out struct {
		Conversation struct {
			Messages struct{ Edges []struct{ Node message } }
		}
	}
	c.do(`query($id: ID!) { conversation(id: $id) { messages(first: 100) { edges { node { text } } } } }`,
		map[string]any{"id": conversationID}, &out)
	texts := []string{}
	for _, e := range out.Conversation.Messages.Edges {
		texts = append(texts, deref(e.Node.Text))
	}
	return texts
}

// sentTo returns what the loopback channel delivered of the message id.
func sentTo(e *env, id string) []crmhub.OutboundMessage {
	var out []crmhub.OutboundMessage
	for _, m := range e.ch.Sent() {
		if m.Message.GlobalID() == id {
			out = append(out, m)
		}
	}
	return out
}

func TestRecordInboundMessage(t *testing.T) {
	c := newEnv(t).workspace()
	first := c.inbound("WHATSAPP", "14155552671", "hi", map[string]any{"senderName": "Ann", "externalId": "wamid.1"})
	if first.Direction != "INBOUND" || first.Type != "TEXT" || first.Status != "DELIVERED" || deref(first.ExternalID) != "wamid.1" {
		t.Fatalf("inbound message = %+v", first)
	}
	conv := first.Conversation
	if conv.Channel != "WHATSAPP" || conv.ChatID != "+14155552671" || conv.Status != "OPEN" || !conv.Unanswered ||
		conv.Contact.Name != "Ann" {
		t.Fatalf("conversation = %+v", conv)
	}
	// The sender became a contact with the WhatsApp identity.
	if got := c.resolve(ident("PHONE", "+14155552671")); got == nil || got.ID != conv.Contact.ID {
		t.Fatalf("the sender resolves to %+v", got)
	}

	// The same number with '+' and spaces reaches the same conversation.
	second := c.inbound("WHATSAPP", "+1 415 555 2671", "are you there?", map[string]any{"senderName": "Somebody else"})
	if second.Conversation.ID != conv.ID || second.Conversation.Contact.ID != conv.Contact.ID || second.Conversation.Contact.Name != "Ann" {
		t.Fatalf("second message went to %+v", second.Conversation)
	}
	// Replaying an external id stores nothing new.
	replay := c.inbound("WHATSAPP", "14155552671", "hi", map[string]any{"externalId": "wamid.1"})
	if replay.ID != first.ID {
		t.Fatalf("replay stored a new message %s", replay.ID)
	}
	if got := c.messageTexts(conv.ID); !slices.Equal(got, []string{"are you there?", "hi"}) {
		t.Fatalf("messages = %v", got)
	}
	if n := c.count(); n != 1 {
		t.Fatalf("%d contacts", n)
	}

	// A known contact is found by the channel's identity; media may carry
	// a caption inbound.
	bob := c.createContact("Bob", ident("INSTAGRAM", "@bob"))
	img := c.inbound("INSTAGRAM", "@Bob", "look", map[string]any{"type": "IMAGE", "contentUrl": "https://cdn.example/p.jpg"})
	if img.Conversation.Contact.ID != bob.ID || img.Conversation.ChatID != "bob" || deref(img.ContentURL) != "https://cdn.example/p.jpg" {
		t.Fatalf("instagram message = %+v", img)
	}

	// A phone identity is the WhatsApp number's too.
	carl := c.createContact("Carl", ident("PHONE", "+442071838750"))
	if m := c.inbound("WHATSAPP", "442071838750", "hi", nil); m.Conversation.Contact.ID != carl.ID {
		t.Fatalf("a WhatsApp message from Carl's phone went to %+v", m.Conversation.Contact)
	}

	// A closed conversation is not reused.
	c.do(`mutation($id: ID!) { setConversationStatus(id: $id, status: CLOSED) { id } }`, map[string]any{"id": conv.ID}, nil)
	next := c.inbound("WHATSAPP", "14155552671", "me again", nil)
	if next.Conversation.ID == conv.ID || next.Conversation.Contact.ID != conv.Contact.ID || next.Conversation.Status != "OPEN" {
		t.Fatalf("message after closing went to %+v", next.Conversation)
	}
	if n := c.count(); n != 3 {
		t.Fatalf("%d contacts", n)
	}
}

func TestSendMessage(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	in := c.inbound("WHATSAPP", "+14155552671", "hello", map[string]any{"externalId": "wamid.in"})
	conv := in.Conversation.ID

	text := c.send(map[string]any{"conversationId": conv, "type": "TEXT", "text": "hi there", "replyToId": in.ID})
	if text.Direction != "OUTBOUND" || text.Status != "SENT" || deref(text.Text) != "hi there" || text.ReplyTo == nil ||
		text.ReplyTo.ID != in.ID || !strings.HasPrefix(deref(text.ExternalID), "loopback-") || text.Conversation.Unanswered {
		t.Fatalf("text message = %+v", text)
	}
	sent := sentTo(e, text.ID)
	if len(sent) != 1 || sent[0].ChatID != "+14155552671" || sent[0].Channel != crmhub.ChannelWhatsApp ||
		deref(sent[0].ReplyToExtID) != "wamid.in" {
		t.Fatalf("the channel got %+v", sent)
	}

	img := c.send(map[string]any{"conversationId": conv, "type": "IMAGE", "contentUrl": " https://cdn.example/a.png ", "text": "caption"})
	if img.Type != "IMAGE" || deref(img.ContentURL) != "https://cdn.example/a.png" || deref(img.Text) != "caption" || img.Status != "SENT" {
		t.Fatalf("image message = %+v", img)
	}
	components := map[string]any{"body": []any{map[string]any{"type": "text", "text": "Ann"}}}
	tpl := c.send(map[string]any{"contactId": in.Conversation.Contact.ID, "channel": "WHATSAPP", "type": "TEMPLATE",
		"template": map[string]any{"name": "order_update", "language": "en_US", "components": components}})
	if tpl.Template == nil || tpl.Template.Name != "order_update" || tpl.Template.Language != "en_US" || tpl.Conversation.ID != conv {
		t.Fatalf("template message = %+v", tpl)
	}
	if got, ok := tpl.Template.Components.(map[string]any); !ok || len(got["body"].([]any)) != 1 {
		t.Errorf("template components = %#v", tpl.Template.Components)
	}
	if got := c.messageTexts(conv); len(got) != 4 || got[3] != "hello" || got[2] != "hi there" {
		t.Errorf("messages, newest first = %v", got)
	}
	if got := c.message(text.ID); got == nil || got.Status != "SENT" || got.ReplyTo.ID != in.ID {
		t.Errorf("message(id) = %+v", got)
	}
}

// TestServiceWindow checks the 24-hour window on both sides of its end.
func TestServiceWindow(t *testing.T) {
	clock := dbtest.NewClock()
	c := newEnvClock(t, clock).workspace()
	conv := c.inbound("WHATSAPP", "+14155552671", "hello", nil).Conversation.ID

	clock.Advance(23*time.Hour + 59*time.Minute)
	c.sendText(conv, "just in time")
	clock.Advance(2 * time.Minute) // 24h01m after the inbound message
	before := c.modelSnapshot()
	for _, typ := range []map[string]any{
		{"type": "TEXT", "text": "too late"},
		{"type": "IMAGE", "contentUrl": "https://cdn.example/a.png"},
		{"type": "DOCUMENT", "contentUrl": "https://cdn.example/a.pdf"},
	} {
		typ["conversationId"] = conv
		c.fail(sendMutation, map[string]any{"input": typ}, "OUTSIDE_SERVICE_WINDOW")
	}
	c.unchanged(t, before)
	tpl := map[string]any{"conversationId": conv, "type": "TEMPLATE", "template": map[string]any{"name": "reengage", "language": "en"}}
	if m := c.send(tpl); m.Status != "SENT" {
		t.Fatalf("template outside the window = %+v", m)
	}
	// A new inbound message opens the window again.
	c.inbound("WHATSAPP", "14155552671", "back", nil)
	c.sendText(conv, "welcome back")
}

func TestSendSuppressed(t *testing.T) {
	clock := dbtest.NewClock()
	c := newEnvClock(t, clock).workspace()
	in := c.inbound("WHATSAPP", "+14155552671", "hello", nil)
	conv, contact := in.Conversation.ID, in.Conversation.Contact.ID
	tpl := map[string]any{"conversationId": conv, "type": "TEMPLATE", "template": map[string]any{"name": "t", "language": "en"}}
	text := map[string]any{"conversationId": conv, "type": "TEXT", "text": "hi"}
	blocked := func(why string) {
		t.Helper()
		before := c.modelSnapshot()
		for _, m := range []map[string]any{text, tpl} {
			e := c.fail(sendMutation, map[string]any{"input": m}, "SUPPRESSED")
			if e.Message == "" {
				t.Errorf("%s: no message", why)
			}
		}
		c.unchanged(t, before)
	}

	// A suppression of another channel does not matter.
	c.suppress(contact, "EMAIL", "bounced", nil)
	c.sendText(conv, "still fine")

	exp := clock.Now().Add(time.Hour)
	c.suppress(contact, "WHATSAPP", "asked for a pause", &exp)
	blocked("active suppression")
	clock.Advance(time.Hour + time.Second)
	c.sendText(conv, "after the expiry")

	lifted := c.suppress(contact, "WHATSAPP", "complaint", nil)
	blocked("suppression without expiry")
	c.do(`mutation($id: ID!) { liftSuppression(id: $id) { id } }`, map[string]any{"id": lifted.ID}, nil)
	c.sendText(conv, "after the lift")

	c.setConsent(contact, "WHATSAPP", "OPTED_OUT", map[string]any{"source": "STOP"})
	blocked("opted out")
	c.setConsent(contact, "WHATSAPP", "PENDING", nil)
	c.sendText(conv, "pending is no opt-out")
	c.setConsent(contact, "WHATSAPP", "OPTED_IN", nil)
	c.sendText(conv, "opted in again")
}

func TestAssignAndStatus(t *testing.T) {
	c := newEnv(t).workspace()
	ann := c.newUser("ann", "Ann")
	conv := c.inbound("TELEGRAM", "@ann_t", "hello", nil).Conversation.ID
	assign := `mutation($id: ID!, $userId: ID) { assignConversation(id: $id, userId: $userId) { id assignee { id name } } }`
	var out struct {
		AssignConversation struct {
			ID       string
			Assignee *user
		}
	}
	c.do(assign, map[string]any{"id": conv, "userId": ann}, &out)
	if a := out.AssignConversation.Assignee; a == nil || a.ID != ann || a.Name != "Ann" {
		t.Fatalf("assignee = %+v", a)
	}
	var list struct {
		Conversations struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	c.do(`query($u: ID) { conversations(filter: {assigneeId: $u}) { edges { node { id } } } }`, map[string]any{"u": ann}, &list)
	if len(list.Conversations.Edges) != 1 || list.Conversations.Edges[0].Node.ID != conv {
		t.Errorf("conversations of Ann = %+v", list)
	}
	c.do(assign, map[string]any{"id": conv, "userId": nil}, &out)
	if out.AssignConversation.Assignee != nil {
		t.Fatalf("unassigned conversation has %+v", out.AssignConversation.Assignee)
	}

	status := `mutation($id: ID!, $status: ConversationStatus!) { setConversationStatus(id: $id, status: $status) { id status } }`
	for _, s := range []string{"PENDING", "CLOSED", "OPEN"} {
		var st struct{ SetConversationStatus struct{ Status string } }
		c.do(status, map[string]any{"id": conv, "status": s}, &st)
		if st.SetConversationStatus.Status != s {
			t.Fatalf("status = %s, want %s", st.SetConversationStatus.Status, s)
		}
	}
	runErrorCases(t, c, []errorCase{
		{"assign to a missing user", assign, map[string]any{"id": conv, "userId": "usr_" + strings.Repeat("0", 32)}, "NOT_FOUND", "userId"},
		{"assign a missing conversation", assign, map[string]any{"id": "cv_" + strings.Repeat("0", 32), "userId": ann}, "NOT_FOUND", "-"},
		{"unknown status", status, map[string]any{"id": conv, "status": "SNOOZED"}, "VALIDATION_ERROR", "status"},
		{"status of a missing conversation", status, map[string]any{"id": "cv_x", "status": "OPEN"}, "NOT_FOUND", "-"},
	})
}

func TestUnansweredCount(t *testing.T) {
	c := newEnv(t).workspace()
	ann, bob := c.newUser("ann", "Ann"), c.newUser("bob", "Bob")
	assign := func(conv, user string) {
		c.do(`mutation($id: ID!, $u: ID) { assignConversation(id: $id, userId: $u) { id } }`, map[string]any{"id": conv, "u": user}, nil)
	}
	a1 := c.inbound("WHATSAPP", "+14155550001", "1", nil).Conversation.ID
	a2 := c.inbound("WHATSAPP", "+14155550002", "2", nil).Conversation.ID
	b1 := c.inbound("EMAIL", "x@example.com", "3", nil).Conversation.ID
	c.inbound("SMS", "+14155550004", "4", nil) // nobody's
	assign(a1, ann)
	assign(a2, ann)
	assign(b1, bob)
	check := func(all, ofAnn, ofBob int) {
		t.Helper()
		if got := []int{c.unanswered(""), c.unanswered(ann), c.unanswered(bob)}; !slices.Equal(got, []int{all, ofAnn, ofBob}) {
			t.Fatalf("unanswered (all, Ann, Bob) = %v, want %v", got, []int{all, ofAnn, ofBob})
		}
	}
	check(4, 2, 1)
	c.sendText(a1, "answered")
	check(3, 1, 1)
	c.do(`mutation($id: ID!) { setConversationStatus(id: $id, status: CLOSED) { id } }`, map[string]any{"id": b1}, nil)
	check(2, 1, 0)
	c.inbound("WHATSAPP", "+14155550001", "one more thing", nil)
	check(3, 2, 0)
	if n := c.unanswered("usr_" + strings.Repeat("0", 32)); n != 0 {
		t.Errorf("unanswered of a missing user = %d", n)
	}
	if n := c.unanswered("garbage"); n != 0 {
		t.Errorf("unanswered of a malformed user id = %d", n)
	}
}

func TestUpdateMessageStatus(t *testing.T) {
	c := newEnv(t).workspace()
	conv := c.inbound("WHATSAPP", "+14155552671", "hello", nil).Conversation.ID
	m := c.sendText(conv, "one")
	update := `mutation($id: ID!, $status: MessageStatus!, $errorCode: String) {
		updateMessageStatus(id: $id, status: $status, errorCode: $errorCode) { id status errorCode } }`
	set := func(id, status string, code any) message {
		t.Helper()
		var out struct{ UpdateMessageStatus message }
		c.do(update, map[string]any{"id": id, "status": status, "errorCode": code}, &out)
		return out.UpdateMessageStatus
	}
	if got := set(m.ID, "DELIVERED", nil); got.Status != "DELIVERED" {
		t.Fatalf("status = %s", got.Status)
	}
	if got := set(m.ID, "READ", nil); got.Status != "READ" {
		t.Fatalf("status = %s", got.Status)
	}
	before := c.modelSnapshot()
	for _, s := range []string{"SENT", "DELIVERED", "QUEUED", "READ", "FAILED"} {
		if got := set(m.ID, s, nil); got.Status != "READ" {
			t.Fatalf("%s after READ gave %s", s, got.Status)
		}
	}
	c.unchanged(t, before)
	if got := c.message(m.ID); got.Status != "READ" {
		t.Fatalf("message reads %s", got.Status)
	}

	f := c.sendText(conv, "two")
	got := set(f.ID, "FAILED", "131047")
	if got.Status != "FAILED" || deref(got.ErrorCode) != "131047" {
		t.Fatalf("failed message = %+v", got)
	}
	if got := set(f.ID, "DELIVERED", nil); got.Status != "FAILED" || deref(got.ErrorCode) != "131047" {
		t.Fatalf("a failed message moved on: %+v", got)
	}
	runErrorCases(t, c, []errorCase{
		{"error code without FAILED", update, map[string]any{"id": m.ID, "status": "DELIVERED", "errorCode": "x"}, "VALIDATION_ERROR", "errorCode"},
		{"unknown status", update, map[string]any{"id": m.ID, "status": "SEEN"}, "VALIDATION_ERROR", "status"},
		{"missing message", update, map[string]any{"id": "msg_" + strings.Repeat("0", 32), "status": "READ"}, "NOT_FOUND", "-"},
		{"a conversation id", update, map[string]any{"id": conv, "status": "READ"}, "NOT_FOUND", "-"},
	})
}

// TestChannelDown sends while the channel is down: the message stays
// QUEUED, and the outbox delivers it once the channel is back and the retry
// is due. A refusal fails the message with the channel's code.
func TestChannelDown(t *testing.T) {
	clock := dbtest.NewClock()
	e := newEnvClock(t, clock)
	c := e.workspace()
	conv := c.inbound("WHATSAPP", "+14155552671", "hello", nil).Conversation.ID
	outbox := db.NewOutbox(e.conversations, time.Hour, slog.New(slog.DiscardHandler))
	ctx := context.Background()

	e.ch.FailWith(errors.New("connection refused"))
	m := c.sendText(conv, "are you there?")
	if m.Status != "QUEUED" || m.ErrorCode != nil {
		t.Fatalf("a send to a down channel = %+v", m)
	}
	// Still down when due: still queued.
	clock.Advance(10 * time.Second)
	if _, err := outbox.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.message(m.ID); got.Status != "QUEUED" {
		t.Fatalf("after a failed retry the message is %s", got.Status)
	}
	e.ch.FailWith(nil)
	// Back up, but the next retry is not due yet.
	if _, err := outbox.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.message(m.ID); got.Status != "QUEUED" || len(sentTo(e, m.ID)) != 0 {
		t.Fatalf("a retry ran before it was due: %+v", got)
	}
	clock.Advance(time.Minute)
	if _, err := outbox.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got := c.message(m.ID)
	if got.Status != "SENT" || !strings.HasPrefix(deref(got.ExternalID), "loopback-") || len(sentTo(e, m.ID)) != 1 {
		t.Fatalf("after the channel came back the message is %+v", got)
	}
	// Nothing is sent twice.
	clock.Advance(time.Hour)
	outbox.RunOnce(ctx)
	if n := len(sentTo(e, m.ID)); n != 1 {
		t.Fatalf("delivered %d times", n)
	}

	// A message the channel never takes fails after three days, visibly.
	e.ch.FailWith(errors.New("still down"))
	stuck := c.sendText(conv, "stuck")
	for range 80 {
		clock.Advance(time.Hour)
		outbox.RunOnce(ctx)
	}
	if got := c.message(stuck.ID); got.Status != "FAILED" || deref(got.ErrorCode) != db.ErrDeliveryExpired {
		t.Fatalf("a message queued for days = %+v", got)
	}

	e.ch.FailWith(&crmhub.SendError{Code: "CHANNEL_BLOCKED"})
	c.inbound("WHATSAPP", "+14155552671", "again", nil)
	refused := c.sendText(conv, "blocked")
	if refused.Status != "FAILED" || deref(refused.ErrorCode) != "CHANNEL_BLOCKED" {
		t.Fatalf("a refused message = %+v", refused)
	}
	e.ch.FailWith(nil)
	clock.Advance(time.Hour)
	outbox.RunOnce(ctx)
	if got := c.message(refused.ID); got.Status != "FAILED" || len(sentTo(e, refused.ID)) != 0 {
		t.Fatalf("a refused message was retried: %+v", got)
	}
}

func TestMessageBadInput(t *testing.T) {
	clock := dbtest.NewClock()
	c := newEnvClock(t, clock).workspace()
	wa := c.inbound("WHATSAPP", "+14155552671", "hello", nil)
	ig := c.inbound("INSTAGRAM", "ann", "hi", nil)
	other := c.inbound("SMS", "+14155550000", "other", nil)
	conv := wa.Conversation.ID
	send := func(kv ...any) map[string]any {
		in := map[string]any{"conversationId": conv}
		for i := 0; i < len(kv); i += 2 {
			in[kv[i].(string)] = kv[i+1]
		}
		return map[string]any{"input": in}
	}
	inbound := func(kv ...any) map[string]any {
		in := map[string]any{"channel": "WHATSAPP", "chatId": "+14155552671", "type": "TEXT", "text": "x"}
		for i := 0; i < len(kv); i += 2 {
			in[kv[i].(string)] = kv[i+1]
		}
		return map[string]any{"input": in}
	}
	long := strings.Repeat("a", 10001)
	img := "https://cdn.example/a.png"
	runErrorCases(t, c, []errorCase{
		{"send: unknown channel", sendMutation, send("conversationId", nil, "contactId", wa.Conversation.Contact.ID, "channel", "FAX",
			"type", "TEXT", "text", "x"), "VALIDATION_ERROR", "input.channel"},
		{"inbound: unknown channel", inboundMutation, inbound("channel", "FAX"), "VALIDATION_ERROR", "input.channel"},
		{"inbound: unknown channel (inline)", `mutation { recordInboundMessage(input: {channel: FAX, chatId: "1", type: TEXT, text: "x"}) { id } }`,
			nil, "VALIDATION_ERROR", "-"},
		{"text without text", sendMutation, send("type", "TEXT"), "VALIDATION_ERROR", "input.text"},
		{"text of blanks", sendMutation, send("type", "TEXT", "text", "   "), "VALIDATION_ERROR", "input.text"},
		{"image without content", sendMutation, send("type", "IMAGE", "text", "caption"), "VALIDATION_ERROR", "input.contentUrl"},
		{"content not http", sendMutation, send("type", "AUDIO", "contentUrl", "file:///etc/passwd"), "VALIDATION_ERROR", "input.contentUrl"},
		{"text over 10,000 characters", sendMutation, send("type", "TEXT", "text", long), "VALIDATION_ERROR", "input.text"},
		{"inbound text over 10,000 characters", inboundMutation, inbound("text", long), "VALIDATION_ERROR", "input.text"},
		{"text and content on Instagram", sendMutation, send("conversationId", ig.Conversation.ID, "type", "IMAGE", "contentUrl", img,
			"text", "caption"), "VALIDATION_ERROR", "input.text"},
		{"media on SMS", sendMutation, send("conversationId", other.Conversation.ID, "type", "IMAGE", "contentUrl", img),
			"VALIDATION_ERROR", "input.type"},
		{"template without name", sendMutation, send("type", "TEMPLATE", "template", map[string]any{"name": " ", "language": "en"}),
			"VALIDATION_ERROR", "input.template.name"},
		{"template name left out", sendMutation, send("type", "TEMPLATE", "template", map[string]any{"language": "en"}),
			"VALIDATION_ERROR", "input.template.name"},
		{"template without template", sendMutation, send("type", "TEMPLATE"), "VALIDATION_ERROR", "input.template"},
		{"template with text", sendMutation, send("type", "TEMPLATE", "text", "x", "template", map[string]any{"name": "t", "language": "en"}),
			"VALIDATION_ERROR", "input.text"},
		{"no conversation and no contact", sendMutation, send("conversationId", nil, "type", "TEXT", "text", "x"), "VALIDATION_ERROR", "input.conversationId"},
		{"missing conversation", sendMutation, send("conversationId", "cv_"+strings.Repeat("0", 32), "type", "TEXT", "text", "x"),
			"NOT_FOUND", "input.conversationId"},
		{"quoting a message of another conversation", sendMutation, send("type", "TEXT", "text", "x", "replyToId", ig.ID),
			"NOT_FOUND", "input.replyToId"},
		{"contact without an identity on the channel", sendMutation, send("conversationId", nil, "contactId", ig.Conversation.Contact.ID,
			"channel", "EMAIL", "type", "TEXT", "text", "x"), "VALIDATION_ERROR", "input.channel"},
		{"inbound: bad WhatsApp number", inboundMutation, inbound("chatId", "12"), "VALIDATION_ERROR", "input.chatId"},
		{"inbound: template", inboundMutation, inbound("type", "TEMPLATE", "text", nil), "VALIDATION_ERROR", "input.type"},
		{"inbound: without text", inboundMutation, inbound("text", nil), "VALIDATION_ERROR", "input.text"},
		{"inbound: from the future", inboundMutation, inbound("receivedAt", clock.Now().Add(time.Hour).Format(time.RFC3339)),
			"VALIDATION_ERROR", "input.receivedAt"},
	})
	// The longest text allowed is fine.
	if m := c.sendText(conv, strings.Repeat("a", 10000)); len(deref(m.Text)) != 10000 {
		t.Fatalf("a text of 10,000 characters came back with %d", len(deref(m.Text)))
	}
}

// TestMergeMovesDealsAndConversations merges a contact with a deal and a
// conversation into another and follows both through the API.
func TestMergeMovesDealsAndConversations(t *testing.T) {
	c := newEnv(t).workspace()
	target := c.createContact("Target", ident("EMAIL", "t@example.com"))
	in := c.inbound("WHATSAPP", "+14155552671", "hello", nil)
	source := in.Conversation.Contact.ID
	d := c.newDeal(map[string]any{"name": "Deal", "contactIds": []string{source}})
	c.do(mergeQuery, map[string]any{"t": target.ID, "s": []string{source}}, nil)

	var out struct {
		Contact struct {
			ID            string
			Conversations struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		Deal struct{ Contacts []struct{ ID string } }
	}
	c.do(`query($c: ID!, $d: ID!) { contact(id: $c) { id conversations(first: 5) { edges { node { id } } } }
		deal(id: $d) { contacts { id } } }`, map[string]any{"c": target.ID, "d": d.ID}, &out)
	if cv := out.Contact.Conversations.Edges; len(cv) != 1 || cv[0].Node.ID != in.Conversation.ID {
		t.Errorf("target's conversations = %+v", cv)
	}
	if got := c.contactDeals(target.ID); len(got) != 1 || got[0] != "Deal" {
		t.Errorf("target's deals = %v", got)
	}
	if cs := out.Deal.Contacts; len(cs) != 1 || cs[0].ID != target.ID {
		t.Errorf("deal contacts = %+v", cs)
	}
	// The next inbound message on the chat reaches the target's conversation.
	next := c.inbound("WHATSAPP", "+14155552671", "again", nil)
	if next.Conversation.ID != in.Conversation.ID || next.Conversation.Contact.ID != target.ID {
		t.Errorf("after the merge the message went to %+v", next.Conversation)
	}
}

// TestDeleteContactWithModel deletes a contact that has consents, a
// suppression, a deal and a conversation: the conversation goes with it,
// the deal stays without it.
func TestDeleteContactWithModel(t *testing.T) {
	c := newEnv(t).workspace()
	in := c.inbound("WHATSAPP", "+14155552671", "hello", nil)
	id := in.Conversation.Contact.ID
	c.setConsent(id, "WHATSAPP", "OPTED_IN", nil)
	c.suppress(id, "SMS", "x", nil)
	d := c.newDeal(map[string]any{"name": "Deal", "contactIds": []string{id}})
	c.do(`mutation($id: ID!) { deleteContact(id: $id) }`, map[string]any{"id": id}, nil)
	var out struct {
		Conversation *struct{ ID string }
		Deal         *deal
	}
	c.do(`query($cv: ID!, $d: ID!) { conversation(id: $cv) { id } deal(id: $d) { `+dealFields+` } }`,
		map[string]any{"cv": in.Conversation.ID, "d": d.ID}, &out)
	if out.Deal == nil || len(out.Deal.Contacts) != 0 {
		t.Errorf("the deal after its contact was deleted = %+v", out.Deal)
	}
	if out.Conversation != nil {
		t.Errorf("the conversation outlived its contact: %+v", out.Conversation)
	}
	// The number is free again: its next message makes a new contact.
	if again := c.inbound("WHATSAPP", "+14155552671", "hello?", nil); again.Conversation.Contact.ID == id {
		t.Errorf("a deleted contact came back: %+v", again.Conversation)
	}
}

// TestInboundMessageConnection: recordInboundMessage's connectionId ties
// the conversation to that connection (it was accepted and ignored); an id
// of another workspace's connection is NOT_FOUND and stores nothing.
func TestInboundMessageConnection(t *testing.T) {
	e := newEnv(t)
	a, b := e.workspace(), e.workspace()
	mine, theirs := a.wazzupConnection().ID, b.wazzupConnection().ID
	const q = `mutation($in: InboundMessageInput!) { recordInboundMessage(input: $in) { conversation { connection { id } } } }`
	in := func(conn string) map[string]any {
		return map[string]any{"in": map[string]any{"channel": "WHATSAPP", "chatId": "+14155552671", "type": "TEXT", "text": "hi",
			"connectionId": conn}}
	}
	before := a.modelSnapshot()
	a.fail(q, in(theirs), "NOT_FOUND", "input.connectionId")
	a.fail(q, in("conn_nonsense"), "NOT_FOUND", "input.connectionId")
	if after := a.modelSnapshot(); after != before {
		t.Fatal("a refused inbound message changed data")
	}
	var out struct {
		RecordInboundMessage struct {
			Conversation struct{ Connection *struct{ ID string } }
		}
	}
	a.do(q, in(mine), &out)
	if c := out.RecordInboundMessage.Conversation.Connection; c == nil || c.ID != mine {
		t.Fatalf("conversation connection %+v, want %s", c, mine)
	}
}
