package wazzup

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

// TestIframeAnswers reads the window URL from each answer shape the
// client accepts, and refuses an answer without an http(s) URL.
func TestIframeAnswers(t *testing.T) {
	for body, want := range map[string]string{
		`{"url": "https://app.wazzup24.com/x"}`:  "https://app.wazzup24.com/x",
		`{"link": "https://app.wazzup24.com/y"}`: "https://app.wazzup24.com/y",
		`"https://app.wazzup24.com/z"`:           "https://app.wazzup24.com/z",
		`{"url": "javascript:alert(1)"}`:         "",
		`{}`:                                     "",
	} {
		h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v2/iframe" || !strings.HasPrefix(r.Header.Get("Authorization"), "Basic ") {
				http.Error(w, "wrong request", http.StatusBadRequest)
				return
			}
			fmt.Fprint(w, body)
		}))
		got, err := New(Config{BaseURL: h.URL, APIKey: "k"}).Iframe(t.Context(), IframeRequest{Scope: ScopeGlobal})
		h.Close()
		if got != want || (want == "") != (err != nil) {
			t.Errorf("%s: got %q, %v", body, got, err)
		}
	}
}

// TestChatWindowRequests: the fake refuses a card without chats, and the
// connector refuses to ask for one.
func TestChatWindowRequests(t *testing.T) {
	f := startFake(t, wazzuptest.Options{}, nil)
	c := New(Config{BaseURL: f.s.URL, APIKey: f.s.APIKey(), HTTPClient: f.s.Client()})
	_, err := c.Iframe(t.Context(), IframeRequest{User: IframeUser{ID: "1", Name: "A"}, Scope: ScopeCard})
	if re := connectortest.ErrorAs[*connectors.RequestError](t, err); re.Status != http.StatusBadRequest || re.Code != CodeValidation {
		t.Fatalf("card without chats: %+v", re)
	}

	email := &connectors.ChatWindowContact{Name: "M", Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityEmail, Value: "m@x.io"}}}
	_, err = f.conn.ChatWindowURL(t.Context(), connectors.ChatWindowRequest{UserID: "1", UserName: "A", Contact: email})
	if crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Fatalf("contact without chats: %v", err)
	}
	tg := &connectors.ChatWindowContact{Name: "T", Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityTelegram, Value: "123456"}}}
	ch := crmhub.ChannelTelegram
	url, err := f.conn.ChatWindowURL(t.Context(), connectors.ChatWindowRequest{UserID: "1", UserName: "A", Contact: tg, ActiveChannel: &ch})
	frames := f.s.Iframes()
	if err != nil || len(frames) != 1 || frames[0].URL != url || frames[0].ActiveChat == nil ||
		*frames[0].ActiveChat != (wazzuptest.IframeChat{ChatType: "telegram", ChatID: "123456", Name: "T"}) {
		t.Fatalf("telegram card: %q %v %+v", url, err, frames)
	}
}
