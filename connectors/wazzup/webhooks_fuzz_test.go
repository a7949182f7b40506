package wazzup_test

import (
	"testing"

	"github.com/crmhub/crmhub/connectors/wazzup"
)

// FuzzParseWebhook: any body is refused or decoded without panicking, and
// what is decoded names a chat, a message or a channel.
func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(`{"messages": [{"messageId": "m1", "channelId": "ch-1", "chatType": "whatsapp", "chatId": "79124698489",
	  "dateTime": 1700000000000, "type": 1, "status": 99, "text": "Hi", "authorType": 99, "authorName": "Ivan"}],
	 "channels": [{"channelId": "ch-1", "transport": "whatsapp", "plainId": "79001234567", "state": "active"}]}`))
	f.Add([]byte(`{"statuses": [{"messageId": "m1", "timestamp": "2025-01-01T00:00:00Z", "status": "error", "error": {"error": "BAD_CONTACT"}}]}`))
	f.Add([]byte(`{"test": true}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := wazzup.ParseWebhook(body)
		if err != nil {
			return
		}
		for _, in := range out {
			switch {
			case in.Message != nil:
				if in.Message.ExternalID == "" {
					t.Fatalf("%q: a message without an id", body)
				}
			case in.Status != nil:
				if in.Status.ExternalID == "" {
					t.Fatalf("%q: a status without a message id", body)
				}
			case in.Channel == nil:
				t.Fatalf("%q decoded to an empty event", body)
			}
		}
	})
}
