// Package stdwebhook verifies Standard Webhooks signatures the way a
// receiver would. Tests use it as an implementation independent of the
// signer in package webhook, so a signing bug cannot hide behind itself.
package stdwebhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Verify reports whether the webhook-signature header holds, among its
// space-separated "v1,<base64>" entries, the HMAC-SHA256 of
// "id.timestamp.body" keyed by the base64-decoded part of the secret after
// "whsec_". The comparison is constant-time.
func Verify(secret, id, timestamp string, body []byte, header string) bool {
	enc, ok := strings.CutPrefix(secret, "whsec_")
	key, err := base64.StdEncoding.DecodeString(enc)
	if !ok || err != nil || len(key) == 0 {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for part := range strings.SplitSeq(header, " ") {
		if sig, ok := strings.CutPrefix(part, "v1,"); ok {
			if got, err := base64.StdEncoding.DecodeString(sig); err == nil && hmac.Equal(got, want) {
				return true
			}
		}
	}
	return false
}
