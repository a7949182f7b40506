package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/internal/telemetry"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestJobCounts: the counts name the four states of jobs that wait or run,
// and a delivery queued while no River works its queue is available.
func TestJobCounts(t *testing.T) {
	d := dbtest.Open(t, nil)
	e := newWebhooks(t, d, db.WebhookConfig{AllowPrivate: true}) // not run: its job waits
	ctx, _, _ := dbtest.Workspace(t, d)
	ep := e.hook(t, ctx, newReceiver(t, nil), contactCreated)
	if _, err := e.svc.SendTestWebhook(ctx, ep.ID); err != nil {
		t.Fatal(err)
	}
	counts, err := d.JobCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 4 || counts["available"] < 1 {
		t.Fatalf("job counts %v, want the four states with at least one available job", counts)
	}
	for _, st := range []string{"scheduled", "retryable", "running"} {
		if _, ok := counts[st]; !ok {
			t.Errorf("no count of %s jobs in %v", st, counts)
		}
	}
}

// TestRiverMiddlewareTraces: with the tracing middleware, a delivery job
// worked is a span, and the SQL of the job is within it.
func TestRiverMiddlewareTraces(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	worked := make(chan struct{}, 1)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans), sdktrace.WithSpanProcessor(onEnd(func(s sdktrace.ReadOnlySpan) {
		if s.Name() == "river.work/crmhub.webhook_delivery" {
			select {
			case worked <- struct{}{}:
			default:
			}
		}
	})))
	d, err := db.Open(context.Background(), db.Config{URL: dbtest.ServiceURL(t), MaxConns: 8, Tracer: telemetry.PgxTracer(tp)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	e := newWebhooks(t, d, db.WebhookConfig{AllowPrivate: true}).run(t, telemetry.RiverMiddleware(tp)...)
	ctx, _, _ := dbtest.Workspace(t, d)
	rc := newReceiver(t, nil)
	ep := e.hook(t, ctx, rc, contactCreated)
	if _, err := e.svc.SendTestWebhook(ctx, ep.ID); err != nil {
		t.Fatal(err)
	}
	rc.Next(t)
	select {
	case <-worked:
	case <-time.After(30 * time.Second):
		t.Fatal("no span of the delivery job ended")
	}
	var job trace.SpanID
	for _, s := range spans.GetSpans() {
		if s.Name == "river.work/crmhub.webhook_delivery" {
			job = s.SpanContext.SpanID()
		}
	}
	for _, s := range spans.GetSpans() {
		if s.Parent.SpanID() == job && s.SpanKind == trace.SpanKindClient {
			return // a statement of the job
		}
	}
	t.Fatalf("no SQL span within the job's")
}

// onEnd is a span processor that calls f with each span that ends.
type onEnd func(sdktrace.ReadOnlySpan)

func (onEnd) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (f onEnd) OnEnd(s sdktrace.ReadOnlySpan)                 { f(s) }
func (onEnd) Shutdown(context.Context) error                  { return nil }
func (onEnd) ForceFlush(context.Context) error                { return nil }
