package wazapin

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazapin/wazapintest"
)

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Start:          func(t *testing.T) connectortest.Fake { return startFake(t, wazapintest.Options{}) },
		Contact:        sampleContact,
		InvalidContact: invalidContact,
	})
}

// fake is a wazapintest server seen in domain terms, for connectortest.
type fake struct {
	s    *wazapintest.Server
	conn *Connector
}

func startFake(t *testing.T, opts wazapintest.Options) *fake {
	t.Helper()
	s := wazapintest.NewServer(t, opts)
	conn, err := NewConnector(connectors.Config{BaseURL: s.URL, APIKey: s.APIKey(), HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return &fake{s: s, conn: conn.(*Connector)}
}

func (f *fake) Connector() connectors.Connector { return f.conn }

func (f *fake) BadKey() connectors.Connector {
	c, err := NewConnector(connectors.Config{BaseURL: f.s.URL, APIKey: "not-" + f.s.APIKey(), HTTPClient: f.s.Client()})
	if err != nil {
		panic(err)
	}
	return c
}

// Seed stores contacts as the connector would have created them.
func (f *fake) Seed(t *testing.T, contacts []connectors.RemoteContact) {
	t.Helper()
	for _, rc := range contacts {
		f.s.PutContacts(seedContact(t, rc))
	}
}

// seedContact is the fake's record of rc created by the connector.
func seedContact(t *testing.T, rc connectors.RemoteContact) wazapintest.Contact {
	t.Helper()
	in := contactInput(rc)
	in.ExternalSource, in.ExternalID = ptr(ExternalSource), ptr(rc.ExternalID)
	var c wazapintest.Contact
	reshape(t, in, &c)
	c.Tags = rc.Tags
	return c
}

func (f *fake) Stored(t *testing.T) []connectors.RemoteContact {
	t.Helper()
	stored := f.s.Contacts()
	out := make([]connectors.RemoteContact, len(stored))
	for i, c := range stored {
		var w Contact
		var idents []Identity
		reshape(t, c, &w)
		reshape(t, c.Identities, &idents)
		tags := make([]Tag, len(c.Tags))
		for j, name := range c.Tags {
			tags[j] = Tag{Name: name}
		}
		out[i] = contactFromWire(w, idents, tags)
	}
	return out
}

func (f *fake) InjectRateLimit(retryAfter time.Duration) {
	f.s.InjectNext(wazapintest.Fault{Status: 429, RetryAfter: strconv.Itoa(int(retryAfter / time.Second))})
}

func (f *fake) InjectServerError() { f.s.InjectNext(wazapintest.Fault{Status: 500}) }

func (f *fake) Requests() int { return f.s.Total() }

// reshape moves v into out through JSON.
func reshape(t *testing.T, v, out any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, out)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// sampleContact is a contact Wazapin keeps in full: a name, a phone
// number and an email, the fields a contact has besides identities the
// document gives no way to write.
func sampleContact(i int) connectors.RemoteContact {
	return connectors.RemoteContact{
		ExternalID: fmt.Sprintf("contact_%04d", i),
		Name:       ptr(fmt.Sprintf("Contact %d", i)),
		Identifiers: []crmhub.Identifier{
			{Type: crmhub.IdentityPhone, Value: fmt.Sprintf("+62812%07d", i)},
			{Type: crmhub.IdentityEmail, Value: fmt.Sprintf("c%d@example.com", i)},
		},
	}
}

// invalidContact has an email the remote refuses.
func invalidContact(i int) connectors.RemoteContact {
	c := sampleContact(i)
	c.Identifiers[1].Value = "not-an-email"
	return c
}
