package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/internal/stdwebhook"
)

// request is what the test server got.
type request struct {
	header http.Header
	body   []byte
}

// serve starts a server on 127.0.0.1 that hands each request to got and
// answers with answer.
func serve(t *testing.T, answer http.HandlerFunc) (*httptest.Server, chan request) {
	t.Helper()
	got := make(chan request, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- request{header: r.Header.Clone(), body: b}
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestSendSignsWithEveryKey(t *testing.T) {
	srv, got := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "ok")
	})
	s := NewSender(Config{AllowPrivate: true, Timeout: 5 * time.Second})
	keys := [][]byte{[]byte("new key, 32 bytes long, or so..."), []byte("old key")}
	at := time.Unix(1767225600, 0)
	body := []byte(`{"id":"e1","type":"contact.created"}`)
	a, retryAfter := s.Send(context.Background(), srv.URL+"/hook", "whd_1", body, keys, at)
	if a.StatusCode != http.StatusAccepted || a.ResponseSnippet != "ok" || a.Error != "" || !a.At.Equal(at) || retryAfter != "120" {
		t.Fatalf("attempt %+v, Retry-After %q", a, retryAfter)
	}
	r := <-got
	h := r.header
	if h.Get("Content-Type") != "application/json" || h.Get("User-Agent") != "crmhub-webhooks/1" || h.Get("webhook-id") != "whd_1" ||
		h.Get("webhook-timestamp") != strconv.FormatInt(at.Unix(), 10) || string(r.body) != string(body) {
		t.Fatalf("request %v %s", h, r.body)
	}
	sigs := strings.Fields(h.Get("webhook-signature"))
	if len(sigs) != 2 {
		t.Fatalf("webhook-signature %q, want one a key", h.Get("webhook-signature"))
	}
	for i, k := range keys {
		if secret := "whsec_" + b64(k); !stdwebhook.Verify(secret, "whd_1", h.Get("webhook-timestamp"), r.body, sigs[i]) {
			t.Errorf("signature %d does not verify with its key", i)
		}
	}
}

func TestSendSnippet(t *testing.T) {
	long := strings.Repeat("é", crmhub.MaxWebhookResponseSnippet) // 2 bytes each: the limit cuts one in half
	srv, _ := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "a\x00b"+long)
	})
	a, _ := NewSender(Config{AllowPrivate: true}).Send(context.Background(), srv.URL, "whd_1", nil, nil, time.Now())
	if a.StatusCode != 500 || !strings.HasPrefix(a.ResponseSnippet, "abé") || !utf8.ValidString(a.ResponseSnippet) ||
		len(a.ResponseSnippet) > crmhub.MaxWebhookResponseSnippet || len(a.ResponseSnippet) < crmhub.MaxWebhookResponseSnippet-3 {
		t.Fatalf("attempt %d with snippet of %d bytes %.20q", a.StatusCode, len(a.ResponseSnippet), a.ResponseSnippet)
	}
}

func TestSendFailures(t *testing.T) {
	release := make(chan struct{})
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		case "/away":
			http.Redirect(w, r, "/there", http.StatusFound)
		}
	})
	defer close(release)
	ctx := context.Background()

	a, _ := NewSender(Config{AllowPrivate: true, Timeout: 200 * time.Millisecond}).Send(ctx, srv.URL+"/slow", "whd_1", nil, nil, time.Now())
	if a.StatusCode != 0 || a.Error != "timed out after 200ms" || a.LatencyMS < 200 {
		t.Errorf("slow receiver: %+v", a)
	}
	a, _ = NewSender(Config{AllowPrivate: true}).Send(ctx, srv.URL+"/away", "whd_1", nil, nil, time.Now())
	if a.StatusCode != http.StatusFound || a.Error != "" {
		t.Errorf("redirect: %+v, want the 302 as the answer", a)
	}
	a, _ = NewSender(Config{}).Send(ctx, srv.URL, "whd_1", nil, nil, time.Now())
	if a.StatusCode != 0 || !strings.Contains(a.Error, "not allowed") {
		t.Errorf("loopback without AllowPrivate: %+v", a)
	}
	a, _ = NewSender(Config{}).Send(ctx, "http://bad host/", "whd_1", nil, nil, time.Now())
	if a.StatusCode != 0 || a.Error == "" || a.LatencyMS != 0 {
		t.Errorf("bad URL: %+v", a)
	}
	if got := NewSender(Config{}).Timeout(); got != 10*time.Second {
		t.Errorf("default timeout %v", got)
	}
}
