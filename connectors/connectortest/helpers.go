package connectortest

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/crmhub/crmhub/connectors"
)

// The helpers below are what every connector package's own tests need
// beside the suite: the assertions they share, the testdata payloads, and
// ServerFake, which makes a Fake of a fake server's parts.

// ErrorAs fails the test unless err holds a T, and returns it.
func ErrorAs[T error](t testing.TB, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error %v (%T) is not a %T", err, err, target)
	}
	return target
}

// WantEqual fails the test unless got and want are deeply equal.
func WantEqual[T any](t testing.TB, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\ngot  %+v\nwant %+v", what, got, want)
	}
}

// WantJSONEqual fails the test unless got and want encode the same JSON
// value.
func WantJSONEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v in %s", what, err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v in %s", what, err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\ngot  %s\nwant %s", what, got, want)
	}
}

// ReadTestdata returns the file testdata/name of the package under test.
func ReadTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// DecodeTestdata decodes the JSON file testdata/name into v.
func DecodeTestdata(t testing.TB, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(ReadTestdata(t, name), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// Reshape moves v into out through JSON: a wire value of the connector
// becomes a record of its fake, or back.
func Reshape(t testing.TB, v, out any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, out)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// ToFake converts contacts to the records S of a fake server through the
// connector's wire type W: each contact is made a W by toWire, then moved
// into an S through JSON.
func ToFake[S, W any](t testing.TB, contacts []connectors.RemoteContact, toWire func(connectors.RemoteContact) W) []S {
	t.Helper()
	wire := make([]W, len(contacts))
	for i, rc := range contacts {
		wire[i] = toWire(rc)
	}
	var out []S
	Reshape(t, wire, &out)
	return out
}

// FromFake converts the records of a fake server to contacts through the
// connector's wire type W: each is moved into a W through JSON, then
// converted by fromWire.
func FromFake[W, S any](t testing.TB, stored []S, fromWire func(W) connectors.RemoteContact) []connectors.RemoteContact {
	t.Helper()
	var wire []W
	Reshape(t, stored, &wire)
	out := make([]connectors.RemoteContact, len(wire))
	for i, w := range wire {
		out[i] = fromWire(w)
	}
	return out
}

// Connectors builds with factory a connector for cfg and one for cfg with
// a wrong key; it fails the test when the factory refuses either.
func Connectors(t testing.TB, factory connectors.Factory, cfg connectors.Config) (good, bad connectors.Connector) {
	t.Helper()
	good, err := factory(cfg)
	if err == nil {
		cfg.APIKey = "not-" + cfg.APIKey
		bad, err = factory(cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return good, bad
}

// ServerFake is a Fake made of the parts of a fake server. Every field is
// required.
type ServerFake struct {
	// Conn and Bad are connectors to the server with its key and with a
	// wrong one.
	Conn, Bad connectors.Connector
	// Put stores contacts in the server, each under its ExternalID; Get
	// returns those it holds.
	Put func(t *testing.T, contacts []connectors.RemoteContact)
	Get func(t *testing.T) []connectors.RemoteContact
	// Fail makes the server answer the next request with status and, when
	// not empty, a Retry-After header.
	Fail func(status int, retryAfter string)
	// Total returns how many requests the server has received.
	Total func() int
}

var _ Fake = (*ServerFake)(nil)

// Connector returns Conn.
func (f *ServerFake) Connector() connectors.Connector { return f.Conn }

// BadKey returns Bad.
func (f *ServerFake) BadKey() connectors.Connector { return f.Bad }

// Seed stores contacts with Put.
func (f *ServerFake) Seed(t *testing.T, contacts []connectors.RemoteContact) { f.Put(t, contacts) }

// Stored returns what Get does.
func (f *ServerFake) Stored(t *testing.T) []connectors.RemoteContact { return f.Get(t) }

// InjectRateLimit fails the next request with a 429 whose Retry-After is
// retryAfter in whole seconds.
func (f *ServerFake) InjectRateLimit(retryAfter time.Duration) {
	f.Fail(429, strconv.Itoa(int(retryAfter/time.Second)))
}

// InjectServerError fails the next request with a 500.
func (f *ServerFake) InjectServerError() { f.Fail(500, "") }

// Requests returns Total.
func (f *ServerFake) Requests() int { return f.Total() }

// SetEvents counts the event pointers of in that are set; a parser must
// set exactly one.
func SetEvents(in connectors.Inbound) int {
	n := 0
	for _, set := range []bool{in.Message != nil, in.Status != nil, in.Channel != nil, in.Conversation != nil,
		in.Contact != nil, in.Campaign != nil} {
		if set {
			n++
		}
	}
	return n
}
