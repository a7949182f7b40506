package connectors

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestStatusError(t *testing.T) {
	answer := func(status int, retry string) *http.Response {
		r := &http.Response{StatusCode: status, Header: http.Header{}}
		if retry != "" {
			r.Header.Set("Retry-After", retry)
		}
		return r
	}
	var rl *RateLimitError
	if err := StatusError("crm", "list", answer(429, "5"), "", "slow down", nil); !errors.As(err, &rl) || rl.RetryAfter != 5*time.Second {
		t.Errorf("429: %v", err)
	}
	var auth *AuthError
	if err := StatusError("crm", "list", answer(403, ""), "NO", "denied", nil); !errors.As(err, &auth) || auth.Message != "NO: denied" {
		t.Errorf("403: %v", err)
	}
	var tr *TransientError
	if err := StatusError("crm", "list", answer(502, ""), "", "bad gateway", nil); !errors.As(err, &tr) || tr.Status != 502 ||
		tr.Err.Error() != "crm: list: bad gateway" {
		t.Errorf("502: %v", err)
	}
	if err := StatusError("crm", "list", answer(422, ""), "INVALID", "bad", nil); err != nil {
		t.Errorf("422 is the client's to map: %v", err)
	}
	if BodyMessage("", []byte("  plain text "), 400) != "plain text" || BodyMessage("", nil, 404) != "Not Found" ||
		BodyMessage("given", []byte("x"), 400) != "given" {
		t.Error("BodyMessage fallbacks")
	}
}
