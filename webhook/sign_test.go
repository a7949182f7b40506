package webhook

import (
	"encoding/base64"
	"strconv"
	"testing"

	"github.com/crmhub/crmhub/internal/stdwebhook"
)

// The example of the Standard Webhooks specification, and the independent
// verifier on keys of every size.
func TestSignature(t *testing.T) {
	const secret = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, err := base64.StdEncoding.DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	got := Signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Signature = %s, want the spec's %s", got, want)
	}
	for _, n := range []int{1, 16, 32, 64} {
		key := make([]byte, n)
		for i := range key {
			key[i] = byte(i * 7)
		}
		body, ts := []byte(`{"id":"e1"}`), int64(1700000000+n)
		sig := Signature(key, "whd_1", ts, body)
		secret := "whsec_" + b64(key)
		if !stdwebhook.Verify(secret, "whd_1", strconv.FormatInt(ts, 10), body, sig) {
			t.Errorf("key of %d bytes: %s does not verify", len(key), sig)
		}
		if stdwebhook.Verify(secret, "whd_2", strconv.FormatInt(ts, 10), body, sig) {
			t.Errorf("key of %d bytes: verifies for another id", len(key))
		}
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
