package wazapin

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/crmhub/crmhub/connectors/wazapin/wazapintest"
)

// newClient starts a fake with opts and a client pointed at it.
func newClient(t *testing.T, opts wazapintest.Options) (*Client, *wazapintest.Server) {
	t.Helper()
	s := wazapintest.NewServer(t, opts)
	return New(Config{BaseURL: s.URL, APIKey: s.APIKey(), HTTPClient: s.Client()}), s
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeTestdata(t *testing.T, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(readTestdata(t, name), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// wantJSONEqual fails unless got and the JSON in want hold the same value.
func wantJSONEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v in %s", what, err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\ngot  %s\nwant %s", what, got, want)
	}
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

// errorAs fails unless err holds a T and returns it.
func errorAs[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error %v (%T) is not a %T", err, err, target)
	}
	return target
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\ngot  %+v\nwant %+v", what, got, want)
	}
}
