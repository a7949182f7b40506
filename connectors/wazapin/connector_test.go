package wazapin

import (
	"fmt"
	"testing"

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
	connectortest.ServerFake
	s    *wazapintest.Server
	conn *Connector
}

func startFake(t *testing.T, opts wazapintest.Options) *fake {
	s := wazapintest.NewServer(t, opts)
	good, bad := connectortest.Connectors(t, NewConnector, connectors.Config{BaseURL: s.URL, APIKey: s.APIKey(), HTTPClient: s.Client()})
	f := &fake{s: s, conn: good.(*Connector)}
	f.ServerFake = connectortest.ServerFake{Conn: good, Bad: bad, Put: f.seed, Get: f.stored, Fail: f.fail, Total: s.Total}
	return f
}

// seed stores contacts as the connector would have created them.
func (f *fake) seed(t *testing.T, contacts []connectors.RemoteContact) {
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
	connectortest.Reshape(t, in, &c)
	c.Tags = rc.Tags
	return c
}

// stored reads the fake's contacts with their identities and tags.
func (f *fake) stored(t *testing.T) []connectors.RemoteContact {
	t.Helper()
	stored := f.s.Contacts()
	out := make([]connectors.RemoteContact, len(stored))
	for i, c := range stored {
		var w Contact
		var idents []Identity
		connectortest.Reshape(t, c, &w)
		connectortest.Reshape(t, c.Identities, &idents)
		tags := make([]Tag, len(c.Tags))
		for j, name := range c.Tags {
			tags[j] = Tag{Name: name}
		}
		out[i] = contactFromWire(w, idents, tags)
	}
	return out
}

// fail answers the next request with status and, when not empty,
// retryAfter.
func (f *fake) fail(status int, retryAfter string) {
	f.s.InjectNext(wazapintest.Fault{Status: status, RetryAfter: retryAfter})
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
