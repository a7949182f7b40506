package safehttp

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestClientRefusesPrivateAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/away" {
			http.Redirect(w, r, "/there", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	_, err := NewClient(5*time.Second, false).Get(srv.URL) // 127.0.0.1
	if !errors.Is(err, ErrAddressNotAllowed) {
		t.Fatalf("GET of a loopback address: %v, want ErrAddressNotAllowed", err)
	}

	allow := NewClient(5*time.Second, true)
	resp, err := allow.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
	resp, err = allow.Get(srv.URL + "/away")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/there" {
		t.Fatalf("a redirect was followed: status %d", resp.StatusCode)
	}
}
