// Package gcpace gives Go's garbage collector a floor of headroom.
//
// At GOGC=100 the runtime starts a collection each time the heap has grown
// by as much as was live after the last one. A service whose live heap is
// small (crmhub serving reads holds about 20 MB) then collects every few
// megabytes allocated: a GraphQL page of 50 deals allocates about 6 MB, so
// the GC's marking, its assists and the sweep took 20-30% of the CPU in the
// profiles of BENCHMARKS.md. A bigger GOGC for everything would multiply
// the memory of a large live heap too (10,000 websockets hold hundreds of
// megabytes).
//
// Pacer sets the GC percent after every collection so that the next one
// comes after max(live heap, headroom) more bytes: a small heap may grow by
// the headroom, a large one by its own size, as at GOGC=100. GOMEMLIMIT,
// when the operator sets it, still caps the heap: the runtime collects
// earlier near the limit whatever the percent says.
package gcpace

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// Bounds of the percent the pacer sets.
const (
	minPercent = 100  // GOGC's default: a large heap is collected as before
	maxPercent = 2000 // a nearly empty heap still collects now and then
)

// Pacer adjusts the GC percent after each collection; Stop restores the
// percent it found.
type Pacer struct {
	headroom uint64
	before   int
	stopped  atomic.Bool
	percent  atomic.Int64 // the last percent set, for tests and metrics
	once     sync.Once
	sample   []metrics.Sample
}

// Start makes a pacer that keeps at least headroom bytes of heap growth
// between collections. A headroom of 0 returns nil (no pacing).
func Start(headroom uint64) *Pacer {
	if headroom == 0 {
		return nil
	}
	p := &Pacer{headroom: headroom, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	p.before = debug.SetGCPercent(minPercent)
	p.percent.Store(minPercent)
	p.adjust()
	p.arm()
	return p
}

// Percent is the GC percent the pacer set last.
func (p *Pacer) Percent() int { return int(p.percent.Load()) }

// Stop ends the pacing and restores the GC percent found at Start.
func (p *Pacer) Stop() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		p.stopped.Store(true)
		debug.SetGCPercent(p.before)
	})
}

// sentinel is garbage from birth: its finalizer runs after the collection
// that finds it, which is how the pacer learns that a cycle has ended. It
// holds a pointer so that it is not a tiny allocation (those can share a
// block with live objects and be finalized late).
type sentinel struct{ p *Pacer }

func (p *Pacer) arm() {
	runtime.SetFinalizer(&sentinel{p: p}, func(s *sentinel) {
		if s.p.stopped.Load() {
			return
		}
		s.p.adjust()
		s.p.arm()
	})
}

// adjust sets the percent for the next cycle from the heap live after the
// last one.
func (p *Pacer) adjust() {
	metrics.Read(p.sample)
	if p.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	pct := percentFor(p.sample[0].Value.Uint64(), p.headroom)
	// Small changes are left alone: setting the percent recomputes the
	// GC's pacing under the heap lock.
	if old := p.percent.Load(); old != int64(pct) && (pct*10 > int(old)*11 || pct*11 < int(old)*10 || pct == minPercent) {
		debug.SetGCPercent(pct)
		p.percent.Store(int64(pct))
	}
}

// percentFor is the GC percent at which a live heap of live bytes may grow
// by headroom bytes before the next collection, within [minPercent,
// maxPercent].
func percentFor(live, headroom uint64) int {
	if live == 0 {
		return maxPercent
	}
	pct := headroom * 100 / live
	return int(min(max(pct, minPercent), maxPercent))
}
