package resolver_test

import (
	"context"
	"errors"
	"fmt"
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
	e := newEnv(t, func(c *resolver.Config) { c.ComplexityLimit = 200 })
	c := e.workspace()
	c.do(`{ contacts { totalCount edges { node { id name } } } }`, nil, nil)

	var fields strings.Builder
	for i := range 25 {
		fields.WriteString(" f" + strconv.Itoa(i) + ": name")
	}
	c.fail(`{ contacts { edges { node {`+fields.String()+` } } } }`, nil, "COMPLEXITY_LIMIT_EXCEEDED")

	// The default limit lets ordinary pages through; a page of pages
	// costs the product of its page sizes, so the query that returned
	// 200,000 messages while scoring 10 is refused, alone or in aliases.
	d := newEnv(t, func(c *resolver.Config) { c.ComplexityLimit = 0 }).workspace()
	d.do(`{ contacts(first: 100) { totalCount edges { node { `+contactFields+` notes(first: 20) { edges { node { body } } } } } } }`, nil, nil)
	d.do(`{ deals(first: 50) { edges { node { id name contacts { id identities { type value }
		conversations(first: 5) { edges { node { id messages(first: 10) { edges { node { id text } } } } } } } } } } }`, nil, nil)
	const pages = `contacts(first: 100) { edges { node { conversations(first: 20) { edges { node {
		messages(first: 100) { edges { node { text } } } } } } } } }`
	d.fail(`{ `+pages+` }`, nil, "COMPLEXITY_LIMIT_EXCEEDED")
	d.fail(`{ a: `+pages+` b: `+pages+` c: `+pages+` }`, nil, "COMPLEXITY_LIMIT_EXCEEDED")
	// Without first, a page costs the default page size.
	d.fail(`{ contacts { edges { node { conversations { edges { node {
		messages { edges { node { t0: text t1: text t2: text t3: text t4: text t5: text t6: text } } } } } } } } } }`, nil, "COMPLEXITY_LIMIT_EXCEEDED")
}

// TestDocumentBombs: documents whose validation would cost far more than
// their size are refused before validation, quickly (each would take
// minutes or gigabytes otherwise; the test's own timeout is the bound).
func TestDocumentBombs(t *testing.T) {
	c := newEnv(t).workspace()
	// Fragments that each spread the next twice: 2^40 fields from 1.5 KB.
	var frags strings.Builder
	for i := range 40 {
		fmt.Fprintf(&frags, " fragment F%d on Query { ...F%d ...F%d }", i, i+1, i+1)
	}
	frags.WriteString(" fragment F40 on Query { __typename }")
	c.fail(`{ ...F0 }`+frags.String(), nil, "COMPLEXITY_LIMIT_EXCEEDED")
	// One field repeated 30,000 times (120 KB took 29 s to validate).
	c.fail(`{ `+strings.Repeat("__typename ", 5000)+`}`, nil, "COMPLEXITY_LIMIT_EXCEEDED")
	c.fail(`{ `+strings.Repeat("__typename ", 30000)+`}`, nil, "COMPLEXITY_LIMIT_EXCEEDED")
	// More tokens than the parser reads.
	c.fail(`{ viewer { scopes } }`+strings.Repeat(" # x\n", 10)+` query Q { `+strings.Repeat("a: __typename ", 3500)+`}`, nil, "GRAPHQL_PARSE_FAILED")
	// A deeply nested list variable is refused before it is decoded.
	deep := map[string]any{}
	v := any("x")
	for range 100 {
		v = []any{v}
	}
	deep["v"] = v
	if res := c.post(`query($v: JSON) { viewer { scopes } }`, deep); res.Status != 400 || len(res.Errors) == 0 ||
		res.Errors[0].code() != "BAD_REQUEST" {
		t.Errorf("deep variable: %d %s", res.Status, res.Raw)
	}
	// The introspection query GraphiQL sends stays well inside the limits.
	e := newEnv(t, func(c *resolver.Config) { c.Introspection = true }).workspace()
	e.do(introspectionQuery, nil, nil)
}

// introspectionQuery is graphql-js's getIntrospectionQuery() with its
// default options, as GraphiQL sends it.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`

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
