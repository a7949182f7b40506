package connectortest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/crmhub/crmhub/connectors"
)

// memory is a remote held in a map, and memoryConn a connector to it that
// syncs contacts only: it is neither a connectors.DealSyncer nor a
// UserSyncer. It is just right enough to pass the suite.
type memory struct {
	mu       sync.Mutex
	contacts map[string]connectors.RemoteContact
	fault    error // answers the next request
	requests int
}

type memoryConn struct {
	m      *memory
	badKey bool
}

const memoryPage = 100

// begin counts a request and returns the error to answer it with.
func (c memoryConn) begin() error {
	c.m.requests++
	if err := c.m.fault; err != nil {
		c.m.fault = nil
		return err
	}
	if c.badKey {
		return &connectors.AuthError{Status: 401, Message: "bad key"}
	}
	return nil
}

func (memoryConn) Capabilities() connectors.Capabilities {
	return connectors.Capabilities{MaxBatch: memoryPage}
}

func (c memoryConn) ListContacts(_ context.Context, cursor string) (connectors.Page[connectors.RemoteContact], error) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	var p connectors.Page[connectors.RemoteContact]
	if err := c.begin(); err != nil {
		return p, err
	}
	ids := slices.Sorted(maps.Keys(c.m.contacts))
	from, _ := strconv.Atoi(cursor)
	to := min(from+memoryPage, len(ids))
	for _, id := range ids[from:to] {
		p.Items = append(p.Items, c.m.contacts[id])
	}
	if to < len(ids) {
		p.Next = strconv.Itoa(to)
	}
	return p, nil
}

// UpsertContacts refuses a contact without a name.
func (c memoryConn) UpsertContacts(_ context.Context, items []connectors.RemoteContact) ([]connectors.UpsertResult, error) {
	if len(items) > memoryPage {
		return nil, fmt.Errorf("memory: %d records, limit %d", len(items), memoryPage)
	}
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	if err := c.begin(); err != nil {
		return nil, err
	}
	out := make([]connectors.UpsertResult, len(items))
	for i, rc := range items {
		if rc.Name == nil {
			out[i].Err = connectors.ItemError{Index: i, ID: rc.ExternalID, Code: "NO_NAME"}
			continue
		}
		c.m.contacts[rc.ExternalID] = rc
		out[i].ExternalID = rc.ExternalID
	}
	return out, nil
}

func (c memoryConn) DeleteContacts(_ context.Context, ids []string) ([]string, error) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	if err := c.begin(); err != nil {
		return nil, err
	}
	missing := []string{}
	for _, id := range ids {
		if _, ok := c.m.contacts[id]; !ok {
			missing = append(missing, id)
		}
		delete(c.m.contacts, id)
	}
	return missing, nil
}

// memoryFake is the Fake of a memory remote.
type memoryFake struct{ m *memory }

func (f memoryFake) Connector() connectors.Connector { return memoryConn{m: f.m} }
func (f memoryFake) BadKey() connectors.Connector    { return memoryConn{m: f.m, badKey: true} }

func (f memoryFake) Seed(_ *testing.T, contacts []connectors.RemoteContact) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	for _, rc := range contacts {
		f.m.contacts[rc.ExternalID] = rc
	}
}

func (f memoryFake) Stored(*testing.T) []connectors.RemoteContact {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	var out []connectors.RemoteContact
	for _, rc := range f.m.contacts {
		out = append(out, rc)
	}
	return out
}

func (f memoryFake) InjectRateLimit(d time.Duration) {
	f.inject(&connectors.RateLimitError{RetryAfter: d})
}
func (f memoryFake) InjectServerError() { f.inject(&connectors.TransientError{Status: 500}) }

func (f memoryFake) inject(err error) {
	f.m.mu.Lock()
	f.m.fault = err
	f.m.mu.Unlock()
}

func (f memoryFake) Requests() int {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	return f.m.requests
}

// TestRunSkipsUnsupportedEntities runs the suite on a connector that syncs
// contacts only: the contact tests pass and the deal and user tests are
// skipped, though the Harness has no Deal or User.
func TestRunSkipsUnsupportedEntities(t *testing.T) {
	Run(t, Harness{
		Start: func(*testing.T) Fake { return memoryFake{&memory{contacts: map[string]connectors.RemoteContact{}}} },
		Contact: func(i int) connectors.RemoteContact {
			name := fmt.Sprintf("Contact %d", i)
			return connectors.RemoteContact{ExternalID: fmt.Sprintf("m%04d", i), Name: &name}
		},
		InvalidContact: func(i int) connectors.RemoteContact {
			return connectors.RemoteContact{ExternalID: fmt.Sprintf("m%04d", i)}
		},
	})
}
