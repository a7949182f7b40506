package connectortest

import (
	"context"
	"testing"
	"time"

	"github.com/crmhub/crmhub/connectors"
)

// nothing is a connector that syncs no entity, to check the suite's
// ErrUnsupported test on its own.
type nothing struct{}

func (nothing) Capabilities() connectors.Capabilities { return connectors.Capabilities{MaxBatch: 1} }
func (nothing) ListContacts(context.Context, string) (connectors.Page[connectors.RemoteContact], error) {
	return connectors.Page[connectors.RemoteContact]{}, connectors.ErrUnsupported
}
func (nothing) UpsertContacts(context.Context, []connectors.RemoteContact) ([]connectors.UpsertResult, error) {
	return nil, connectors.ErrUnsupported
}
func (nothing) DeleteContacts(context.Context, []string) ([]string, error) {
	return nil, connectors.ErrUnsupported
}
func (nothing) ListDeals(context.Context, string) (connectors.Page[connectors.RemoteDeal], error) {
	return connectors.Page[connectors.RemoteDeal]{}, connectors.ErrUnsupported
}
func (nothing) UpsertDeals(context.Context, []connectors.RemoteDeal) ([]connectors.UpsertResult, error) {
	return nil, connectors.ErrUnsupported
}
func (nothing) DeleteDeals(context.Context, []string) ([]string, error) {
	return nil, connectors.ErrUnsupported
}
func (nothing) ListUsers(context.Context, string) (connectors.Page[connectors.RemoteUser], error) {
	return connectors.Page[connectors.RemoteUser]{}, connectors.ErrUnsupported
}
func (nothing) UpsertUsers(context.Context, []connectors.RemoteUser) ([]connectors.UpsertResult, error) {
	return nil, connectors.ErrUnsupported
}

// nothingFake serves the nothing connector; the suite's tests that would
// use its state are skipped since no entity is supported.
type nothingFake struct{}

func (nothingFake) Connector() connectors.Connector              { return nothing{} }
func (nothingFake) BadKey() connectors.Connector                 { return nothing{} }
func (nothingFake) Seed(*testing.T, []connectors.RemoteContact)  {}
func (nothingFake) Stored(*testing.T) []connectors.RemoteContact { return nil }
func (nothingFake) InjectRateLimit(time.Duration)                {}
func (nothingFake) InjectServerError()                           {}
func (nothingFake) Requests() int                                { return 0 }

// TestRunSkipsUnsupportedEntities runs the suite on a connector that syncs
// nothing: every entity test is skipped and the ErrUnsupported test
// passes.
func TestRunSkipsUnsupportedEntities(t *testing.T) {
	Run(t, Harness{
		Start:          func(*testing.T) Fake { return nothingFake{} },
		Contact:        func(i int) connectors.RemoteContact { return connectors.RemoteContact{ExternalID: "x"} },
		InvalidContact: func(i int) connectors.RemoteContact { return connectors.RemoteContact{} },
	})
}
