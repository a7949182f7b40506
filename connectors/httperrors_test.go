package connectors

import (
	"errors"
	"fmt"
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
		tr.Err.Error() != "crm: list: bad gateway" || tr.Code != "" {
		t.Errorf("502: %v", err)
	}
	if err := StatusError("crm", "send", answer(500, ""), "BUSY", "try later", nil); !errors.As(err, &tr) || tr.Code != "BUSY" {
		t.Errorf("500 with a code: %v", err)
	}
	if err := StatusError("crm", "list", answer(422, ""), "INVALID", "bad", nil); err != nil {
		t.Errorf("422 is the client's to map: %v", err)
	}
	if BodyMessage("", []byte("  plain text "), 400) != "plain text" || BodyMessage("", nil, 404) != "Not Found" ||
		BodyMessage("given", []byte("x"), 400) != "given" {
		t.Error("BodyMessage fallbacks")
	}
}

type namedFields struct{ *RequestError }

func (namedFields) FieldNames() []string { return []string{"email"} }

func (e namedFields) Unwrap() error { return e.RequestError }

func TestRecordError(t *testing.T) {
	bare := &RequestError{Status: 405, Message: "no"}
	tests := []struct {
		name        string
		err         error
		defaultCode func(int) string
		want        ItemError
		ok          bool
	}{
		{"not a refusal", &TransientError{Status: 502}, http.StatusText, ItemError{}, false},
		{"no code, no default", bare, nil, ItemError{Index: 2, ID: "x", Message: "no"}, true},
		{"no code, status text", bare, http.StatusText, ItemError{Index: 2, ID: "x", Code: "Method Not Allowed", Message: "no"}, true},
		{"remote code and fields", namedFields{&RequestError{Status: 422, Code: "BAD", Message: "m"}}, http.StatusText,
			ItemError{Index: 2, ID: "x", Code: "BAD", Fields: []string{"email"}, Message: "m"}, true},
	}
	for _, tt := range tests {
		got, ok := RecordError(2, "x", tt.err, tt.defaultCode)
		if ok != tt.ok || got.Code != tt.want.Code || got.Message != tt.want.Message || got.Index != tt.want.Index ||
			got.ID != tt.want.ID || len(got.Fields) != len(tt.want.Fields) {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHasStatus(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &RequestError{Status: 404})
	if !HasStatus(err, 404) || HasStatus(err, 409) || HasStatus(errors.New("x"), 404) {
		t.Error("HasStatus does not read the RequestError's status")
	}
}
