package resolver

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/crmhub/crmhub"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// maxDepth bounds how deeply an operation may nest fields. gqlgen has no
// depth limit of its own, and its complexity count does not grow with
// nesting fast enough to stop a deeply recursive query on its own.
const maxDepth = 15

// codeComplexity is the contract's code for operations that ask too much;
// gqlgen's complexity extension uses the same spelling.
const codeComplexity = "COMPLEXITY_LIMIT_EXCEEDED"

// queryLimits rejects, before anything runs, operations nested deeper than
// maxDepth and, when introspection is off, operations that ask for
// __schema or __type (gqlgen would otherwise fail them at run time with an
// error the presenter could not tell from an internal one).
type queryLimits struct {
	maxDepth      int
	introspection bool
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = queryLimits{}

func (queryLimits) ExtensionName() string                   { return "QueryLimits" }
func (queryLimits) Validate(graphql.ExecutableSchema) error { return nil }
func (l queryLimits) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if op.Operation == nil {
		return nil
	}
	if !l.introspection {
		if f := introspectionField(op.Operation.SelectionSet); f != nil {
			err := gqlerror.ErrorPosf(f.Position, "introspection is disabled on this server")
			errcode.Set(err, errcode.ValidationFailed)
			return err
		}
	}
	if field, ok := nulInOperation(op); ok {
		err := gqlerror.Errorf("text may not contain the NUL character (\\u0000)")
		err.Extensions = map[string]any{"code": crmhub.EINVALID, "field": field}
		return err
	}
	if d := depth(op.Operation.SelectionSet); d > l.maxDepth {
		err := gqlerror.Errorf("operation has depth %d, which exceeds the limit of %d", d, l.maxDepth)
		errcode.Set(err, codeComplexity)
		return err
	}
	return nil
}

// depth is the number of nested fields on the longest path through a
// selection set, fragments included. Validation has already refused
// fragment cycles, so the walk ends.
func depth(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		d := 0
		switch s := sel.(type) {
		case *ast.Field:
			d = 1 + depth(s.SelectionSet)
		case *ast.InlineFragment:
			d = depth(s.SelectionSet)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				d = depth(s.Definition.SelectionSet)
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}

// introspectionField finds a root __schema or __type field, looking
// through fragments spread at the root.
func introspectionField(set ast.SelectionSet) *ast.Field {
	for _, sel := range set {
		var inner ast.SelectionSet
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__schema" || s.Name == "__type" {
				return s
			}
		case *ast.InlineFragment:
			inner = s.SelectionSet
		case *ast.FragmentSpread:
			if s.Definition != nil {
				inner = s.Definition.SelectionSet
			}
		}
		if f := introspectionField(inner); f != nil {
			return f
		}
	}
	return nil
}

// Bounds on a GraphQL document, checked before it is validated: the
// validator's cost grows with the document expanded (fragments spread in
// place), which a small document can make exponential (fragments that each
// spread the next twice), and with the square of repeated fields.
const (
	// maxQueryBytes bounds the text of a document.
	maxQueryBytes = 64 << 10
	// maxTokens bounds the tokens the parser reads (the parser stops
	// there, so a long document costs no more than this).
	maxTokens = 10000
	// maxExpandedFields bounds the fields of the document with every
	// fragment spread in place; GraphiQL's introspection query has about
	// 250.
	maxExpandedFields = 2000
	// checkedCacheSize is how many documents that passed are remembered,
	// so that a repeated query is not parsed twice.
	checkedCacheSize = 1000
)

// documentLimits refuses, before gqlgen parses and validates a document,
// one that is too long, has too many tokens or expands to too many fields.
// It runs after persisted queries have put the document in place.
type documentLimits struct {
	checked *lru.LRU[struct{}]
}

func newDocumentLimits() documentLimits {
	return documentLimits{checked: lru.New[struct{}](checkedCacheSize)}
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = documentLimits{}

func (documentLimits) ExtensionName() string                   { return "DocumentLimits" }
func (documentLimits) Validate(graphql.ExecutableSchema) error { return nil }
func (l documentLimits) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	q := params.Query
	if len(q) > maxQueryBytes {
		return tooComplex("the document is %d bytes long, over the limit of %d", len(q), maxQueryBytes)
	}
	if _, ok := l.checked.Get(ctx, q); ok {
		return nil
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: q}, maxTokens)
	if err != nil {
		return nil // gqlgen parses it again and reports the error
	}
	if n := expandedFields(doc, maxExpandedFields); n > maxExpandedFields {
		return tooComplex("the document has more than %d fields with its fragments spread, over the limit", maxExpandedFields)
	}
	l.checked.Add(ctx, q, struct{}{})
	return nil
}

func tooComplex(format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	errcode.Set(err, codeComplexity)
	return err
}

// expandedFields counts the fields of every operation and fragment of doc
// with each fragment spread in place, stopping past limit. Each fragment
// is counted once (memoized), so the count costs the document's size
// however the fragments multiply; a spread that cycles back counts nothing
// here (the validator refuses cycles).
func expandedFields(doc *ast.QueryDocument, limit int) int {
	memo := map[string]int{}
	visiting := map[string]bool{}
	var count func(set ast.SelectionSet) int
	fragment := func(name string) int {
		if n, ok := memo[name]; ok {
			return n
		}
		def := doc.Fragments.ForName(name)
		if def == nil || visiting[name] {
			return 0
		}
		visiting[name] = true
		n := count(def.SelectionSet)
		visiting[name] = false
		memo[name] = n
		return n
	}
	count = func(set ast.SelectionSet) int {
		n := 0
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				n += 1 + count(s.SelectionSet)
			case *ast.InlineFragment:
				n += count(s.SelectionSet)
			case *ast.FragmentSpread:
				n += fragment(s.Name)
			}
			if n > limit {
				return limit + 1
			}
		}
		return n
	}
	total := 0
	for _, op := range doc.Operations {
		total = min(total+count(op.SelectionSet), limit+1)
	}
	for _, f := range doc.Fragments {
		total = min(total+fragment(f.Name), limit+1)
	}
	return total
}

// pagedCost makes an operation's complexity follow what it can return: a
// field that takes `first` costs one plus first times its selection
// (DefaultPageSize when first is left out), so a page of pages costs the
// product of the page sizes. gqlgen's own count adds the selections up,
// which let a query scored 10 return 200,000 messages.
type pagedCost struct {
	graphql.ExecutableSchema
	// paged holds "Type.field" for every field with a first argument.
	paged map[string]bool
}

func newPagedCost(es graphql.ExecutableSchema) pagedCost {
	paged := map[string]bool{}
	for name, def := range es.Schema().Types {
		for _, f := range def.Fields {
			if f.Arguments.ForName("first") != nil {
				paged[name+"."+f.Name] = true
			}
		}
	}
	return pagedCost{ExecutableSchema: es, paged: paged}
}

func (s pagedCost) Complexity(ctx context.Context, typeName, field string, child int, args map[string]any) (int, bool) {
	if c, ok := s.ExecutableSchema.Complexity(ctx, typeName, field, child, args); ok {
		return c, true
	}
	if !s.paged[typeName+"."+field] {
		return 0, false
	}
	n := crmhub.DefaultPageSize
	switch v := args["first"].(type) {
	case int:
		n = v
	case int64:
		n = int(v)
	case json.Number:
		if i, err := v.Int64(); err == nil {
			n = int(i)
		}
	case float64:
		n = int(v)
	}
	n = min(max(n, 1), crmhub.MaxPageSize)
	return 1 + n*max(child, 1), true
}

// nulInOperation finds a string holding NUL in the operation's variables or
// inline arguments: PostgreSQL cannot store it in text or JSONB, so it
// would fail as an internal error deep in a write. It returns the input
// path (the variable's, or the argument's for an inline value).
func nulInOperation(op *graphql.OperationContext) (string, bool) {
	for name, v := range op.Variables {
		if path, ok := nulIn(v, name); ok {
			return path, true
		}
	}
	var walk func(set ast.SelectionSet) (string, bool)
	walk = func(set ast.SelectionSet) (string, bool) {
		for _, sel := range set {
			var inner ast.SelectionSet
			switch s := sel.(type) {
			case *ast.Field:
				for _, a := range s.Arguments {
					if path, ok := nulInValue(a.Value, a.Name); ok {
						return path, true
					}
				}
				inner = s.SelectionSet
			case *ast.InlineFragment:
				inner = s.SelectionSet
			case *ast.FragmentSpread:
				if s.Definition != nil {
					inner = s.Definition.SelectionSet
				}
			}
			if path, ok := walk(inner); ok {
				return path, true
			}
		}
		return "", false
	}
	return walk(op.Operation.SelectionSet)
}

// nulIn looks through a decoded variable value. The path of what it finds
// is built on the way back up, so that a value without a NUL, the common
// case, costs no allocation.
func nulIn(v any, path string) (string, bool) {
	switch v := v.(type) {
	case string:
		return path, strings.IndexByte(v, 0) >= 0
	case map[string]any:
		for k, e := range v {
			if strings.IndexByte(k, 0) >= 0 {
				return path, true
			}
			if p, ok := nulIn(e, ""); ok {
				return path + "." + k + p, true
			}
		}
	case []any:
		for i, e := range v {
			if p, ok := nulIn(e, ""); ok {
				return path + "[" + strconv.Itoa(i) + "]" + p, true
			}
		}
	}
	return "", false
}

// nulInValue looks through an inline argument value, building the path as
// nulIn does.
func nulInValue(v *ast.Value, path string) (string, bool) {
	if v == nil {
		return "", false
	}
	switch v.Kind {
	case ast.StringValue, ast.BlockValue:
		return path, strings.IndexByte(v.Raw, 0) >= 0
	case ast.ObjectValue:
		for _, c := range v.Children {
			if p, ok := nulInValue(c.Value, ""); ok {
				return path + "." + c.Name + p, true
			}
		}
	case ast.ListValue:
		for i, c := range v.Children {
			if p, ok := nulInValue(c.Value, ""); ok {
				return path + "[" + strconv.Itoa(i) + "]" + p, true
			}
		}
	}
	return "", false
}
