package connectors_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/wazapin"
	"github.com/crmhub/crmhub/connectors/wazelo"
	"github.com/crmhub/crmhub/connectors/wazera"
	"github.com/crmhub/crmhub/connectors/wazzup"
)

// FuzzRemoteResponses: whatever a CRM answers (any status, any body,
// any Retry-After), each connector's listing and upsert return a value or
// an error without panicking, a wait to honour is never negative, and an
// upsert reports one result per record. Seeded with the documents'
// example bodies.
func FuzzRemoteResponses(f *testing.F) {
	seeds := map[string]int{
		"wazzup/testdata/contacts_list_response.json":     200,
		"wazzup/testdata/contacts_invalid_response.json":  400,
		"wazzup/testdata/contacts_too_many_response.json": 400,
		"wazapin/testdata/resolve_response.json":          200,
		"wazapin/testdata/resolve_conflict_response.json": 409,
		"wazelo/testdata/contacts_list_response.json":     200,
		"wazelo/testdata/validation_error_response.json":  422,
		"wazera/testdata/error_response.json":             422,
	}
	for path, status := range seeds {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for kind := range 4 {
			f.Add(uint8(kind), uint16(status), "", b)
		}
	}
	f.Add(uint8(0), uint16(429), "2", []byte(`{}`))
	f.Add(uint8(2), uint16(200), "", []byte(`{"data":[],"meta":{"next_cursor":""}}`))
	kinds := []connectors.Factory{wazzup.NewConnector, wazapin.NewConnector, wazelo.NewConnector, wazera.NewConnector}
	f.Fuzz(func(t *testing.T, kind uint8, status uint16, retryAfter string, body []byte) {
		if status < 100 || status > 599 {
			status = 200
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(int(status))
			w.Write(body)
		}))
		defer srv.Close()
		c, err := kinds[int(kind)%len(kinds)](connectors.Config{BaseURL: srv.URL, APIKey: "k", HTTPClient: srv.Client(),
			Options: map[string]any{"defaultResponsibleUserId": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = c.ListContacts(ctx, "")
		var rl *connectors.RateLimitError
		if errors.As(err, &rl) && rl.RetryAfter < 0 {
			t.Fatalf("Retry-After %q read as %s", retryAfter, rl.RetryAfter)
		}
		name := "Ann"
		res, err := c.UpsertContacts(ctx, []connectors.RemoteContact{{ExternalID: strconv.Itoa(int(kind) + 1), Name: &name,
			Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityPhone, Value: "+14155552671"}}}})
		if err == nil && len(res) != 1 {
			t.Fatalf("status %d %q: %d results for one record", status, body, len(res))
		}
	})
}
