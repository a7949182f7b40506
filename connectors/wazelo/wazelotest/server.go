package wazelotest

import (
	"net/http/httptest"
	"testing"

	"github.com/crmhub/crmhub/connectors/internal/fakeserver"
)

// Server is a Fake served over HTTP on a local port. BaseURL is the API
// root to give a client ("/v1" included).
type Server struct {
	*Fake
	*httptest.Server
	BaseURL string
}

// NewServer starts a Fake on an httptest.Server. When t is not nil the
// server is closed at the end of the test; otherwise the caller closes it.
func NewServer(t testing.TB, opts Options) *Server {
	f := New(opts)
	s := fakeserver.Serve(t, f)
	return &Server{Fake: f, Server: s, BaseURL: s.URL + "/v1"}
}
