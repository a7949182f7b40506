package reqlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/internal/reqlog"
	"github.com/google/uuid"
)

func TestValidID(t *testing.T) {
	for _, c := range []struct {
		id   string
		want bool
	}{
		{"abc-123", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{"has space", false},
		{"new\nline", false},
		{"ünï", false},
	} {
		if got := reqlog.ValidID(c.id); got != c.want {
			t.Errorf("ValidID(%q) = %v, want %v", c.id, got, c.want)
		}
	}
	if id := reqlog.NewID(); !reqlog.ValidID(id) || id == reqlog.NewID() {
		t.Errorf("NewID gave %q", id)
	}
}

// TestHandlerAddsRequestFields: a line logged with a request's context
// carries its id, and its workspace and key once authentication set them,
// also through the outer context the access log uses.
func TestHandlerAddsRequestFields(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(reqlog.NewHandler(slog.NewJSONHandler(&buf, nil))).With("svc", "x")
	info := &reqlog.Info{ID: "req-1"}
	outer := reqlog.With(context.Background(), info)
	log.InfoContext(outer, "before auth")
	p := &crmhub.Principal{WorkspaceID: uuid.New(), APIKeyID: uuid.New()}
	info.SetPrincipal(p)
	log.InfoContext(outer, "after auth")
	log.InfoContext(context.Background(), "no request")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var got []map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if got[0]["request_id"] != "req-1" || got[0]["workspace_id"] != nil {
		t.Errorf("before auth: %v", got[0])
	}
	if got[1]["request_id"] != "req-1" || got[1]["workspace_id"] != p.WorkspaceID.String() ||
		got[1]["api_key_id"] != p.APIKeyID.String() || got[1]["svc"] != "x" {
		t.Errorf("after auth: %v", got[1])
	}
	if _, ok := got[2]["request_id"]; ok {
		t.Errorf("outside a request: %v", got[2])
	}
}
