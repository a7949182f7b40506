package resolver

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
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
