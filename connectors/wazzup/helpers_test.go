package wazzup_test

import (
	"fmt"
	"testing"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
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

// wantRequestError fails unless err is a *connectors.RequestError with
// status and code.
func wantRequestError(t *testing.T, err error, status int, code string) {
	t.Helper()
	re := connectortest.ErrorAs[*connectors.RequestError](t, err)
	if re.Status != status || re.Code != code || re.Message == "" {
		t.Fatalf("got %+v, want %d %s with a message", re, status, code)
	}
}
