package wazera

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/crmhub/crmhub/connectors/connectortest"
)

// FuzzParseWebhook: any body, signed or not, is refused or decoded without
// panicking; a signature header passes only when it is the body's HMAC.
func FuzzParseWebhook(f *testing.F) {
	for _, name := range []string{"webhook_message_received.json", "webhook_message_delivered.json", "webhook_conversation_closed.json"} {
		doc, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc, "sha256=00")
	}
	f.Add([]byte(`{"event":"message.sent","data":{"status":"failed"}}`), "SHA256=zz")
	const secret = "whsec-fuzz"
	sign := func(body []byte) string { return "sha256=" + hmacHex(body, secret) }
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		h := http.Header{}
		h.Set(SignatureHeader, sign(body))
		if out, err := ParseWebhook(h, body, secret); err == nil {
			for _, in := range out {
				if connectortest.SetEvents(in) != 1 {
					t.Fatalf("%q decoded to an empty event %+v", body, in)
				}
			}
		}
		prefix, hexSig, ok := strings.Cut(strings.TrimSpace(sig), "=")
		want := ok && strings.EqualFold(prefix, "sha256") && strings.EqualFold(hexSig, hmacHex(body, secret))
		if got := VerifySignature(sig, body, secret) == nil; got != want {
			t.Fatalf("signature %q over %q: verified %v, want %v", sig, body, got, want)
		}
	})
}

func hmacHex(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}
