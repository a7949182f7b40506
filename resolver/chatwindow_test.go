package resolver_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/chatwindow"
	"github.com/crmhub/crmhub/connectors/wazera"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/resolver"
)

// TestChatWindowURL: Connection.chatWindowUrl asks the fake Wazzup's
// iframe route for the user's window, global or scoped to a contact's
// chats; a CRM without a chat window answers null; unknown ids and a
// contact without a chat Wazzup shows are refused.
func TestChatWindowURL(t *testing.T) {
	fake := wazzuptest.NewServer(t, wazzuptest.Options{})
	e := newEnv(t, func(cfg *resolver.Config) {
		cfg.ChatWindows = &chatwindow.Service{Connections: cfg.Connections.(*db.ConnectionService), Users: cfg.Users,
			Contacts: cfg.Contacts, HTTPClient: fake.Client(),
			Registry: connectors.Registry{crmhub.ConnectorWazzup: wazzup.NewConnector, crmhub.ConnectorWazera: wazera.NewConnector}}
	})
	c := e.workspace()
	var ids struct {
		Wazzup, Wazera struct{ ID string }
		Users          struct {
			Results []struct{ User struct{ ID string } }
		}
		Contact, Email struct{ ID string }
	}
	c.do(`mutation($url: String!, $key: String!) {
	  wazzup: createConnection(input: {kind: WAZZUP, name: "W", baseUrl: $url, apiKey: $key}) { id }
	  wazera: createConnection(input: {kind: WAZERA, name: "Z", baseUrl: $url, apiKey: "k"}) { id }
	  users: upsertUsers(input: [{externalId: "agent-7", name: "Anna"}]) { results { user { id } } }
	  contact: createContact(input: {name: "Ivan", identifiers: [{type: WHATSAPP, value: "+79991114433"},
	    {type: INSTAGRAM, value: "@ivan.shop"}]}) { id }
	  email: createContact(input: {name: "Mail only", identifiers: [{type: EMAIL, value: "m@example.com"}]}) { id }
	}`, map[string]any{"url": fake.URL, "key": fake.APIKey()}, &ids)
	user := ids.Users.Results[0].User.ID
	const q = `query($conn: ID!, $user: ID!, $contact: ID, $active: Channel) { connection(id: $conn) {
	  chatWindowUrl(userId: $user, contactId: $contact, activeChannel: $active) } }`
	var got struct {
		Connection struct{ ChatWindowURL *string }
	}

	c.do(q, map[string]any{"conn": ids.Wazzup.ID, "user": user}, &got)
	frames := fake.Iframes()
	if got.Connection.ChatWindowURL == nil || !strings.HasPrefix(*got.Connection.ChatWindowURL, wazzuptest.IframeURLPrefix) ||
		len(frames) != 1 || frames[0].Scope != "global" || frames[0].UserID != "agent-7" || frames[0].UserName != "Anna" {
		t.Fatalf("global window %v, requests %+v", got.Connection.ChatWindowURL, frames)
	}

	c.do(q, map[string]any{"conn": ids.Wazzup.ID, "user": user, "contact": ids.Contact.ID, "active": "INSTAGRAM"}, &got)
	card := fake.Iframes()[1]
	want := []wazzuptest.IframeChat{{ChatType: "instagram", ChatID: "ivan.shop", Name: "Ivan"},
		{ChatType: "whatsapp", ChatID: "79991114433", Name: "Ivan"}}
	slices.SortFunc(card.Filter, func(a, b wazzuptest.IframeChat) int { return strings.Compare(a.ChatType, b.ChatType) })
	if *got.Connection.ChatWindowURL != card.URL || card.Scope != "card" || !slices.Equal(card.Filter, want) ||
		card.ActiveChat == nil || *card.ActiveChat != want[0] {
		t.Fatalf("card window %v, request %+v", *got.Connection.ChatWindowURL, card)
	}

	c.do(q, map[string]any{"conn": ids.Wazera.ID, "user": user}, &got)
	if got.Connection.ChatWindowURL != nil {
		t.Fatalf("Wazera has no chat window, got %q", *got.Connection.ChatWindowURL)
	}
	c.fail(q, map[string]any{"conn": ids.Wazzup.ID, "user": "usr_nope"}, "NOT_FOUND", "userId")
	c.fail(q, map[string]any{"conn": ids.Wazzup.ID, "user": ids.Contact.ID}, "NOT_FOUND", "userId")
	c.fail(q, map[string]any{"conn": ids.Wazzup.ID, "user": user, "contact": user}, "NOT_FOUND", "contactId")
	c.fail(q, map[string]any{"conn": ids.Wazzup.ID, "user": user, "contact": ids.Email.ID}, "VALIDATION_ERROR", "contactId")
	c.fail(q, map[string]any{"conn": ids.Wazzup.ID, "user": user, "contact": ids.Contact.ID, "active": "VK"},
		"VALIDATION_ERROR", "activeChannel")
	c.fail(q, map[string]any{"conn": ids.Wazzup.ID, "user": user, "active": "VK"}, "VALIDATION_ERROR", "activeChannel")
	if n := len(fake.Iframes()); n != 2 {
		t.Fatalf("%d iframe requests, want 2", n)
	}

	// Another workspace's user or contact is not found.
	other := e.workspace()
	var theirs struct{ CreateContact struct{ ID string } }
	other.do(`mutation { createContact(input: {identifiers: [{type: WHATSAPP, value: "+79990000001"}]}) { id } }`, nil, &theirs)
	c.fail(q, map[string]any{"conn": ids.Wazzup.ID, "user": user, "contact": theirs.CreateContact.ID}, "NOT_FOUND", "contactId")

	// Without conversations:read the field is refused.
	var key struct{ CreateApiKey struct{ Secret string } }
	c.do(`mutation { createApiKey(name: "conn", scopes: ["connectors:manage"]) { secret } }`, nil, &key)
	e.client(key.CreateApiKey.Secret).fail(q, map[string]any{"conn": ids.Wazzup.ID, "user": user}, "FORBIDDEN")
}
