package resolver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// metrics are the handler's Prometheus series. Label values come from
// fixed sets (route patterns, status codes, schema field names), never
// from client-chosen strings such as operation names, so a client cannot
// grow the series without bound.
type metrics struct {
	httpRequests *prometheus.CounterVec   // route, code
	httpDuration *prometheus.HistogramVec // route
	operations   *prometheus.CounterVec   // operation, result
	opDuration   *prometheus.HistogramVec // operation
	websockets   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		httpRequests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmhub_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"})),
		httpDuration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "crmhub_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"})),
		operations: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmhub_graphql_operations_total",
			Help: `GraphQL operations by "<type> <first root field>" and result (ok or error).`,
		}, []string{"operation", "result"})),
		opDuration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "crmhub_graphql_operation_duration_seconds", Help: "GraphQL operation latency.",
			Buckets: prometheus.DefBuckets,
		}, []string{"operation"})),
		websockets: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crmhub_websockets", Help: "Open GraphQL websockets.",
		})),
	}
}

// register registers c, or returns the collector already registered under
// the same description, so that several handlers (tests, a reload) can
// share one registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a programming error: two different metrics with one name
	}
	return c
}

// observe wraps every request: it logs method, path, status and duration
// and counts the request under its route pattern.
func (m *metrics) observe(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			d := time.Since(start)
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			route := "other"
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
				route = rc.RoutePattern()
				nameSpan(r, route)
			}
			m.httpRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
			m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
			log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", status), slog.Duration("duration", d))
		})
	}
}

// nameSpan names the request's span, when it is traced, after its method
// and route ("POST /graphql"), which are only known once the router has
// matched it.
func nameSpan(r *http.Request, route string) {
	if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
		span.SetName(r.Method + " " + route)
		span.SetAttributes(attribute.String("http.route", route))
	}
}

// operationMetrics counts each GraphQL response (one per query or
// mutation, one per event of a subscription) by operation and result.
func (m *metrics) operationMetrics(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	op := operationLabel(graphql.GetOperationContext(ctx))
	start := time.Now()
	responses := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		resp := responses(ctx)
		if resp == nil {
			return nil
		}
		result := "ok"
		if len(resp.Errors) > 0 {
			result = "error"
		}
		m.operations.WithLabelValues(op, result).Inc()
		m.opDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
		return resp
	}
}

// operationLabel names an operation by its type and its first root field
// ("mutation createContact"): both come from the schema, unlike the
// client's operation name.
func operationLabel(oc *graphql.OperationContext) string {
	if oc == nil || oc.Operation == nil {
		return "unknown"
	}
	name := "unknown"
	for _, sel := range oc.Operation.SelectionSet {
		if f, ok := sel.(*ast.Field); ok && f.Name != "__typename" {
			name = f.Name
			break
		}
	}
	return string(oc.Operation.Operation) + " " + name
}
