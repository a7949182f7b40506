package resolver_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/resolver"
	"github.com/google/uuid"
)

func TestComplexityLimit(t *testing.T) {
	e := newEnv(t, func(c *resolver.Config) { c.ComplexityLimit = 20 })
	c := e.workspace()
	c.do(`{ contacts { totalCount edges { node { id name } } } }`, nil, nil)

	var fields strings.Builder
	for i := range 25 {
		fields.WriteString(" f" + strconv.Itoa(i) + ": name")
	}
	c.fail(`{ contacts { edges { node {`+fields.String()+` } } } }`, nil, "COMPLEXITY_LIMIT_EXCEEDED")

	// The default limit (1000) lets ordinary queries through and stops
	// huge ones.
	d := newEnv(t).workspace()
	d.do(`{ contacts(first: 100) { totalCount edges { node { `+contactFields+` notes { edges { node { body } } } } } } }`, nil, nil)
	fields.Reset()
	for i := range 1001 {
		fields.WriteString(" t" + strconv.Itoa(i) + ": __typename")
	}
	d.fail(`{`+fields.String()+` }`, nil, "COMPLEXITY_LIMIT_EXCEEDED")
}

func TestDepthLimit(t *testing.T) {
	c := newEnv(t).workspace()
	// contacts { edges { node { ... } } } is three levels, each round
	// trip through a note's contact adds four, and the leaf adds its own.
	nest := func(rounds int, leaf string) string {
		q := leaf
		for range rounds {
			q = "notes { edges { node { contact { " + q + " } } } }"
		}
		return "{ contacts { edges { node { " + q + " } } } }"
	}
	c.do(nest(2, "notes { edges { node { id } } }"), nil, nil) // 3 + 8 + 4 = 15
	c.fail(nest(3, "id"), nil, "COMPLEXITY_LIMIT_EXCEEDED")    // 3 + 12 + 1 = 16
}

func TestIntrospection(t *testing.T) {
	const q = `{ __schema { queryType { name } } }`
	off := newEnv(t).workspace()
	e := off.fail(q, nil, "GRAPHQL_VALIDATION_FAILED")
	if !strings.Contains(e.Message, "introspection") {
		t.Fatalf("message = %q", e.Message)
	}
	off.fail(`{ __type(name: "Contact") { name } }`, nil, "GRAPHQL_VALIDATION_FAILED")
	off.fail(`{ ...F } fragment F on Query { __schema { queryType { name } } }`, nil, "GRAPHQL_VALIDATION_FAILED")
	// __typename is not introspection of the schema.
	off.do(`{ __typename }`, nil, nil)

	on := newEnv(t, func(c *resolver.Config) { c.Introspection = true }).workspace()
	var out struct {
		Schema struct{ QueryType struct{ Name string } } `json:"__schema"`
	}
	on.do(q, nil, &out)
	if out.Schema.QueryType.Name != "Query" {
		t.Fatalf("introspection answered %+v", out)
	}
}

// fakeAuth accepts the key "good" as an admin of a random workspace.
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, token string) (*crmhub.Principal, error) {
	if token != "good" {
		return nil, crmhub.Errorf(crmhub.EUNAUTHENTICATED, "bad key")
	}
	return &crmhub.Principal{WorkspaceID: uuid.New(), APIKeyID: uuid.New(), Scopes: []crmhub.Scope{crmhub.ScopeAdmin}}, nil
}

// brokenContacts fails in the ways a broken storage layer does. Methods it
// does not override panic on the nil embedded interface.
type brokenContacts struct{ crmhub.ContactService }

const leakedDetail = "password=hunter2 host=10.1.2.3"

func (brokenContacts) Contact(context.Context, uuid.UUID) (*crmhub.Contact, error) {
	panic("boom: " + leakedDetail)
}

func (brokenContacts) CountContacts(context.Context, crmhub.ContactFilter) (int, error) {
	return 0, errors.New("db: count: " + leakedDetail)
}

func (brokenContacts) Contacts(context.Context, crmhub.ContactFilter, crmhub.ContactOrder, int, string) (*crmhub.ContactConnection, error) {
	return &crmhub.ContactConnection{Edges: []*crmhub.ContactEdge{}}, nil
}

func TestInternalErrorsAreMasked(t *testing.T) {
	var logs strings.Builder
	srv := httptest.NewServer(resolver.NewHandler(resolver.Config{
		Contacts: brokenContacts{},
		Auth:     fakeAuth{},
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
	}))
	defer srv.Close()
	c := &client{t: t, url: srv.URL + "/graphql", key: "good"}

	for _, q := range []string{
		`{ contact(id: "ct_00000000000000000000000000000001") { id } }`,      // panics
		`{ contacts { totalCount } }`,                                        // returns a plain error
		`mutation { deleteNote(id: "nt_00000000000000000000000000000001") }`, // nil service method: panics
	} {
		res := c.post(q, nil)
		if len(res.Errors) != 1 || res.Errors[0].code() != "INTERNAL" || res.Errors[0].Message != "internal error" {
			t.Fatalf("%s: %s", q, res.Raw)
		}
		if strings.Contains(res.Raw, "hunter2") || strings.Contains(res.Raw, "goroutine") {
			t.Fatalf("response leaks details: %s", res.Raw)
		}
	}
	if !strings.Contains(logs.String(), "hunter2") {
		t.Fatalf("the real errors were not logged:\n%s", logs.String())
	}
	// The handler survives and keeps serving.
	c.do(`{ viewer { scopes } }`, nil, nil)
}
