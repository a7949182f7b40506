package wazelo

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazelo/wazelotest"
)

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Start:          func(t *testing.T) connectortest.Fake { return startFake(t, wazelotest.Options{}) },
		Contact:        sampleContact,
		InvalidContact: invalidContact,
	})
}

// fake is a wazelotest server seen in domain terms, for connectortest.
type fake struct {
	s    *wazelotest.Server
	conn *Connector
}

// startFake starts a fake with opts and a connector pointed at it.
func startFake(t *testing.T, opts wazelotest.Options) *fake {
	t.Helper()
	s := wazelotest.NewServer(t, opts)
	return &fake{s: s, conn: connectorFor(s, s.APIKey())}
}

// connectorFor returns a connector that uses s with key.
func connectorFor(s *wazelotest.Server, key string) *Connector {
	c, err := NewConnector(connectors.Config{BaseURL: s.BaseURL, APIKey: key, HTTPClient: s.Client()})
	if err != nil {
		panic(err) // NewConnector refuses no config
	}
	return c.(*Connector)
}

func (f *fake) Connector() connectors.Connector { return f.conn }

func (f *fake) BadKey() connectors.Connector {
	return connectorFor(f.s, "not-"+f.s.APIKey())
}

// Seed stores contacts through the JSON shape the API carries.
func (f *fake) Seed(t *testing.T, contacts []connectors.RemoteContact) {
	t.Helper()
	wire := make([]Contact, len(contacts))
	for i, rc := range contacts {
		wire[i] = contactToWire(rc)
		wire[i].ID = rc.ExternalID
	}
	var stored []wazelotest.Contact
	reshape(t, wire, &stored)
	f.s.PutContacts(stored...)
}

func (f *fake) Stored(t *testing.T) []connectors.RemoteContact {
	t.Helper()
	var wire []Contact
	reshape(t, f.s.Contacts(), &wire)
	out := make([]connectors.RemoteContact, len(wire))
	for i, c := range wire {
		out[i] = contactFromWire(c)
	}
	return out
}

func (f *fake) InjectRateLimit(retryAfter time.Duration) {
	f.s.InjectNext(wazelotest.Fault{Status: 429, RetryAfter: strconv.Itoa(int(retryAfter / time.Second))})
}

func (f *fake) InjectServerError() { f.s.InjectNext(wazelotest.Fault{Status: 500}) }

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

// sampleContact is a contact Wazelo keeps in full: a WhatsApp number, an
// email on every other one, tags and custom fields.
func sampleContact(i int) connectors.RemoteContact {
	c := connectors.RemoteContact{
		ExternalID:   fmt.Sprintf("cnt_s%04d", i),
		Name:         ptr(fmt.Sprintf("Contact %d", i)),
		Identifiers:  []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: fmt.Sprintf("+91987%07d", i)}},
		Tags:         []string{"lead"},
		CustomFields: map[string]any{"city": "Pune"},
	}
	if i%2 == 0 {
		c.Identifiers = append(c.Identifiers, crmhub.Identifier{Type: crmhub.IdentityEmail, Value: fmt.Sprintf("c%d@example.com", i)})
	}
	return c
}

// invalidContact has a phone number too short for Wazelo.
func invalidContact(i int) connectors.RemoteContact {
	c := sampleContact(i)
	c.Identifiers = []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "+9199"}}
	return c
}

func ptr[T any](v T) *T { return &v }
