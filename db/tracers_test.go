package db

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
)

// recorder notes each hook it sees, with the tracers that ran before it
// (read from the context), and adds its own name to the context.
type recorder struct {
	name string
	log  *[]string
}

type seenKey struct{}

func (r recorder) note(ctx context.Context, hook string) {
	before, _ := ctx.Value(seenKey{}).(string)
	*r.log = append(*r.log, r.name+"."+hook+"("+before+")")
}

func (r recorder) start(ctx context.Context, hook string) context.Context {
	r.note(ctx, hook)
	before, _ := ctx.Value(seenKey{}).(string)
	return context.WithValue(ctx, seenKey{}, before+r.name)
}

func (r recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return r.start(ctx, "queryStart")
}

func (r recorder) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	r.note(ctx, "queryEnd")
}

// batchRecorder also traces batches, not COPY.
type batchRecorder struct{ recorder }

func (r batchRecorder) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return r.start(ctx, "batchStart")
}

func (r batchRecorder) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchQueryData) {
	r.note(ctx, "batchQuery")
}

func (r batchRecorder) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) {
	r.note(ctx, "batchEnd")
}

// TestTracers: every tracer of the chain sees each hook it implements, in
// order, each start with the context of the ones before it and each end
// with the context of all; a tracer without batch or COPY hooks is
// skipped for those.
func TestTracers(t *testing.T) {
	var log []string
	ts := tracers{batchRecorder{recorder{"a", &log}}, recorder{"b", &log}}
	ctx := context.Background()

	qctx := ts.TraceQueryStart(ctx, nil, pgx.TraceQueryStartData{})
	ts.TraceQueryEnd(qctx, nil, pgx.TraceQueryEndData{})
	bctx := ts.TraceBatchStart(ctx, nil, pgx.TraceBatchStartData{})
	ts.TraceBatchQuery(bctx, nil, pgx.TraceBatchQueryData{})
	ts.TraceBatchEnd(bctx, nil, pgx.TraceBatchEndData{})
	cctx := ts.TraceCopyFromStart(ctx, nil, pgx.TraceCopyFromStartData{})
	ts.TraceCopyFromEnd(cctx, nil, pgx.TraceCopyFromEndData{})

	want := []string{
		"a.queryStart()", "b.queryStart(a)", "a.queryEnd(ab)", "b.queryEnd(ab)",
		"a.batchStart()", "a.batchQuery(a)", "a.batchEnd(a)",
	}
	if !slices.Equal(log, want) {
		t.Errorf("hooks seen:\n%q\nwant\n%q", log, want)
	}
	if cctx != ctx {
		t.Error("COPY hooks changed the context though no tracer traces COPY")
	}
}

// TestTracersCount: with a second tracer, the query counter still counts
// (a pool opened with Config.Tracer keeps QueryStats).
func TestTracersCount(t *testing.T) {
	c := &counter{}
	var log []string
	ts := tracers{c, recorder{"b", &log}}
	ctx := ts.TraceQueryStart(context.Background(), nil, pgx.TraceQueryStartData{})
	ts.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{})
	ts.TraceCopyFromEnd(ts.TraceCopyFromStart(context.Background(), nil, pgx.TraceCopyFromStartData{}), nil, pgx.TraceCopyFromEndData{})
	if c.roundTrips.Load() != 2 || c.statements.Load() != 2 || len(log) != 2 {
		t.Errorf("counter: %d round trips, %d statements; other tracer saw %q", c.roundTrips.Load(), c.statements.Load(), log)
	}
}
