package wazelo

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/crmhub/crmhub/connectors/connectortest"
)

// FuzzParseWebhook: any body, signed or not, is refused or decoded without
// panicking; a signature header passes only when it is the body's HMAC.
func FuzzParseWebhook(f *testing.F) {
	doc, err := os.ReadFile("testdata/message_received_webhook.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc, "sha256=00")
	f.Add([]byte(`[{"event":"message.delivered","data":{"message_id":"m1"}},{"event":"contact.created"}]`), "")
	f.Add([]byte(`{"event":"message.received","data":{"type":"image"}}`), "zz")
	const secret = "whsec-fuzz"
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		h := http.Header{}
		h.Set(SignatureHeader, Sign(body, secret))
		if out, err := (&Connector{}).ParseWebhook(h, body, secret); err == nil {
			for _, in := range out {
				if connectortest.SetEvents(in) != 1 {
					t.Fatalf("%q decoded to an empty event %+v", body, in)
				}
			}
		}
		h.Set(SignatureHeader, sig)
		want := strings.EqualFold(strings.TrimPrefix(strings.TrimSpace(sig), "sha256="), Sign(body, secret))
		if got := VerifySignature(h, body, secret) == nil; got != want {
			t.Fatalf("signature %q over %q: verified %v, want %v", sig, body, got, want)
		}
	})
}
