package wazzup_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

// newClient starts a fake with opts and a client pointed at it.
func newClient(t *testing.T, opts wazzuptest.Options) (*wazzup.Client, *wazzuptest.Server) {
	t.Helper()
	s := wazzuptest.NewServer(t, opts)
	c := wazzup.New(wazzup.Config{BaseURL: s.URL, APIKey: s.APIKey(), HTTPClient: s.Client()})
	return c, s
}

// decodeTestdata reads testdata/name into v.
func decodeTestdata(t *testing.T, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(readTestdata(t, name), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// contacts returns n valid contacts with ids c000, c001, ...
func contacts(n int) []wazzup.Contact {
	out := make([]wazzup.Contact, n)
	for i := range out {
		out[i] = wazzup.Contact{
			ID:                wazzup.ID(fmt.Sprintf("c%03d", i)),
			ResponsibleUserID: "1",
			Name:              fmt.Sprintf("Contact %d", i),
			ContactData:       []wazzup.ContactData{{ChatType: wazzup.ChatWhatsApp, ChatID: "79991114433"}},
		}
	}
	return out
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

// wantRequestError fails unless err is a *connectors.RequestError with
// status and code.
func wantRequestError(t *testing.T, err error, status int, code string) {
	t.Helper()
	re := errorAs[*connectors.RequestError](t, err)
	if re.Status != status || re.Code != code || re.Message == "" {
		t.Fatalf("got %+v, want %d %s with a message", re, status, code)
	}
}

func wantEqual[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}
