package db

import "sync/atomic"

// tally counts events by a name from a fixed set (a delivery attempt's
// outcome, a run's final status) for metrics: one atomic add each. Its
// map is never written after newTally, so it is safe for concurrent use.
type tally map[string]*atomic.Uint64

func newTally(names ...string) tally {
	t := make(tally, len(names))
	for _, n := range names {
		t[n] = new(atomic.Uint64)
	}
	return t
}

// add counts one event; a name outside the set is not counted.
func (t tally) add(name string) {
	if c := t[name]; c != nil {
		c.Add(1)
	}
}

// counts returns every name's count so far, zeros included.
func (t tally) counts() map[string]uint64 {
	out := make(map[string]uint64, len(t))
	for n, c := range t {
		out[n] = c.Load()
	}
	return out
}
