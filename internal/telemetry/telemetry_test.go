package telemetry

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// otelEnv sets the variables configured reads, for the test.
func otelEnv(t *testing.T, endpoint, tracesEndpoint, disabled string) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", tracesEndpoint)
	t.Setenv("OTEL_SDK_DISABLED", disabled)
}

func TestConfigured(t *testing.T) {
	for _, c := range []struct {
		endpoint, traces, disabled string
		want                       bool
	}{
		{"", "", "", false},
		{"http://collector:4318", "", "", true},
		{"", "http://collector:4318/v1/traces", "", true},
		{"http://collector:4318", "", "true", false},
		{"http://collector:4318", "", "false", true},
		{"  ", "", "", false},
	} {
		otelEnv(t, c.endpoint, c.traces, c.disabled)
		if got := configured(); got != c.want {
			t.Errorf("endpoint %q, traces endpoint %q, disabled %q: configured = %v", c.endpoint, c.traces, c.disabled, got)
		}
	}
}

// TestSetupOff: with no OTEL_* variable, Setup installs nothing: the
// global provider still records no span.
func TestSetupOff(t *testing.T) {
	otelEnv(t, "", "", "")
	before := otel.GetTracerProvider()
	tp, shutdown, err := Setup(context.Background(), discard)
	if err != nil || tp != nil {
		t.Fatalf("Setup = %v, %v; want no provider", tp, err)
	}
	if otel.GetTracerProvider() != before {
		t.Error("Setup replaced the global tracer provider")
	}
	if _, span := otel.Tracer("test").Start(context.Background(), "x"); span.IsRecording() {
		t.Error("a span records with tracing off")
	}
	if err := shutdown(context.Background()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// TestSetupOn: with an endpoint, Setup installs a recording provider as
// the global one. No span ends, so nothing is sent to the endpoint.
func TestSetupOn(t *testing.T) {
	otelEnv(t, "http://127.0.0.1:1", "", "")
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })
	tp, shutdown, err := Setup(context.Background(), discard)
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(context.Background())
	if _, ok := tp.(*sdktrace.TracerProvider); !ok || otel.GetTracerProvider() != tp {
		t.Fatalf("Setup returned %T; the global provider is %T", tp, otel.GetTracerProvider())
	}
	if _, span := otel.Tracer("test").Start(context.Background(), "x"); !span.IsRecording() {
		t.Error("spans do not record with tracing on")
	}
}

func TestResourceServiceName(t *testing.T) {
	for _, c := range []struct{ env, want string }{{"", ServiceName}, {"crmhub-eu", "crmhub-eu"}} {
		t.Setenv("OTEL_SERVICE_NAME", c.env)
		res, err := newResource(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := res.Set().Value(semconv.ServiceNameKey); got.AsString() != c.want {
			t.Errorf("OTEL_SERVICE_NAME=%q: service.name %q, want %q", c.env, got.AsString(), c.want)
		}
	}
}

// TestOff: with no provider (tracing off) the helpers add nothing.
func TestOff(t *testing.T) {
	c := &http.Client{}
	if PgxTracer(nil) != nil || RiverMiddleware(nil) != nil || Client(nil, c) != c {
		t.Error("a helper instruments without a provider")
	}
}

// TestClient: a call through the client is a client span, child of the
// span in the request's context, and the server gets its trace context;
// the client given is left as it was.
func TestClient(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Traceparent")
	}))
	defer srv.Close()
	base := &http.Client{Transport: http.DefaultTransport}
	c := Client(tp, base)
	if base.Transport != http.DefaultTransport || c == base {
		t.Fatal("Client changed the client it was given")
	}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "sync run")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/contacts", nil)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	parent.End()
	var call *tracetest.SpanStub
	ended := spans.GetSpans()
	for i, s := range ended {
		if s.SpanKind == trace.SpanKindClient {
			call = &ended[i]
		}
	}
	if call == nil || call.Parent.SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("client span %+v, want a child of the run's span", call)
	}
	if want := "00-" + call.SpanContext.TraceID().String() + "-" + call.SpanContext.SpanID().String() + "-01"; got != want {
		t.Errorf("traceparent %q, want %q", got, want)
	}
}
