package db

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// signalWait bounds every wait of these tests; a pass takes microseconds.
const signalWait = 10 * time.Second

func waitRan(t *testing.T, l *loop, what string) {
	t.Helper()
	if !l.Ran.Wait(signalWait) {
		t.Fatalf("the loop did not run %s", what)
	}
}

// The first pass runs at Start; the next waits for the interval (an hour
// here), so nothing more runs before Stop.
func TestLoopRunsAtStartThenEveryInterval(t *testing.T) {
	var passes atomic.Int32
	var l loop
	l.init("test", time.Hour, slog.New(slog.DiscardHandler), func(context.Context) (bool, error) {
		passes.Add(1)
		return false, nil
	})
	l.Ran.Init()
	l.Start(context.Background())
	l.Start(context.Background()) // already running: nothing more
	waitRan(t, &l, "at start")
	l.Stop()
	l.Stop() // stopped already: nothing to do
	if n := passes.Load(); n != 1 {
		t.Fatalf("%d passes before the first tick, want 1", n)
	}
}

// A pass that reports more work is followed at once by another, without
// waiting for the tick; an error is logged under the loop's name and the
// loop then waits for the tick.
func TestLoopRunsAgainWhileMoreAndLogsErrors(t *testing.T) {
	var passes atomic.Int32
	var logs bytes.Buffer // read after Stop, which waits for the goroutine
	var l loop
	l.init("test loop", time.Hour, slog.New(slog.NewTextHandler(&logs, nil)), func(context.Context) (bool, error) {
		switch passes.Add(1) {
		case 1, 2:
			return true, nil
		default:
			return true, errors.New("boom")
		}
	})
	l.Ran.Init()
	l.Start(context.Background())
	for range 3 {
		waitRan(t, &l, "again")
	}
	l.Stop()
	if n := passes.Load(); n != 3 {
		t.Fatalf("%d passes, want 3 (two with more work, then an error that waits for the tick)", n)
	}
	if out := logs.String(); !strings.Contains(out, `msg="test loop"`) || !strings.Contains(out, "err=boom") {
		t.Fatalf("the error is not logged under the loop's name: %q", out)
	}
}

// Stop lets the pass in flight finish and returns after it; ending ctx
// ends the loop too.
func TestLoopStopWaitsForThePassInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	var l loop
	l.init("test", time.Hour, nil, func(ctx context.Context) (bool, error) {
		close(entered)
		<-release
		finished.Store(true)
		return false, ctx.Err()
	})
	l.Start(context.Background())
	<-entered
	stopped := make(chan struct{})
	go func() { l.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a pass was running")
	case <-time.After(10 * time.Millisecond):
	}
	close(release)
	<-stopped
	if !finished.Load() {
		t.Fatal("Stop returned before the pass finished")
	}

	ctx, cancel := context.WithCancel(context.Background())
	var again loop
	again.init("test", time.Hour, nil, func(context.Context) (bool, error) { return false, nil })
	again.Ran.Init()
	again.Start(ctx)
	waitRan(t, &again, "at start")
	cancel()
	again.Stop() // returns once the goroutine has seen ctx end
}

func TestTestSignal(t *testing.T) {
	var s TestSignal
	s.Signal() // off: not kept
	if s.Wait(0) {
		t.Fatal("a signal that is off was waited for")
	}
	s.Init()
	if s.Wait(time.Millisecond) {
		t.Fatal("an occurrence from before Init was kept")
	}
	s.Signal()
	s.Signal()
	if first, second := s.Wait(signalWait), s.Wait(signalWait); !first || !second {
		t.Fatal("two occurrences were not both seen")
	}
	if s.Wait(time.Millisecond) {
		t.Fatal("a third occurrence was seen")
	}
	for range testSignalBuffer + 1 {
		s.Signal() // past the buffer, dropped without blocking
	}
}
