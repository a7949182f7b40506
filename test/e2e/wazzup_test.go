package e2e

import (
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

// TestWazzupThroughTheServer drives a real `crmhub serve` against the fake
// Wazzup: a deal created in the hub is pushed under an integer id the hub
// allocates and linked to it, and each documented send_message error ends
// as the message status its classification says.
func TestWazzupThroughTheServer(t *testing.T) {
	const channel = "3376e1c3-26a6-478b-b964-72bf01cc22cb"
	documented := wazzuptest.SendErrorCodes()
	fake := wazzuptest.NewServer(t, wazzuptest.Options{
		Deals:    []wazzuptest.Deal{{ID: 7, Name: "Made in Wazzup", Contacts: []string{}}},
		Users:    []wazzuptest.User{{ID: "agent-1", Name: "Agent"}},
		Channels: []wazzuptest.Channel{{ChannelID: channel, Transport: "whatsapp", PlainID: "79865784457", State: "active"}},
		// A message whose text is a documented code is refused with it.
		RefuseMessage: func(m wazzuptest.Message) string {
			if slices.Contains(documented, m.Text) {
				return m.Text
			}
			return ""
		},
	})
	dir := t.TempDir()
	s := start(t, build(t, dir), filepath.Join(dir, "dev-key"), []string{"DATABASE_URL=" + dbtest.URL(t),
		"CRMHUB_SECRET_KEY=" + db.NewSecretKey(), "CRMHUB_CONNECTOR_ALLOW_PRIVATE=true"})
	var conn struct{ CreateConnection struct{ ID string } }
	s.do(t, `mutation($url: String!, $key: String!, $opts: JSON) { createConnection(input: {kind: WAZZUP, name: "Wazzup",
		baseUrl: $url, apiKey: $key, direction: BOTH, entities: [USERS, CONTACTS, DEALS], options: $opts}) { id } }`,
		map[string]any{"url": fake.URL, "key": fake.APIKey(),
			"opts": map[string]any{wazzup.OptionChannelID: channel, wazzup.OptionDefaultResponsibleUserID: "agent-1"}}, &conn)
	connID := conn.CreateConnection.ID

	t.Run("hub deal pushed and linked", func(t *testing.T) {
		var contact struct{ CreateContact struct{ ID string } }
		s.do(t, `mutation { createContact(input: {name: "Ivan", identifiers: [{type: WHATSAPP, value: "+79991114433"}]}) { id } }`,
			nil, &contact)
		var deals struct {
			UpsertDeals struct {
				Results []struct{ Deal struct{ ID string } }
			}
		}
		s.do(t, `mutation($c: ID!) { upsertDeals(input: [{name: "Made in the hub", contactIds: [$c]}]) { results { deal { id } } } }`,
			map[string]any{"c": contact.CreateContact.ID}, &deals)
		dealID := deals.UpsertDeals.Results[0].Deal.ID

		waitRun(t, s, connID)
		remote, ok := fake.Deal(8) // above Wazzup's own deal 7
		if !ok || remote.Name != "Made in the hub" || !slices.Equal(remote.Contacts, []string{contact.CreateContact.ID}) {
			t.Fatalf("remote deals %+v", fake.Deals())
		}
		var got struct {
			Deal struct {
				ExternalRefs []struct{ Source, ExternalID string }
			}
		}
		s.do(t, `query($id: ID!) { deal(id: $id) { externalRefs { source externalId } } }`, map[string]any{"id": dealID}, &got)
		if refs := got.Deal.ExternalRefs; len(refs) != 1 || refs[0].Source != connID || refs[0].ExternalID != strconv.Itoa(8) {
			t.Fatalf("deal refs %+v", refs)
		}
		// The next run finds the deal linked: nothing is pushed again and
		// the pulled copy is the same hub deal.
		waitRun(t, s, connID)
		var count struct{ Deals struct{ TotalCount int } }
		s.do(t, `{ deals { totalCount } }`, nil, &count)
		if count.Deals.TotalCount != 2 || len(fake.Deals()) != 2 {
			t.Fatalf("%d hub deals, %d remote deals, want 2 and 2", count.Deals.TotalCount, len(fake.Deals()))
		}
	})

	t.Run("send errors end as the right status", func(t *testing.T) {
		var in struct {
			RecordInboundMessage struct{ Conversation struct{ ID string } }
		}
		s.do(t, `mutation($conn: ID!) { recordInboundMessage(input: {channel: WHATSAPP, chatId: "79990001122", type: TEXT,
			text: "hello", connectionId: $conn}) { conversation { id } } }`, map[string]any{"conn": connID}, &in)
		temporary := map[string]bool{wazzup.CodeMessageChannelUnavailable: true, wazzup.CodeMessageDownloadContentError: true,
			wazzup.CodeMessagesCanNotAdd: true}
		for _, code := range append(documented, "a message that goes through") {
			var sent struct {
				SendMessage struct {
					Status    string
					ErrorCode *string
				}
			}
			s.do(t, `mutation($cv: ID!, $text: String!) { sendMessage(input: {conversationId: $cv, type: TEXT, text: $text}) {
				status errorCode } }`, map[string]any{"cv": in.RecordInboundMessage.Conversation.ID, "text": code}, &sent)
			got := sent.SendMessage
			switch {
			case !slices.Contains(documented, code):
				if got.Status != "SENT" {
					t.Errorf("accepted message: %+v", got)
				}
			case temporary[code]:
				if got.Status != "QUEUED" || got.ErrorCode != nil {
					t.Errorf("%s: %s %v, want QUEUED for a retry", code, got.Status, got.ErrorCode)
				}
			case got.Status != "FAILED" || got.ErrorCode == nil || *got.ErrorCode != code:
				t.Errorf("%s: %s %v, want FAILED with the code", code, got.Status, got.ErrorCode)
			}
		}
		if n := len(fake.Messages()); n != 1 {
			t.Fatalf("Wazzup took %d messages, want 1", n)
		}
	})
}

// waitRun queues a run of the connection and waits until it succeeds.
func waitRun(t *testing.T, s *server, connID string) {
	t.Helper()
	var queued struct{ RunSync struct{ ID string } }
	s.do(t, `mutation($id: ID!) { runSync(connectionId: $id) { id } }`, map[string]any{"id": connID}, &queued)
	var got struct {
		SyncRun struct {
			Status string
			Errors []struct{ Code, Message string }
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for got.SyncRun.Status != "SUCCEEDED" {
		if time.Now().After(deadline) || got.SyncRun.Status == "FAILED" {
			t.Fatalf("run: %+v\n%s", got, s.Stderr)
		}
		time.Sleep(50 * time.Millisecond)
		s.do(t, `query($id: ID!) { syncRun(id: $id) { status errors { code message } } }`, map[string]any{"id": queued.RunSync.ID}, &got)
	}
}
