package db

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// loop is the one shape of this package's background loops (the message
// outbox, the webhook dispatcher, event retention, the sync scheduler), as
// River's maintenance services have it: Start runs bounded passes in a
// goroutine, the first at once and then one per tick of interval, or the
// next at once while a pass reports more work; Stop ends the loop and
// waits for the pass in flight, which it lets finish. Each service embeds
// a loop, so Start, Stop and the test signal Ran are its own.
type loop struct {
	name     string
	interval time.Duration
	log      *slog.Logger
	// pass does one bounded round of work. more asks for the next round at
	// once (a backlog); an error is logged under the loop's name and the
	// loop waits for the next tick.
	pass func(ctx context.Context) (more bool, err error)

	// Ran is signalled after every pass, so that a test can wait for the
	// loop's work instead of sleeping.
	Ran TestSignal

	mu   sync.Mutex
	stop chan struct{}
	done chan struct{}
	// wake holds one request for a pass before the next tick (Wake).
	wake chan struct{}
}

// init sets the loop up; a loop is embedded by value and inited in its
// service's constructor.
func (l *loop) init(name string, interval time.Duration, log *slog.Logger, pass func(context.Context) (bool, error)) {
	if log == nil {
		log = slog.Default()
	}
	l.name, l.interval, l.log, l.pass = name, interval, log, pass
	l.wake = make(chan struct{}, 1)
}

// Wake asks for a pass now rather than at the next tick, for work that a
// request of this process has just made due. It never blocks; wakes
// that come while one is pending count once.
func (l *loop) Wake() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Start runs the loop until Stop or ctx ends. Starting a running loop does
// nothing.
func (l *loop) Start(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stop != nil {
		return
	}
	stop, done := make(chan struct{}), make(chan struct{})
	l.stop, l.done = stop, done
	go func() {
		defer close(done)
		tick := time.NewTicker(l.interval)
		defer tick.Stop()
		for {
			more, err := l.pass(ctx)
			if err != nil {
				l.log.Error(l.name, "err", err)
			}
			l.Ran.Signal()
			if more && err == nil {
				select {
				case <-ctx.Done():
					return
				case <-stop:
					return
				default:
					continue
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-stop:
				return
			case <-tick.C:
			case <-l.wake:
			}
		}
	}()
}

// Stop ends the loop and waits for the pass in flight. Stopping a loop
// that does not run does nothing.
func (l *loop) Stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stop == nil {
		return
	}
	close(l.stop)
	<-l.done
	l.stop, l.done = nil, nil
}

// testSignalBuffer is how many occurrences a TestSignal keeps for a test
// that has not waited yet; past it, more are dropped (the test has seen
// that the work happens).
const testSignalBuffer = 1000

// TestSignal tells a test that a piece of background work happened (a
// loop's pass, a key use written, a revocation heard), so that the test
// waits on it rather than sleeping. It is off until Init, and then costs
// the background work a channel send that never blocks; the zero value is
// ready to be embedded.
type TestSignal struct {
	ch atomic.Pointer[chan struct{}]
}

// Init turns the signal on, forgetting what it held. Occurrences before
// Init are not kept.
func (s *TestSignal) Init() {
	ch := make(chan struct{}, testSignalBuffer)
	s.ch.Store(&ch)
}

// Signal records one occurrence, if the signal is on.
func (s *TestSignal) Signal() {
	if ch := s.ch.Load(); ch != nil {
		select {
		case *ch <- struct{}{}:
		default:
		}
	}
}

// Wait waits at most timeout for an occurrence not yet waited for and
// reports whether one came. It returns false at once when the signal is
// off.
func (s *TestSignal) Wait(timeout time.Duration) bool {
	ch := s.ch.Load()
	if ch == nil {
		return false
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-*ch:
		return true
	case <-t.C:
		return false
	}
}
