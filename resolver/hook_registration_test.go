package resolver_test

import (
	"strings"
	"testing"
)

// TestConnectionHookRegistration: a connection shows how the
// registration of its hook URL stands; without CRMHUB_PUBLIC_URL (this
// handler's connection service has none) it is MANUAL and says why.
func TestConnectionHookRegistration(t *testing.T) {
	e := newEnv(t)
	a := e.workspace()
	id := a.wazzupConnection().ID
	var out struct {
		Connection struct {
			HookRegistration struct {
				Status, Note  string
				URL           *string
				Attempts      int
				NextAttemptAt *string
			}
		}
	}
	a.do(`query($id: ID!) { connection(id: $id) { hookRegistration { status note url attempts nextAttemptAt } } }`,
		map[string]any{"id": id}, &out)
	h := out.Connection.HookRegistration
	if h.Status != "MANUAL" || !strings.Contains(h.Note, "CRMHUB_PUBLIC_URL is not set") || h.URL != nil || h.Attempts != 0 ||
		h.NextAttemptAt != nil {
		t.Fatalf("hookRegistration %+v", h)
	}
}

// TestInboundMessageSenderIdentifiers: recordInboundMessage's
// senderIdentifiers become identities of the sender; one that belongs to
// another contact is left out (the chat decides); one that does not
// normalize is VALIDATION_ERROR on its path.
func TestInboundMessageSenderIdentifiers(t *testing.T) {
	e := newEnv(t)
	a := e.workspace()
	conn := a.wazzupConnection().ID
	const q = `mutation($in: InboundMessageInput!) { recordInboundMessage(input: $in) {
		conversation { contact { id identities { type value source } } } } }`
	in := func(chat, ext string) map[string]any {
		return map[string]any{"in": map[string]any{"channel": "WHATSAPP", "chatId": chat, "type": "TEXT", "text": "hi",
			"connectionId": conn, "senderIdentifiers": []map[string]any{{"type": "EXTERNAL_ID", "value": ext, "source": conn}}}}
	}
	type identity struct{ Type, Value, Source string }
	var out struct {
		RecordInboundMessage struct {
			Conversation struct {
				Contact struct {
					ID         string
					Identities []identity
				}
			}
		}
	}
	a.do(q, in("+14155552671", "cnt_1"), &out)
	first := out.RecordInboundMessage.Conversation.Contact
	if len(first.Identities) != 2 || first.Identities[1] != (identity{"EXTERNAL_ID", "cnt_1", conn}) &&
		first.Identities[0] != (identity{"EXTERNAL_ID", "cnt_1", conn}) {
		t.Fatalf("identities %+v", first.Identities)
	}
	// A new number naming cnt_1 is the same person writing from it.
	a.do(q, in("+14155552672", "cnt_1"), &out)
	if c := out.RecordInboundMessage.Conversation.Contact; c.ID != first.ID || len(c.Identities) != 3 {
		t.Fatalf("cnt_1 from a second number: %+v", c)
	}
	// A number that is another contact's keeps its contact: cnt_1 is left
	// out rather than the message refused.
	other := in("+14155552674", "cnt_2")
	a.do(q, other, &out)
	third := out.RecordInboundMessage.Conversation.Contact
	a.do(q, in("+14155552674", "cnt_1"), &out)
	if c := out.RecordInboundMessage.Conversation.Contact; c.ID != third.ID || len(c.Identities) != 2 {
		t.Fatalf("cnt_1 from another contact's number: %+v", c)
	}
	bad := in("+14155552673", "x")
	bad["in"].(map[string]any)["senderIdentifiers"] = []map[string]any{{"type": "EMAIL", "value": " "}}
	a.fail(q, bad, "VALIDATION_ERROR", "input.senderIdentifiers[0].value")
}
