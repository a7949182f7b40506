// Package telemetry turns on OpenTelemetry tracing when the standard
// OTEL_* variables ask for it, and builds the instrumentation that
// cmd/crmhub wires into each part: SQL (pgx), jobs (River) and calls to
// external CRMs (HTTP client). The HTTP server and GraphQL operations are
// traced by package resolver, given the same TracerProvider.
//
// Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set: Setup then installs nothing,
// and nothing is wrapped, so an untraced process pays nothing.
package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName names the service in traces unless OTEL_SERVICE_NAME (or
// service.name in OTEL_RESOURCE_ATTRIBUTES) says otherwise.
const ServiceName = "crmhub"

// configured reports whether the environment asks for tracing: an OTLP
// endpoint is set and OTEL_SDK_DISABLED is not true.
func configured() bool {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	return strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) != "" ||
		strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) != ""
}

// Setup turns tracing on when configured: spans are batched and exported
// over OTLP/HTTP (the exporter reads the standard OTEL_EXPORTER_OTLP_*
// variables itself, the SDK OTEL_TRACES_SAMPLER and OTEL_BSP_*), and the
// provider and the W3C trace-context propagator become the global ones.
// It returns the provider to hand to the parts that trace, and shutdown,
// which flushes the spans not yet exported. When tracing is off it
// returns a nil provider, installs nothing, and shutdown does nothing.
// It reads the process's environment, as the SDK does.
func Setup(ctx context.Context, log *slog.Logger) (trace.TracerProvider, func(context.Context) error, error) {
	if !configured() {
		return nil, func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	res, err := newResource(ctx)
	if err != nil {
		return nil, nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("opentelemetry", "err", err)
	}))
	log.Info("tracing on: spans are exported over OTLP/HTTP")
	return tp, tp.Shutdown, nil
}

// newResource describes this process: service.name ServiceName, unless
// the environment (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) says
// otherwise, and the SDK's own attributes.
func newResource(ctx context.Context) (*resource.Resource, error) {
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(semconv.ServiceName(ServiceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // last: the environment wins
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	return res, nil
}

// PgxTracer traces each SQL statement (query, batch, COPY) as a child of
// the span in its context; a statement outside any span is not traced.
// The span carries the statement's text, never its arguments. It is nil
// when tp is (tracing off).
func PgxTracer(tp trace.TracerProvider) pgx.QueryTracer {
	if tp == nil {
		return nil
	}
	return otelpgx.NewTracer(otelpgx.WithTracerProvider(tp), otelpgx.WithDisableAcquireTracer())
}

// RiverMiddleware gives each River job a span while it is worked, named
// "river.work/<kind>" and a child of nothing: a job runs apart from the
// request that queued it. It is none when tp is nil (tracing off).
func RiverMiddleware(tp trace.TracerProvider) []rivertype.Middleware {
	if tp == nil {
		return nil
	}
	return []rivertype.Middleware{otelriver.NewMiddleware(&otelriver.MiddlewareConfig{TracerProvider: tp,
		EnableWorkSpanJobKindSuffix: true})}
}

// Client returns a copy of c whose requests each get a client span, child
// of the span in the request's context, and carry its trace context
// (traceparent) to the server. It is c itself when tp is nil (tracing
// off).
func Client(tp trace.TracerProvider, c *http.Client) *http.Client {
	if tp == nil {
		return c
	}
	traced := *c
	traced.Transport = otelhttp.NewTransport(c.Transport, otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.TraceContext{}))
	return &traced
}
