package wazapintest

import (
	"net/http/httptest"
	"testing"

	"github.com/crmhub/crmhub/connectors/internal/fakeserver"
)

// Server is a Fake served over HTTP on a local port.
type Server struct {
	*Fake
	*httptest.Server
}

// NewServer starts a Fake on an httptest.Server. When t is not nil the
// server is closed at the end of the test; otherwise the caller closes it.
func NewServer(t testing.TB, opts Options) *Server {
	f := New(opts)
	return &Server{Fake: f, Server: fakeserver.Serve(t, f)}
}

// APIKey returns the key the server accepts.
func (s *Server) APIKey() string { return s.Fake.opts.APIKey }
