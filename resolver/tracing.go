package resolver

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the tracer of the GraphQL spans.
const tracerName = "github.com/crmhub/crmhub/resolver"

// Attributes of an operation's span, as OpenTelemetry's GraphQL
// conventions name them.
const (
	attrOperationType = attribute.Key("graphql.operation.type")
	attrOperationName = attribute.Key("graphql.operation.name")
)

// tracing is a gqlgen extension that gives each GraphQL operation a span,
// child of the request's, and parent of what the operation does (its SQL,
// its calls out). A query's or mutation's span ends with its response and
// records its errors; a subscription's ends once it is set up and streams,
// since its events may come for hours.
type tracing struct {
	tracer trace.Tracer
}

var (
	_ graphql.HandlerExtension     = tracing{}
	_ graphql.OperationInterceptor = tracing{}
)

func (tracing) ExtensionName() string                   { return "Tracing" }
func (tracing) Validate(graphql.ExecutableSchema) error { return nil }

func (t tracing) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx).Operation
	ctx, span := t.tracer.Start(ctx, operationSpanName(op), trace.WithAttributes(
		attrOperationType.String(string(op.Operation)), attrOperationName.String(op.Name)))
	responses := next(ctx)
	if op.Operation == ast.Subscription {
		span.End()
		return responses
	}
	return func(ctx context.Context) *graphql.Response {
		resp := responses(ctx)
		if resp != nil {
			recordErrors(span, resp.Errors)
		}
		span.End()
		return resp
	}
}

// operationSpanName is "<type> <name>" ("query Contacts"), or the type
// alone for an anonymous operation, as OpenTelemetry's conventions say.
func operationSpanName(op *ast.OperationDefinition) string {
	if op.Name == "" {
		return string(op.Operation)
	}
	return string(op.Operation) + " " + op.Name
}

// recordErrors marks the span failed with the first error's message (as
// the client saw it: an internal error is masked) and adds each error as
// an event.
func recordErrors(span trace.Span, errs gqlerror.List) {
	if len(errs) == 0 {
		return
	}
	for _, err := range errs {
		span.RecordError(err)
	}
	span.SetStatus(codes.Error, errs[0].Message)
}
