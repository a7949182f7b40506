package connectors_test

import (
	"slices"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
)

// Connectors that sync contacts only, contacts and deals, and all three
// entities: Supports looks at the interfaces only, never calling a method.
type (
	contactsOnly struct{ connectors.Connector }
	withDeals    struct {
		connectors.Connector
		connectors.DealSyncer
	}
	withAll struct {
		connectors.Connector
		connectors.DealSyncer
		connectors.UserSyncer
	}
)

func TestSupports(t *testing.T) {
	tests := []struct {
		name string
		c    connectors.Connector
		want []bool // contacts, deals, users
	}{
		{"contacts only", contactsOnly{}, []bool{true, false, false}},
		{"deals", withDeals{}, []bool{true, true, false}},
		{"deals and users", withAll{}, []bool{true, true, true}},
	}
	for _, tt := range tests {
		var got []bool
		for _, e := range []crmhub.SyncEntity{crmhub.SyncContacts, crmhub.SyncDeals, crmhub.SyncUsers} {
			got = append(got, connectors.Supports(tt.c, e))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: supports contacts, deals, users = %v, want %v", tt.name, got, tt.want)
		}
	}
	if connectors.Supports(withAll{}, "INVOICES") {
		t.Error("an unknown entity is supported")
	}
}
