package gqlexec

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

var schema = gqlparser.MustLoadSchema(&ast.Source{Name: "test.graphqls", Input: `
type Query { conversations: [Conversation!]! node: Node }
interface Node { id: ID! }
type Conversation implements Node { id: ID! title: String messages: [Message!]! contact: Contact }
type Message implements Node { id: ID! text: String replyTo: Message }
type Contact implements Node { id: ID! name: String tags: [String!]! }
`})

// fields is what cmd/crmhub-generate writes for the schema above, had its
// messages, contact, replyTo and tags resolvers.
var fields = Fields{
	"Query":        {"conversations": true, "node": true},
	"Node":         {},
	"Conversation": {"messages": true, "contact": true},
	"Message":      {"replyTo": true},
	"Contact":      {"tags": true},
}

// elements returns the selection of the conversations list's elements.
func elements(t *testing.T, query string) ast.SelectionSet {
	t.Helper()
	doc, errs := gqlparser.LoadQueryWithRules(schema, query, nil) // nil: the default rules
	if errs != nil {
		t.Fatalf("%s: %v", query, errs)
	}
	return doc.Operations[0].SelectionSet[0].(*ast.Field).SelectionSet
}

func TestSelects(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  bool
	}{
		{`{ conversations { id title __typename } }`, false},
		{`{ conversations { id messages { id } } }`, true},
		{`{ conversations { ... on Conversation { title } } }`, false},
		{`{ conversations { ... on Conversation { contact { id } } } }`, true},
		{`{ conversations { ...F } } fragment F on Conversation { id title }`, false},
		{`{ conversations { ...F } } fragment F on Conversation { id ...G } fragment G on Conversation { contact { name } }`, true},
		{`{ conversations { ... on Node { id } } }`, false},
		{`{ conversations { t: title @include(if: false) } }`, false},
		{`{ conversations { id m: messages @skip(if: true) { id } } }`, true}, // directives are not read: the worst is assumed
	} {
		if got := fields.Selects(elements(t, tc.query)); got != tc.want {
			t.Errorf("%s: Selects = %v, want %v", tc.query, got, tc.want)
		}
	}

	// A type the table does not know, or a selection it cannot place,
	// counts as concurrent.
	sel := elements(t, `{ conversations { id title } }`)
	partial := Fields{"Query": {}}
	if !partial.Selects(sel) {
		t.Error("a field of a type missing from the table counted as not concurrent")
	}
	sel[0].(*ast.Field).ObjectDefinition = nil
	if !fields.Selects(sel) {
		t.Error("a field without its definition counted as not concurrent")
	}
	if !fields.Selects(ast.SelectionSet{&ast.FragmentSpread{Name: "F"}}) {
		t.Error("a fragment spread without its definition counted as not concurrent")
	}
}

// marshalCtx is an operation's context as gqlgen's executor makes it, at
// the list field "conversations".
func marshalCtx() context.Context {
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, graphql.DefaultRecover)
	return graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "conversations"}}})
}

func TestMarshalListInOrder(t *testing.T) {
	sel := elements(t, `{ conversations { id title } }`)
	var order []int
	ret := MarshalList(marshalCtx(), fields, sel, 4, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		order = append(order, i) // unsynchronized: the race detector objects unless the calls are in order
		if got := graphql.GetPath(ctx).String(); got != fmt.Sprintf("conversations[%d]", i) {
			t.Errorf("element %d: path %s", i, got)
		}
		return graphql.MarshalInt(i)
	})
	if fmt.Sprint(order) != "[0 1 2 3]" {
		t.Errorf("elements marshaled in the order %v", order)
	}
	var b strings.Builder
	ret.MarshalGQL(&b)
	if b.String() != "[0,1,2,3]" {
		t.Errorf("list = %s", b.String())
	}
}

func TestMarshalListPanic(t *testing.T) {
	ctx := marshalCtx()
	sel := elements(t, `{ conversations { id } }`)
	var seen []int
	ret := MarshalList(ctx, fields, sel, 3, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		seen = append(seen, i)
		if i == 1 {
			panic("boom")
		}
		return graphql.MarshalInt(i)
	})
	if ret != nil {
		t.Errorf("a list with a panicking element = %v, want nil", ret)
	}
	if fmt.Sprint(seen) != "[0 1 2]" {
		t.Errorf("elements marshaled: %v, want all three", seen)
	}
	errs := graphql.GetErrors(ctx)
	if len(errs) != 1 || errs[0].Path.String() != "conversations[1]" || strings.Contains(errs[0].Message, "boom") {
		t.Errorf("errors = %v, want one internal error at conversations[1]", errs)
	}
}

func TestMarshalListConcurrent(t *testing.T) {
	// Elements that select a resolver still run side by side: each waits
	// for all the others to start, which in order would never happen.
	sel := elements(t, `{ conversations { messages { id } } }`)
	const n = 8
	started := make(chan struct{})
	arrived := make(chan int, n)
	go func() {
		for range n {
			<-arrived
		}
		close(started)
	}()
	ret := MarshalList(marshalCtx(), fields, sel, n, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		arrived <- i
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Errorf("element %d: the others did not start beside it", i)
		}
		return graphql.MarshalInt(i)
	})
	if len(ret) != n {
		t.Fatalf("list of %d", len(ret))
	}
}

func TestDeferredPath(t *testing.T) {
	ctx := graphql.WithFieldContext(marshalCtx(), &graphql.FieldContext{Index: new(int)})
	if p := DeferredPath(ctx, 0); p != nil {
		t.Errorf("an object without deferred fields got the path %s", p)
	}
	if p := DeferredPath(ctx, 1); p.String() != "conversations[0]" {
		t.Errorf("an object with a deferred field got the path %q, want conversations[0]", p.String())
	}
}

func TestScalarFieldContext(t *testing.T) {
	field := graphql.CollectedField{Field: &ast.Field{Name: "text"}}
	want, _ := graphql.NewScalarFieldContext("Message", field, true, false, errors.New("field of type String does not have child fields"))
	for range 2 { // the second from the type's Child made by the first
		got := ScalarFieldContext("Message", field, true, false, "String")
		if got.Object != want.Object || got.Field.Field != want.Field.Field || got.IsMethod != want.IsMethod || got.IsResolver != want.IsResolver {
			t.Errorf("context = %+v, want %+v", got, want)
		}
		_, err := got.Child(context.Background(), field)
		_, wantErr := want.Child(context.Background(), field)
		if err == nil || err.Error() != wantErr.Error() {
			t.Errorf("Child: %v, want %v", err, wantErr)
		}
	}
	if _, err := ScalarFieldContext("Message", field, false, false, "Time").Child(context.Background(), field); err == nil ||
		err.Error() != "field of type Time does not have child fields" {
		t.Errorf("Child of a Time field: %v", err)
	}
}

// A group's fields run in the order they joined, on the goroutine that
// dispatches the object when the group is its only concurrent work, and
// each value lands at its own index; a field outside the group still runs
// beside the group.
func TestGroup(t *testing.T) {
	out := graphql.NewFieldSet(make([]graphql.CollectedField, 4))
	var g *Group
	var order []int
	var goroutines sync.Map
	field := func(i int) func(context.Context) graphql.Marshaler {
		return func(context.Context) graphql.Marshaler {
			order = append(order, i)
			goroutines.Store(goroutineID(), true)
			return graphql.MarshalInt(10 * i)
		}
	}
	Join(&g, out, 0, field(0))
	out.Values[1] = graphql.MarshalString("plain")
	Join(&g, out, 3, field(3))
	Join(&g, out, 2, field(2))
	out.Dispatch(context.Background())
	if fmt.Sprint(order) != "[0 3 2]" {
		t.Errorf("order %v, want [0 3 2]", order)
	}
	n := 0
	goroutines.Range(func(id, _ any) bool {
		n++
		if id != goroutineID() {
			t.Errorf("the group ran on goroutine %v, not the dispatching one", id)
		}
		return true
	})
	if n != 1 {
		t.Errorf("the group ran on %d goroutines", n)
	}
	var b strings.Builder
	for i, want := range []string{"0", `"plain"`, "20", "30"} {
		b.Reset()
		out.Values[i].MarshalGQL(&b)
		if b.String() != want {
			t.Errorf("value %d = %s, want %s", i, b.String(), want)
		}
	}

	// Beside another concurrent field, the group is one task of two: the
	// other field waits for the group to start, which only works when
	// they run side by side.
	out = graphql.NewFieldSet(make([]graphql.CollectedField, 3))
	g = nil
	started := make(chan struct{})
	Join(&g, out, 0, func(context.Context) graphql.Marshaler { close(started); return graphql.MarshalInt(0) })
	out.Concurrently(1, func(context.Context) graphql.Marshaler {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Error("the group did not run beside the other field")
		}
		return graphql.MarshalInt(1)
	})
	Join(&g, out, 2, func(context.Context) graphql.Marshaler { return graphql.MarshalInt(2) })
	out.Dispatch(context.Background())
	for i := range 3 {
		if out.Values[i] == nil {
			t.Errorf("value %d not set", i)
		}
	}
}

// goroutineID is the current goroutine's number, from its stack header.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf), "goroutine "), " ")
	return id
}
