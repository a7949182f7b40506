package wazapin

import (
	"testing"

	"github.com/crmhub/crmhub/connectors/wazapin/wazapintest"
)

// newClient starts a fake with opts and a client pointed at it.
func newClient(t *testing.T, opts wazapintest.Options) (*Client, *wazapintest.Server) {
	t.Helper()
	s := wazapintest.NewServer(t, opts)
	return New(Config{BaseURL: s.URL, APIKey: s.APIKey(), HTTPClient: s.Client()}), s
}

// lastBody returns the body of the last request the fake logged on route.
func lastBody(t *testing.T, s *wazapintest.Server, route string) []byte {
	t.Helper()
	reqs := s.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Route == route {
			return reqs[i].Body
		}
	}
	t.Fatalf("no request on %s", route)
	return nil
}
