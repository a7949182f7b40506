// Package gqlexec is what crmhub's generated executor (graph/) calls beyond
// gqlgen's runtime, where gqlgen's own way costs the nested pages of
// BENCHMARKS.md most and no setting of gqlgen's changes it.
//
// Lists marshaled in order when nothing in them can wait (MarshalList).
// gqlgen marshals every element of a list of objects on a goroutine of its
// own (graphql.MarshalSliceConcurrently), so that resolvers under sibling
// elements run side by side and a dataloader can gather their keys. For a
// list whose elements select no resolver at all (the messages of a
// conversation page, a contact's identities) those goroutines buy nothing:
// each one only copies struct fields into the response, on a stack that
// grows as it descends. In the nested page of BENCHMARKS.md such lists are
// 515 of the 670 elements.
//
// An object's response path computed only when it is needed
// (DeferredPath). gqlgen computes it for every object it marshals, a slice
// allocated each time, in case some of the object's fields are deferred;
// it was a fifth of the nested page's allocations.
//
// A scalar field's context without allocating an error and a closure for
// its Child each time (ScalarFieldContext).
//
// Sibling fields that read the same loader resolved in order on one
// goroutine (Group). gqlgen resolves every field with a resolver on a
// goroutine of its own once an object has two of them: a contact's email
// and identities, in the point read and the resolve of BENCHMARKS.md, cost
// a goroutine per contact, whose stack grows as it descends, although
// the second of them only reads what the first loaded.
//
// cmd/crmhub-generate rewrites gqlgen's calls into these and writes, from
// gqlgen's own model of the schema, which fields gqlgen resolves on a
// goroutine of their own (graph/exec_gen.go). Two more of its rewrites need
// nothing here: fields that only copy a struct field are marshaled without
// graphql.ResolveField, and no map of input unmarshalers is built per
// operation (see its package documentation).
package gqlexec

import (
	"context"
	"errors"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// Fields names, by type (object or interface), the fields gqlgen resolves on
// a goroutine of their own: those with a resolver or a method that takes a
// context. Every object and interface type of the schema has an entry, empty
// when none of its fields is concurrent; a type without one is treated as if
// all its fields were.
type Fields map[string]map[string]bool

// MarshalList marshals the n elements of a list whose elements' selection
// is sel, as graphql.MarshalSliceConcurrently does: each element in a field
// context of its own with its index, a panic recovered into an error on that
// element's path (unless omitPanicHandler) that makes the whole list null.
// When sel selects a concurrent field, anywhere below it, the elements go to
// MarshalSliceConcurrently; otherwise they are marshaled in order on the
// calling goroutine, since none of them can wait on anything.
func MarshalList(ctx context.Context, concurrent Fields, sel ast.SelectionSet, n int, workerLimit int64,
	omitPanicHandler bool, marshal func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	if n < 2 || concurrent.Selects(sel) {
		return graphql.MarshalSliceConcurrently(ctx, n, workerLimit, omitPanicHandler, marshal)
	}
	ret := make(graphql.Array, n)
	failed := false
	for i := range n {
		ctx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
		if omitPanicHandler {
			ret[i] = marshal(ctx, i)
			continue
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					graphql.AddError(ctx, graphql.Recover(ctx, r))
					failed = true
				}
			}()
			ret[i] = marshal(ctx, i)
		}()
	}
	if failed {
		return nil
	}
	return ret
}

// Selects reports whether sel, its fragments and everything nested below
// them select a field that gqlgen resolves on a goroutine of its own. A
// selection it cannot place (a field of a type it does not know, a
// fragment without its definition) counts as one that does.
func (c Fields) Selects(sel ast.SelectionSet) bool {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if s.ObjectDefinition == nil {
				return true
			}
			fields, known := c[s.ObjectDefinition.Name]
			if !known || fields[s.Name] || c.Selects(s.SelectionSet) {
				return true
			}
		case *ast.InlineFragment:
			if c.Selects(s.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition == nil || c.Selects(s.Definition.SelectionSet) {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// Group is a set of sibling fields of one object that gqlgen would resolve
// on a goroutine each, resolved instead in order on one: gqlgen's
// FieldSet.Dispatch runs the group as one of the object's concurrent
// fields (on the object's own goroutine when it is the only one). It is
// for fields that read the same loader, where the first waits for the
// loader's batch and the rest find its answer cached, so a goroutine each
// would buy nothing. Fields join a group with Join, all to the same
// FieldSet, before that FieldSet's Dispatch.
type Group struct {
	out     *graphql.FieldSet
	members []member
	buf     [3]member // the members of a small group, without another allocation
}

type member struct {
	i       int
	resolve func(context.Context) graphql.Marshaler
}

// Join adds the field at index i of out, resolved by resolve, to the group
// *g, which it makes on the first call (a group none of whose fields is
// selected costs nothing). The group takes the place of its first field
// among out's concurrent fields.
func Join(g **Group, out *graphql.FieldSet, i int, resolve func(context.Context) graphql.Marshaler) {
	if *g == nil {
		*g = &Group{out: out}
		(*g).members = (*g).buf[:0]
		out.Concurrently(i, (*g).run)
	}
	(*g).members = append((*g).members, member{i: i, resolve: resolve})
}

// run resolves the group's fields in the order they joined, sets the
// values of all but the first, and returns the first's, which Dispatch
// sets.
func (g *Group) run(ctx context.Context) graphql.Marshaler {
	first := g.members[0].resolve(ctx)
	for _, m := range g.members[1:] {
		g.out.Values[m.i] = m.resolve(ctx)
	}
	return first
}

// DeferredPath is the response path of the object being marshaled in ctx
// when it has deferred fields (deferred > 0), for the results that carry
// them; nil when it has none, since then nothing reads it.
func DeferredPath(ctx context.Context, deferred int) ast.Path {
	if deferred == 0 {
		return nil
	}
	return graphql.GetPath(ctx)
}

// noChildren holds, by scalar type name, the Child of its fields' contexts.
var noChildren sync.Map // string -> func(context.Context, graphql.CollectedField) (*graphql.FieldContext, error)

// ScalarFieldContext is graphql.NewScalarFieldContext for a field of the
// scalar or enum type typ: the same context, whose Child returns the same
// error, but made once for each type instead of for each field resolved.
func ScalarFieldContext(object string, field graphql.CollectedField, isMethod, isResolver bool, typ string) *graphql.FieldContext {
	child, ok := noChildren.Load(typ)
	if !ok {
		err := errors.New("field of type " + typ + " does not have child fields")
		child, _ = noChildren.LoadOrStore(typ, func(context.Context, graphql.CollectedField) (*graphql.FieldContext, error) {
			return nil, err
		})
	}
	return &graphql.FieldContext{
		Object:     object,
		Field:      field,
		IsMethod:   isMethod,
		IsResolver: isResolver,
		Child:      child.(func(context.Context, graphql.CollectedField) (*graphql.FieldContext, error)),
	}
}
