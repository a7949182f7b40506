package resolver_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/internal/telemetry"
	"github.com/crmhub/crmhub/resolver"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// tracer records the spans of one test in memory and signals each as it
// ends, so that a test waits for a span instead of sleeping.
type tracer struct {
	t     *testing.T
	tp    *sdktrace.TracerProvider
	spans *tracetest.InMemoryExporter
	ended chan sdktrace.ReadOnlySpan
}

func newTracer(t *testing.T) *tracer {
	tr := &tracer{t: t, spans: tracetest.NewInMemoryExporter(), ended: make(chan sdktrace.ReadOnlySpan, 4096)}
	tr.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(tr.spans), sdktrace.WithSpanProcessor(endSignal(tr.ended)))
	t.Cleanup(func() { tr.tp.Shutdown(context.Background()) })
	return tr
}

// await waits until a span that matches has ended and returns it.
func (tr *tracer) await(what string, match func(sdktrace.ReadOnlySpan) bool) sdktrace.ReadOnlySpan {
	tr.t.Helper()
	deadline := time.After(wsWait)
	for {
		select {
		case s := <-tr.ended:
			if match(s) {
				return s
			}
		case <-deadline:
			tr.t.Fatalf("no %s span ended; spans: %v", what, tr.names())
		}
	}
}

func (tr *tracer) names() []string {
	var out []string
	for _, s := range tr.spans.GetSpans() {
		out = append(out, s.Name)
	}
	return out
}

// endSignal is a span processor that sends each span that ends.
type endSignal chan sdktrace.ReadOnlySpan

func (endSignal) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (e endSignal) OnEnd(s sdktrace.ReadOnlySpan) {
	select {
	case e <- s:
	default: // a test that waits for nothing more
	}
}
func (endSignal) Shutdown(context.Context) error   { return nil }
func (endSignal) ForceFlush(context.Context) error { return nil }

// newTracedEnv is newEnv with everything traced by tr, as cmd/crmhub
// wires it when tracing is on: the handler (HTTP requests, GraphQL
// operations) and the pool (SQL).
func newTracedEnv(t *testing.T, tr *tracer) *env {
	t.Helper()
	d, err := db.Open(context.Background(), db.Config{URL: dbtest.ServiceURL(t), MaxConns: 8,
		Tracer: telemetry.PgxTracer(tr.tp)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return newEnvOn(t, d, func(c *resolver.Config) { c.TracerProvider = tr.tp })
}

func attr(s sdktrace.ReadOnlySpan, key attribute.Key) string {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value.String()
		}
	}
	return ""
}

func isServer(s sdktrace.ReadOnlySpan) bool { return s.SpanKind() == trace.SpanKindServer }

// TestTracing: a GraphQL request is one trace: the HTTP request's server
// span, the operation's span within it (named after the operation, with
// its type and name), and the operation's SQL statements within that; a
// failed operation's span says so.
func TestTracing(t *testing.T) {
	tr := newTracer(t)
	e := newTracedEnv(t, tr)
	c := e.workspace()

	var out struct{ Contacts struct{ TotalCount int } }
	c.do(`query CountContacts { contacts(first: 5) { totalCount } }`, nil, &out)
	server := tr.await("HTTP server", isServer)
	spans := tr.spans.GetSpans()
	var op *tracetest.SpanStub
	for i, s := range spans {
		if s.Name == "query CountContacts" {
			op = &spans[i]
		}
	}
	if op == nil {
		t.Fatalf("no span named after the operation; spans: %v", tr.names())
	}
	if server.Name() != "POST /graphql" || attr(server, "http.response.status_code") != "200" {
		t.Errorf("server span %q, status %q", server.Name(), attr(server, "http.response.status_code"))
	}
	if op.Parent.SpanID() != server.SpanContext().SpanID() || op.SpanContext.TraceID() != server.SpanContext().TraceID() {
		t.Errorf("operation span's parent %v, want the server span %v", op.Parent.SpanID(), server.SpanContext().SpanID())
	}
	if attr(op.Snapshot(), "graphql.operation.type") != "query" || attr(op.Snapshot(), "graphql.operation.name") != "CountContacts" ||
		op.Status.Code == codes.Error {
		t.Errorf("operation span attributes %v, status %v", op.Attributes, op.Status)
	}
	sql := 0
	for _, s := range spans {
		if s.Parent.SpanID() == op.SpanContext.SpanID() && attr(s.Snapshot(), "db.system.name") == "postgresql" {
			sql++
			if attr(s.Snapshot(), "db.query.text") == "" {
				t.Errorf("SQL span %q without its statement", s.Name)
			}
		}
	}
	if sql == 0 {
		t.Errorf("no SQL span within the operation's; spans: %v", tr.names())
	}

	tr.spans.Reset()
	c.fail(`query Page($after: String) { contacts(first: 5, after: $after) { totalCount } }`,
		map[string]any{"after": "not-a-cursor"}, "VALIDATION_ERROR", "after")
	tr.await("HTTP server", isServer)
	for _, s := range tr.spans.GetSpans() {
		if s.Name == "query Page" {
			if s.Status.Code != codes.Error || len(s.Events) == 0 || s.Events[0].Name != "exception" {
				t.Errorf("failed operation's span: status %v, events %v", s.Status, s.Events)
			}
			return
		}
	}
	t.Fatalf("no span of the failed operation; spans: %v", tr.names())
}

// TestTracingSubscription: a subscription's span ends once it is set up,
// while the subscription goes on.
func TestTracingSubscription(t *testing.T) {
	tr := newTracer(t)
	e := newTracedEnv(t, tr)
	c := e.workspace()
	sock := e.ws(c.key)
	sock.subscribe(`subscription Changes { contactChanged { id type } }`, nil)
	s := tr.await("subscription", func(s sdktrace.ReadOnlySpan) bool { return s.Name() == "subscription Changes" })
	if attr(s, "graphql.operation.type") != "subscription" || s.Parent().SpanID() == (trace.SpanID{}) {
		t.Errorf("subscription span: attributes %v, parent %v", s.Attributes(), s.Parent())
	}
	e.waitSubscribers(1)
}
