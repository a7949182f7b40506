package wazapin

import (
	"testing"

	"github.com/crmhub/crmhub/connectors/wazapin/wazapintest"
)

// TestResolveFallsBackToLookup: against a deployment without /resolve the
// client falls back to the /lookup alias on the route's 404 and keeps
// using it, while a contact that is not there is still a not-found.
func TestResolveFallsBackToLookup(t *testing.T) {
	s := wazapintest.NewServer(t, wazapintest.Options{LegacyLookup: true,
		Contacts: []wazapintest.Contact{{ID: "cnt_1", PhoneNumber: "+6281234567890", Name: "Ujang"}}})
	c := New(Config{BaseURL: s.URL, APIKey: s.APIKey(), HTTPClient: s.Client()})
	phone := []Identity{{Type: IdentifierPhone, Value: "+6281234567890"}}
	got, err := c.ResolveContact(t.Context(), phone)
	if err != nil || got.ID != "cnt_1" {
		t.Fatalf("resolve: %+v, %v", got, err)
	}
	if s.Calls(wazapintest.RouteResolve) != 1 || s.Calls(wazapintest.RouteLookup) != 1 {
		t.Fatalf("resolve %d, lookup %d calls", s.Calls(wazapintest.RouteResolve), s.Calls(wazapintest.RouteLookup))
	}
	// Later calls go straight to /lookup; a miss is the documented 404.
	_, err = c.ResolveContact(t.Context(), []Identity{{Type: IdentifierPhone, Value: "+6289999999999"}})
	if !IsNotFound(err) {
		t.Fatalf("miss: %v", err)
	}
	if s.Calls(wazapintest.RouteResolve) != 1 || s.Calls(wazapintest.RouteLookup) != 2 {
		t.Fatalf("after the fallback: resolve %d, lookup %d calls", s.Calls(wazapintest.RouteResolve), s.Calls(wazapintest.RouteLookup))
	}
}

// TestResolveNotFoundDoesNotFallBack: a current deployment's not_found is
// an answer, not a missing route.
func TestResolveNotFoundDoesNotFallBack(t *testing.T) {
	s := wazapintest.NewServer(t, wazapintest.Options{})
	c := New(Config{BaseURL: s.URL, APIKey: s.APIKey(), HTTPClient: s.Client()})
	_, err := c.ResolveContact(t.Context(), []Identity{{Type: IdentifierPhone, Value: "+6281234567890"}})
	if !IsNotFound(err) || s.Calls(wazapintest.RouteLookup) != 0 || c.legacy.Load() {
		t.Fatalf("%v; lookup calls %d", err, s.Calls(wazapintest.RouteLookup))
	}
}
