package gcpace

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, headroom uint64
		want           int
	}{
		{0, 64 * mib, maxPercent},
		{1 * mib, 64 * mib, maxPercent},  // 6400% capped
		{16 * mib, 64 * mib, 400},        // a small heap grows by the headroom
		{64 * mib, 64 * mib, minPercent}, // from here on, GOGC=100
		{500 * mib, 64 * mib, minPercent},
	} {
		if got := percentFor(c.live, c.headroom); got != c.want {
			t.Errorf("percentFor(%d MiB, %d MiB) = %d, want %d", c.live/mib, c.headroom/mib, got, c.want)
		}
	}
}

// TestPacerFollowsTheLiveHeap: after collections the percent follows the
// live heap (high while it is small, 100 once it passes the headroom), and
// Stop restores the percent found.
func TestPacerFollowsTheLiveHeap(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	if Start(0) != nil {
		t.Fatal("a headroom of 0 paces")
	}
	p := Start(256 << 20)
	waitFor := func(what string, ok func(int) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok(p.Percent()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: percent %d", what, p.Percent())
			}
			runtime.GC()
			time.Sleep(10 * time.Millisecond) // the finalizer runs after the cycle
		}
	}
	waitFor("a small live heap", func(pct int) bool { return pct > 1000 })

	held := make([][]byte, 0, 512)
	for range 512 {
		held = append(held, make([]byte, 1<<20)) // 512 MiB live: past the headroom
	}
	waitFor("a live heap twice the headroom", func(pct int) bool { return pct == minPercent })
	if got := debug.SetGCPercent(minPercent); got != minPercent {
		t.Fatalf("runtime's percent %d, want %d", got, minPercent)
	}
	runtime.KeepAlive(held)
	held = nil

	p.Stop()
	p.Stop() // idempotent
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("after Stop the percent is %d, want the 100 found at Start", got)
	}
}
