package resolver

import (
	"context"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/crmhub/crmhub/graph"
)

type fieldCounter struct{}

func (fieldCounter) ExtensionName() string                   { return "FieldCounter" }
func (fieldCounter) Validate(graphql.ExecutableSchema) error { return nil }
func (fieldCounter) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	return next(ctx)
}

// The generated executor runs no field middleware for fields read straight
// from struct fields (cmd/crmhub-generate), so an extension that intercepts
// fields is refused where it is added rather than silently missing them.
func TestUseExtensionRefusesFieldInterceptors(t *testing.T) {
	srv := handler.New(graph.NewExecutableSchema(graph.Config{}))
	useExtension(srv, extension.Introspection{}) // not a field interceptor

	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "FieldCounter intercepts fields") {
			t.Errorf("useExtension with a field interceptor: recovered %v, want a panic naming it", r)
		}
	}()
	useExtension(srv, fieldCounter{})
}
