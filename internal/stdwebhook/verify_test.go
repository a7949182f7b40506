package stdwebhook

import "testing"

// The example of the Standard Webhooks specification.
func TestVerifySpecExample(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts     = "1614265330"
		body   = `{"test": 2432232314}`
		sig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	if !Verify(secret, id, ts, []byte(body), "v1,bm9wZQ== "+sig) {
		t.Fatal("the spec's signature does not verify")
	}
	for _, bad := range []struct{ secret, id, ts, body, header string }{
		{secret, id, ts, body + " ", sig},
		{secret, id, "1614265331", body, sig},
		{secret, "msg_other", ts, body, sig},
		{"whsec_bm9wZQ==", id, ts, body, sig},
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id, ts, body, sig},
		{secret, id, ts, body, "v2," + sig[3:]},
		{secret, id, ts, body, ""},
	} {
		if Verify(bad.secret, bad.id, bad.ts, []byte(bad.body), bad.header) {
			t.Errorf("verified %+v", bad)
		}
	}
}
