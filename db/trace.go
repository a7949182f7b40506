package db

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// QueryStats counts what the pool sent to PostgreSQL since it opened:
// round trips (a query, an exec, a whole batch, a COPY) and statements (a
// batch counts each of its statements). Transaction control (BEGIN,
// COMMIT, ROLLBACK) counts as both. The benchmarks divide the change over
// a run by the requests served; `crmhub serve` exports both as Prometheus
// counters.
type QueryStats struct {
	RoundTrips, Statements uint64
}

// counter is the pool's pgx tracer behind QueryStats: two atomic adds per
// call, nothing allocated.
type counter struct {
	roundTrips, statements atomic.Uint64
}

var (
	_ pgx.QueryTracer    = (*counter)(nil)
	_ pgx.BatchTracer    = (*counter)(nil)
	_ pgx.CopyFromTracer = (*counter)(nil)
)

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.roundTrips.Add(1)
	c.statements.Add(1)
	ctxCount(ctx, 1)
	return ctx
}

func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *counter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	c.roundTrips.Add(1)
	if data.Batch != nil {
		c.statements.Add(uint64(data.Batch.Len()))
		ctxCount(ctx, data.Batch.Len())
	}
	return ctx
}

func (c *counter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (c *counter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (c *counter) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	c.roundTrips.Add(1)
	c.statements.Add(1)
	ctxCount(ctx, 1)
	return ctx
}

func (c *counter) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// QueryStats returns the counts so far.
func (db *DB) QueryStats() QueryStats {
	return QueryStats{RoundTrips: db.counter.roundTrips.Load(), Statements: db.counter.statements.Load()}
}

// ctxCounter counts the statements sent on behalf of one context and those
// derived from it (see CountQueries), whatever else the pool serves.
type ctxCounter struct{ round, stmts atomic.Uint64 }

type ctxCounterKey struct{}

func ctxCount(ctx context.Context, statements int) {
	if c, _ := ctx.Value(ctxCounterKey{}).(*ctxCounter); c != nil {
		c.round.Add(1)
		c.stmts.Add(uint64(statements))
	}
}

// CountQueries returns a context under which every query is counted, and a
// function that reads the counts: what one call (and the goroutines it
// starts with the context) cost, unlike QueryStats, which also counts any
// background work of the pool's other users.
func CountQueries(ctx context.Context) (context.Context, func() QueryStats) {
	c := &ctxCounter{}
	return context.WithValue(ctx, ctxCounterKey{}, c), func() QueryStats {
		return QueryStats{RoundTrips: c.round.Load(), Statements: c.stmts.Load()}
	}
}

// tracers chains pgx tracers, since a connection takes one: each start
// hook gets the context the previous one returned, and every end hook the
// context of the last. A tracer that does not trace batches or COPY is
// skipped for them.
type tracers []pgx.QueryTracer

var (
	_ pgx.BatchTracer    = tracers(nil)
	_ pgx.CopyFromTracer = tracers(nil)
)

func (ts tracers) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return startEach(ts, ctx, func(t pgx.QueryTracer, ctx context.Context) context.Context {
		return t.TraceQueryStart(ctx, conn, data)
	})
}

func (ts tracers) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	each(ts, func(t pgx.QueryTracer) { t.TraceQueryEnd(ctx, conn, data) })
}

func (ts tracers) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	return startEach(ts, ctx, func(t pgx.BatchTracer, ctx context.Context) context.Context {
		return t.TraceBatchStart(ctx, conn, data)
	})
}

func (ts tracers) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	each(ts, func(t pgx.BatchTracer) { t.TraceBatchQuery(ctx, conn, data) })
}

func (ts tracers) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchEndData) {
	each(ts, func(t pgx.BatchTracer) { t.TraceBatchEnd(ctx, conn, data) })
}

func (ts tracers) TraceCopyFromStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	return startEach(ts, ctx, func(t pgx.CopyFromTracer, ctx context.Context) context.Context {
		return t.TraceCopyFromStart(ctx, conn, data)
	})
}

func (ts tracers) TraceCopyFromEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromEndData) {
	each(ts, func(t pgx.CopyFromTracer) { t.TraceCopyFromEnd(ctx, conn, data) })
}

// startEach runs a start hook of every tracer that has it (is a T), each
// with the context the previous one returned.
func startEach[T any](ts tracers, ctx context.Context, start func(T, context.Context) context.Context) context.Context {
	for _, t := range ts {
		if h, ok := t.(T); ok {
			ctx = start(h, ctx)
		}
	}
	return ctx
}

// each runs a hook of every tracer that has it (is a T).
func each[T any](ts tracers, hook func(T)) {
	startEach(ts, context.Background(), func(h T, ctx context.Context) context.Context { hook(h); return ctx })
}
