package connectors

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "7": 7 * time.Second, " 2 ": 2 * time.Second, "-3": 0, "soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := ParseRetryAfter(v, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}

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
