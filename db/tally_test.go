package db

import (
	"maps"
	"testing"
)

// TestTally: counts start at zero for every name, and a name outside the
// set is ignored.
func TestTally(t *testing.T) {
	tl := newTally("ok", "failed")
	if got := tl.counts(); !maps.Equal(got, map[string]uint64{"ok": 0, "failed": 0}) {
		t.Errorf("fresh: %v", got)
	}
	tl.add("ok")
	tl.add("ok")
	tl.add("failed")
	tl.add("unknown")
	if got := tl.counts(); !maps.Equal(got, map[string]uint64{"ok": 2, "failed": 1}) {
		t.Errorf("after adds: %v", got)
	}
}
