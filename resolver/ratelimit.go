package resolver

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/crmhub/crmhub"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"golang.org/x/time/rate"
)

// pointsPerComplexity converts query cost into rate-limit points: a
// request costs one point, plus one per this much complexity (the nested
// page of the benchmarks, about 17,000, costs 171 points).
const pointsPerComplexity = 100

// maxLimiters bounds the buckets kept; past it the idle ones (full again)
// are dropped, and a key whose bucket is dropped starts full, which is
// what an idle key's bucket is anyway.
const maxLimiters = 100_000

// rateLimits keeps one token bucket per key (an API key, a hook URL): a
// budget of points per minute that refills continuously. Each process
// keeps its own buckets, so N processes behind a balancer allow up to N
// budgets; one key's use never touches another's bucket.
type rateLimits struct {
	perMinute int
	now       func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

func newRateLimits(perMinute int, now func() time.Time) *rateLimits {
	if perMinute <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &rateLimits{perMinute: perMinute, now: now, buckets: map[string]*rate.Limiter{}}
}

// rateResult is what one charge leaves: the headers of the answer, and
// whether the request may go on.
type rateResult struct {
	limit, remaining int
	reset            time.Duration // until the bucket is full again
	retryAfter       time.Duration // when denied: until the points are there
	allowed          bool
}

// charge takes points from key's bucket if it holds them (a cost over the
// whole budget counts as the whole budget).
func (l *rateLimits) charge(key string, points int) rateResult {
	now := l.now()
	points = min(max(points, 1), l.perMinute)
	l.mu.Lock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxLimiters {
			l.sweepLocked(now)
		}
		b = rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), l.perMinute)
		l.buckets[key] = b
	}
	l.mu.Unlock()
	res := rateResult{limit: l.perMinute, allowed: b.AllowN(now, points)}
	tokens := b.TokensAt(now)
	perSecond := float64(l.perMinute) / 60
	res.remaining = max(int(tokens), 0)
	res.reset = time.Duration((float64(l.perMinute) - tokens) / perSecond * float64(time.Second))
	if !res.allowed {
		res.retryAfter = time.Duration((float64(points) - tokens) / perSecond * float64(time.Second))
	}
	return res
}

// sweepLocked drops the buckets that are full again (their keys were
// idle long enough to have their whole budget back).
func (l *rateLimits) sweepLocked(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.perMinute) {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxLimiters { // all busy: start over rather than grow
		l.buckets = map[string]*rate.Limiter{}
	}
}

// writeHeaders sets the RateLimit-* headers (and Retry-After when denied),
// in whole seconds rounded up.
func (r rateResult) writeHeaders(h http.Header) {
	h.Set("RateLimit-Limit", strconv.Itoa(r.limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(r.remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(r.reset)))
	if !r.allowed {
		h.Set("Retry-After", strconv.Itoa(max(ceilSeconds(r.retryAfter), 1)))
	}
}

func ceilSeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// rateError is the GraphQL error of a request over its key's budget.
func (r rateResult) error() *gqlerror.Error {
	err := gqlerror.Errorf("rate limit exceeded: this API key has used its %d points per minute; retry in %d s",
		r.limit, max(ceilSeconds(r.retryAfter), 1))
	err.Extensions = map[string]any{"code": crmhub.ERATELIMITED, "retryAfter": max(ceilSeconds(r.retryAfter), 1)}
	return err
}

// charged carries the outcome of a request's charge from the extension
// that makes it to the transport that writes the headers.
type charged struct{ res *rateResult }

type chargedKey struct{}

func withCharge(ctx context.Context) (context.Context, *charged) {
	c := &charged{}
	return context.WithValue(ctx, chargedKey{}, c), c
}

// rateLimitExtension charges each operation to its API key once its cost
// is known (it runs after the complexity extension): one point plus one
// per pointsPerComplexity. Over budget, the operation fails with
// RATE_LIMITED before anything runs: over HTTP with status 429 and
// Retry-After, on a websocket as the subscription's error message.
type rateLimitExtension struct {
	limits *rateLimits
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = rateLimitExtension{}

func (rateLimitExtension) ExtensionName() string                   { return "RateLimit" }
func (rateLimitExtension) Validate(graphql.ExecutableSchema) error { return nil }

func (e rateLimitExtension) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	p := crmhub.FromContext(ctx)
	if p == nil {
		return nil
	}
	points := 1
	if s := extension.GetComplexityStats(ctx); s != nil {
		points += s.Complexity / pointsPerComplexity
	}
	res := e.limits.charge("key:"+p.APIKeyID.String(), points)
	if c, _ := ctx.Value(chargedKey{}).(*charged); c != nil {
		c.res = &res
	}
	if !res.allowed {
		return res.error()
	}
	return nil
}

// chargeUncharged charges one point to a request that ended before the
// extension could (it did not parse or validate): every request costs at
// least a point.
func chargeUncharged(ctx context.Context, limits *rateLimits, c *charged) {
	if c.res != nil {
		return
	}
	if p := crmhub.FromContext(ctx); p != nil {
		res := limits.charge("key:"+p.APIKeyID.String(), 1)
		c.res = &res
	}
}

// limitHooks charges each request to a hook URL one point of that URL's
// own budget; over it, 429 with Retry-After, so a CRM backs off without
// any API key paying for it.
func limitHooks(limits *rateLimits, next http.Handler) http.Handler {
	if limits == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := limits.charge("hook:"+r.PathValue("connectionId"), 1)
		res.writeHeaders(w.Header())
		if !res.allowed {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":"rate limit exceeded","code":"RATE_LIMITED"}`))
			return
		}
		next.ServeHTTP(w, r)
	})
}
