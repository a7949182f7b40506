package db_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors/loopback"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
)

type convFixture struct {
	clock *dbtest.Clock
	d     *db.DB
	ch    *loopback.Channel
	svc   *db.ConversationService
	ctx   context.Context
	ws    *crmhub.Workspace
}

func newConvFixture(t *testing.T) *convFixture {
	f := &convFixture{clock: dbtest.NewClock(), ch: &loopback.Channel{}}
	f.d = dbtest.Open(t, f.clock)
	f.svc = db.NewConversationService(f.d, f.ch)
	f.ctx, f.ws, _ = dbtest.Workspace(t, f.d)
	return f
}

func (f *convFixture) inbound(t *testing.T, chatID, ext string) *crmhub.Message {
	t.Helper()
	m, err := f.svc.RecordInboundMessage(f.ctx, crmhub.InboundMessageInput{Channel: crmhub.ChannelWhatsApp, ChatID: chatID,
		SenderName: ptr("Maria"), Type: crmhub.MessageText, Text: ptr("hello"), ExternalID: ptr(ext)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func text(conv uuid.UUID, s string) crmhub.SendMessageInput {
	return crmhub.SendMessageInput{ConversationID: &conv, Type: crmhub.MessageText, Text: &s}
}

func TestInboundMessages(t *testing.T) {
	f := newConvFixture(t)
	m := f.inbound(t, "79991112233", "wamid.1")
	conv, err := f.svc.Conversation(f.ctx, m.ConversationID)
	if err != nil || conv.ChatID != "+79991112233" || !conv.Unanswered || conv.Status != crmhub.ConversationOpen {
		t.Fatalf("conversation: %+v %v", conv, err)
	}
	contact, err := db.NewContactService(f.d).Contact(f.ctx, conv.ContactID)
	if err != nil || contact.Name == nil || *contact.Name != "Maria" {
		t.Fatalf("sender contact: %+v %v", contact, err)
	}
	// A replay returns the stored message; a second message reuses the conversation.
	if again := f.inbound(t, "+7 999 111-22-33", "wamid.1"); again.ID != m.ID {
		t.Errorf("replayed webhook stored a second message")
	}
	if m2 := f.inbound(t, "79991112233", "wamid.2"); m2.ConversationID != m.ConversationID {
		t.Errorf("second message opened a new conversation")
	}
	// The sender name of a known contact does not overwrite its name.
	db.NewContactService(f.d).UpdateContact(f.ctx, conv.ContactID, crmhub.ContactPatch{Name: ptr("Maria Ivanova")})
	f.inbound(t, "79991112233", "wamid.3")
	if c, _ := db.NewContactService(f.d).Contact(f.ctx, conv.ContactID); *c.Name != "Maria Ivanova" {
		t.Errorf("inbound sender name overwrote the contact's name: %q", *c.Name)
	}
	if n, _ := f.svc.UnansweredCount(f.ctx, nil); n != 1 {
		t.Errorf("unanswered = %d, want 1", n)
	}
	if _, err := f.svc.SendMessage(f.ctx, text(conv.ID, "hi!")); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.svc.UnansweredCount(f.ctx, nil); n != 0 {
		t.Errorf("unanswered after reply = %d, want 0", n)
	}
	if _, err := f.svc.RecordInboundMessage(f.ctx, crmhub.InboundMessageInput{Channel: "FAX", ChatID: "1", Type: crmhub.MessageText, Text: ptr("x")}); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("unknown channel: %v", err)
	}
}

func TestServiceWindow(t *testing.T) {
	f := newConvFixture(t)
	m := f.inbound(t, "447700900001", "w1")
	f.clock.Advance(23*time.Hour + 59*time.Minute)
	if _, err := f.svc.SendMessage(f.ctx, text(m.ConversationID, "inside")); err != nil {
		t.Fatalf("23h59m after the last inbound message: %v", err)
	}
	f.clock.Advance(2 * time.Minute)
	before := countAllEvents(t, f.d, f.ws.ID)
	if _, err := f.svc.SendMessage(f.ctx, text(m.ConversationID, "outside")); crmhub.ErrorCode(err) != crmhub.EOUTSIDEWINDOW {
		t.Fatalf("24h01m after: %v, want OUTSIDE_SERVICE_WINDOW", err)
	}
	if countAllEvents(t, f.d, f.ws.ID) != before {
		t.Errorf("a refused send emitted events")
	}
	tpl := crmhub.SendMessageInput{ConversationID: &m.ConversationID, Type: crmhub.MessageTemplate,
		Template: &crmhub.Template{Name: "reminder", Language: "en"}}
	sent, err := f.svc.SendMessage(f.ctx, tpl)
	if err != nil || sent.Status != crmhub.MessageSent || sent.ExternalID == nil {
		t.Fatalf("template outside the window: %+v %v", sent, err)
	}
}

func TestSendRules(t *testing.T) {
	f := newConvFixture(t)
	m := f.inbound(t, "447700900002", "w1")
	conv := m.ConversationID
	long := strings.Repeat("я", crmhub.MaxMessageText+1)
	for _, tc := range []struct {
		name string
		in   crmhub.SendMessageInput
		code string
	}{
		{"no text", crmhub.SendMessageInput{ConversationID: &conv, Type: crmhub.MessageText}, crmhub.EINVALID},
		{"text too long", text(conv, long), crmhub.EINVALID},
		{"media without url", crmhub.SendMessageInput{ConversationID: &conv, Type: crmhub.MessageImage}, crmhub.EINVALID},
		{"template without name", crmhub.SendMessageInput{ConversationID: &conv, Type: crmhub.MessageTemplate,
			Template: &crmhub.Template{Language: "en"}}, crmhub.EINVALID},
		{"unknown conversation", text(uuid.New(), "x"), crmhub.ENOTFOUND},
		{"quote from elsewhere", crmhub.SendMessageInput{ConversationID: &conv, Type: crmhub.MessageText, Text: ptr("x"),
			ReplyToID: ptr(uuid.New())}, crmhub.ENOTFOUND},
	} {
		if _, err := f.svc.SendMessage(f.ctx, tc.in); crmhub.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	if _, err := f.svc.SendMessage(f.ctx, text(conv, strings.Repeat("я", crmhub.MaxMessageText))); err != nil {
		t.Errorf("text of exactly the limit: %v", err)
	}
	// Instagram forbids text beside media.
	ig, err := f.svc.RecordInboundMessage(f.ctx, crmhub.InboundMessageInput{Channel: crmhub.ChannelInstagram, ChatID: "@some.one",
		Type: crmhub.MessageText, Text: ptr("hi")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.SendMessage(f.ctx, crmhub.SendMessageInput{ConversationID: &ig.ConversationID, Type: crmhub.MessageImage,
		ContentURL: ptr("https://cdn.example/a.png"), Text: ptr("caption")})
	if crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("caption on Instagram: %v", err)
	}
	// Quoting a message of the same conversation is fine.
	if _, err := f.svc.SendMessage(f.ctx, crmhub.SendMessageInput{ConversationID: &conv, Type: crmhub.MessageText,
		Text: ptr("re"), ReplyToID: &m.ID}); err != nil {
		t.Errorf("reply: %v", err)
	}
}

func TestSuppressedSend(t *testing.T) {
	f := newConvFixture(t)
	m := f.inbound(t, "447700900003", "w1")
	conv, _ := f.svc.Conversation(f.ctx, m.ConversationID)
	consents := db.NewConsentService(f.d)
	s, err := consents.SuppressContact(f.ctx, conv.ContactID, crmhub.SuppressionInput{Channel: crmhub.ChannelWhatsApp,
		Reason: "complaint", ExpiresAt: ptr(f.clock.Now().Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SendMessage(f.ctx, text(conv.ID, "x")); crmhub.ErrorCode(err) != crmhub.ESUPPRESSED {
		t.Fatalf("suppressed: %v", err)
	}
	f.clock.Advance(time.Hour) // the suppression expires by itself
	if _, err := f.svc.SendMessage(f.ctx, text(conv.ID, "x")); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	_ = s
	if _, err := consents.SetConsent(f.ctx, conv.ContactID, crmhub.ConsentInput{Channel: crmhub.ChannelWhatsApp, Status: crmhub.ConsentOptedOut}); err != nil {
		t.Fatal(err)
	}
	tpl := crmhub.SendMessageInput{ConversationID: &conv.ID, Type: crmhub.MessageTemplate, Template: &crmhub.Template{Name: "n", Language: "en"}}
	if _, err := f.svc.SendMessage(f.ctx, tpl); crmhub.ErrorCode(err) != crmhub.ESUPPRESSED {
		t.Fatalf("opted out, template: %v", err)
	}
}

func TestOutboxRetries(t *testing.T) {
	f := newConvFixture(t)
	m := f.inbound(t, "447700900004", "w1")
	f.ch.FailWith(errors.New("connection refused"))
	queued, err := f.svc.SendMessage(f.ctx, text(m.ConversationID, "are you there?"))
	if err != nil || queued.Status != crmhub.MessageQueued {
		t.Fatalf("send while the channel is down: %+v %v", queued, err)
	}
	outbox := db.NewOutbox(f.svc, time.Hour, nil)
	f.ch.FailWith(nil)
	if n, _ := outbox.RunOnce(f.ctx); n != 0 {
		t.Errorf("retried before the backoff elapsed (%d)", n)
	}
	f.clock.Advance(10 * time.Second)
	if n, err := outbox.RunOnce(f.ctx); n != 1 || err != nil {
		t.Fatalf("outbox attempted %d (%v), want 1", n, err)
	}
	got, _ := f.svc.Message(f.ctx, queued.ID)
	if got.Status != crmhub.MessageSent || len(f.ch.Sent()) != 1 {
		t.Fatalf("after retry: status %s, %d sent", got.Status, len(f.ch.Sent()))
	}
	if n, _ := outbox.RunOnce(f.ctx); n != 0 {
		t.Errorf("a sent message was attempted again")
	}

	// A refusal is final and keeps the remote's code.
	f.ch.FailWith(&crmhub.SendError{Code: "CHANNEL_BLOCKED", Message: "blocked"})
	failed, err := f.svc.SendMessage(f.ctx, text(m.ConversationID, "x"))
	if err != nil || failed.Status != crmhub.MessageFailed || failed.ErrorCode == nil || *failed.ErrorCode != "CHANNEL_BLOCKED" {
		t.Fatalf("refused: %+v %v", failed, err)
	}

	// Status updates only move forward.
	for _, s := range []crmhub.MessageStatus{crmhub.MessageRead, crmhub.MessageSent, crmhub.MessageDelivered} {
		if _, err := f.svc.UpdateMessageStatus(f.ctx, got.ID, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ = f.svc.Message(f.ctx, got.ID); got.Status != crmhub.MessageRead {
		t.Errorf("status after READ then SENT: %s, want READ", got.Status)
	}
}

func TestConversationIsolationAndAssignment(t *testing.T) {
	f := newConvFixture(t)
	m := f.inbound(t, "447700900005", "w1")
	ctxB, _, _ := dbtest.Workspace(t, f.d)
	if _, err := f.svc.Conversation(ctxB, m.ConversationID); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("B reads A's conversation: %v", err)
	}
	if _, err := f.svc.SendMessage(ctxB, text(m.ConversationID, "x")); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("B sends into A's conversation: %v", err)
	}
	if _, err := f.svc.SetConversationStatus(ctxB, m.ConversationID, crmhub.ConversationClosed); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("B closes A's conversation: %v", err)
	}
	if _, err := f.svc.UpdateMessageStatus(ctxB, m.ID, crmhub.MessageRead, nil); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("B updates A's message: %v", err)
	}
	if _, err := f.svc.AssignConversation(f.ctx, m.ConversationID, ptr(uuid.New())); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("assign to a missing user: %v", err)
	}
	closed, err := f.svc.SetConversationStatus(f.ctx, m.ConversationID, crmhub.ConversationClosed)
	if err != nil || closed.Status != crmhub.ConversationClosed {
		t.Fatal(err)
	}
	// A new message after closing opens a new conversation.
	if m2 := f.inbound(t, "447700900005", "w2"); m2.ConversationID == m.ConversationID {
		t.Errorf("message after close went into the closed conversation")
	}
	if _, err := f.svc.SetConversationStatus(f.ctx, m.ConversationID, crmhub.ConversationOpen); crmhub.ErrorCode(err) != crmhub.ECONFLICT {
		t.Errorf("reopening beside a live conversation: %v", err)
	}
	page, err := f.svc.MessagesByConversation(f.ctx, []crmhub.PageKey{{ParentID: m.ConversationID, First: 10}})
	if err != nil || len(page[crmhub.PageKey{ParentID: m.ConversationID, First: 10}].Edges) != 1 {
		t.Errorf("messages page: %v", err)
	}
}

func TestMergeMovesConversationsAndKeepsStrictestConsent(t *testing.T) {
	f := newConvFixture(t)
	contacts, consents := db.NewContactService(f.d), db.NewConsentService(f.d)
	m := f.inbound(t, "447700900006", "w1")
	conv, _ := f.svc.Conversation(f.ctx, m.ConversationID)
	target, err := contacts.CreateContact(f.ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{email("target@x.io")}})
	if err != nil {
		t.Fatal(err)
	}
	set := func(id uuid.UUID, ch crmhub.Channel, s crmhub.ConsentStatus) {
		if _, err := consents.SetConsent(f.ctx, id, crmhub.ConsentInput{Channel: ch, Status: s}); err != nil {
			t.Fatal(err)
		}
	}
	set(target.ID, crmhub.ChannelWhatsApp, crmhub.ConsentOptedIn)
	set(conv.ContactID, crmhub.ChannelWhatsApp, crmhub.ConsentOptedOut)
	set(target.ID, crmhub.ChannelEmail, crmhub.ConsentPending)
	set(conv.ContactID, crmhub.ChannelEmail, crmhub.ConsentOptedIn)
	if _, err := contacts.MergeContacts(f.ctx, target.ID, []uuid.UUID{conv.ContactID}, false); err != nil {
		t.Fatal(err)
	}
	moved, _ := f.svc.Conversation(f.ctx, conv.ID)
	if moved.ContactID != target.ID {
		t.Errorf("conversation still on the source contact")
	}
	cur, _ := consents.ConsentsByContact(f.ctx, []uuid.UUID{target.ID})
	got := map[crmhub.Channel]crmhub.ConsentStatus{}
	for _, c := range cur[target.ID] {
		got[c.Channel] = c.Status
	}
	if got[crmhub.ChannelWhatsApp] != crmhub.ConsentOptedOut || got[crmhub.ChannelEmail] != crmhub.ConsentPending || len(got) != 2 {
		t.Errorf("consents after merge: %v, want WHATSAPP OPTED_OUT and EMAIL PENDING", got)
	}
	hist, _ := consents.ConsentHistory(f.ctx, []crmhub.ConsentHistoryKey{{ContactID: target.ID}})
	if n := len(hist[crmhub.ConsentHistoryKey{ContactID: target.ID}]); n != 4 {
		t.Errorf("history after merge has %d entries, want 4", n)
	}
	// The merged contact's opt-out now blocks sends on its old conversation.
	if _, err := f.svc.SendMessage(f.ctx, text(conv.ID, "x")); crmhub.ErrorCode(err) != crmhub.ESUPPRESSED {
		t.Errorf("send after merge: %v, want SUPPRESSED", err)
	}
}
