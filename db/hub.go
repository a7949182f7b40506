package db

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

// ErrSlowSubscriber ends a subscription whose reader stopped taking events.
var ErrSlowSubscriber = crmhub.Errorf(crmhub.ERATELIMITED, "subscriber too slow: it did not take an event in time")

// ErrHubStopped ends subscriptions when the process shuts down.
var ErrHubStopped = crmhub.ErrShuttingDown

// HubConfig tunes the fan-out.
type HubConfig struct {
	// Buffer is how many live events may wait for one subscriber before it
	// falls back to reading the log itself (default 256).
	Buffer int
	// SendTimeout is how long a subscriber may take to accept one event
	// before it is disconnected (default 10 s).
	SendTimeout time.Duration
	Log         *slog.Logger
}

// Hub fans committed events out to the subscribers of this process. One
// listener connection waits for NOTIFY (ids only), reads the new rows with
// the tenant check, and pushes them into each subscriber's bounded buffer
// without ever blocking. A subscriber whose buffer overflows does not lose
// events: it notices the gap and reads them from the log. A subscriber that
// stops reading altogether is disconnected after SendTimeout.
type Hub struct {
	db  *DB
	cfg HubConfig

	mu   sync.Mutex
	subs map[uuid.UUID]*workspaceSubs
	last map[uuid.UUID]int64 // last position fanned out, per workspace with subscribers
	stop error               // set once Run has ended
	// moved is closed (and replaced) whenever an entry of last moves, so
	// that waitFannedOut can wait for a position without polling.
	moved chan struct{}

	listening chan struct{}
	listenOK  sync.Once

	// watchers follow other NOTIFY channels on the same listener
	// connection (the key cache); see watch.
	watchers []hubWatcher

	// TestSignals tell tests about the hub's work, so that they wait for
	// it rather than sleep.
	TestSignals HubTestSignals
}

// HubTestSignals are the hub's signals to tests; each is off until its
// Init.
type HubTestSignals struct {
	// SubscribersChanged is signalled when a subscription is registered
	// or removed (Subscribers has moved).
	SubscribersChanged TestSignal
}

// hubWatcher follows one NOTIFY channel through the hub's listener: it
// hears each notification of its channel, and whether the listener is
// connected and LISTENing (notifications sent while it is not are lost).
type hubWatcher interface {
	channel() string
	listening(up bool)
	notify(payload string)
}

// watch adds w to the listener; call it before Run.
func (h *Hub) watch(w hubWatcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.watchers = append(h.watchers, w)
}

// NewHub returns a hub; Run starts its listener.
func NewHub(db *DB, cfg HubConfig) *Hub {
	if cfg.Buffer <= 0 {
		cfg.Buffer = 256
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Hub{db: db, cfg: cfg, subs: map[uuid.UUID]*workspaceSubs{}, last: map[uuid.UUID]int64{},
		moved: make(chan struct{}), listening: make(chan struct{})}
}

// Listening is closed once the listener has subscribed to notifications the
// first time.
func (h *Hub) Listening() <-chan struct{} { return h.listening }

// Run listens until ctx ends, reconnecting with backoff. After every
// (re)connection it catches up from the log, since notifications sent while
// it was away are lost.
func (h *Hub) Run(ctx context.Context) {
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := h.listen(ctx)
		if ctx.Err() != nil {
			break
		}
		h.cfg.Log.Warn("event listener disconnected; reconnecting", "err", err, "in", wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(wait*2, 10*time.Second)
	}
	h.mu.Lock()
	h.stop = ErrHubStopped
	for _, w := range h.subs {
		for _, s := range w.all() {
			s.fail(ErrHubStopped)
		}
	}
	h.mu.Unlock()
}

func (h *Hub) listen(ctx context.Context) error {
	pc, err := h.db.Session.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := pc.Hijack() // LISTEN state must not go back to the pool
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+eventsChannel); err != nil {
		return err
	}
	h.mu.Lock()
	watchers := slices.Clone(h.watchers)
	h.mu.Unlock()
	for _, w := range watchers {
		if _, err := conn.Exec(ctx, "LISTEN "+w.channel()); err != nil {
			return err
		}
		w.listening(true)
		defer w.listening(false)
	}
	h.listenOK.Do(func() { close(h.listening) })
	h.mu.Lock()
	var known []uuid.UUID
	for ws := range h.last {
		known = append(known, ws)
	}
	h.mu.Unlock()
	for _, ws := range known {
		h.fanOut(ctx, ws, 0)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Channel != eventsChannel {
			for _, w := range watchers {
				if w.channel() == n.Channel {
					w.notify(n.Payload)
				}
			}
			continue
		}
		ws, first, ok := parseNotice(n.Payload)
		if ok {
			h.fanOut(ctx, ws, first)
		}
	}
}

// parseNotice reads "workspace:first:last".
func parseNotice(p string) (uuid.UUID, int64, bool) {
	parts := strings.Split(p, ":")
	if len(parts) != 3 {
		return uuid.Nil, 0, false
	}
	ws, err1 := uuid.Parse(parts[0])
	first, err2 := strconv.ParseInt(parts[1], 10, 64)
	return ws, first, err1 == nil && err2 == nil
}

// fanOut reads the workspace's events after the last one fanned out (or
// from `first` when none was) and pushes them to its subscribers.
func (h *Hub) fanOut(ctx context.Context, ws uuid.UUID, first int64) {
	h.mu.Lock()
	if h.subs[ws] == nil {
		h.mu.Unlock()
		return
	}
	from, ok := h.last[ws]
	if !ok {
		from = max(first-1, 0)
	}
	h.mu.Unlock()
	for {
		var rows []eventRow
		err := h.db.inWorkspace(ctx, ws, "system", true, func(ctx context.Context, t *tx) error {
			var err error
			rows, err = readEvents(ctx, t, crmhub.EventFilter{}, from, 500)
			return err
		})
		if err != nil {
			h.cfg.Log.Error("event fan-out: read events", "workspace", ws, "err", err)
			return
		}
		h.mu.Lock()
		w := h.subs[ws]
		for i := range rows {
			e := rows[i].domain()
			if w != nil {
				w.push(e)
			}
			from = e.Position
		}
		if w != nil {
			h.setLast(ws, from)
		}
		h.mu.Unlock()
		if len(rows) < 500 {
			return
		}
	}
}

func (h *Hub) subscribe(ctx context.Context, ws uuid.UUID, f crmhub.EventFilter, after int64) (*subscription, error) {
	ctx, cancel := context.WithCancel(ctx)
	buffer := h.cfg.Buffer
	if f.SubjectID != "" {
		buffer = min(buffer, subjectBuffer)
	}
	s := &subscription{hub: h, ws: ws, filter: f, live: make(chan *crmhub.Event, buffer),
		out: make(chan *crmhub.Event), done: make(chan struct{}), ctx: ctx, cancel: cancel}
	// Its end needs a worker: the one at work, or one started for it.
	context.AfterFunc(ctx, s.kick)
	// "From now" (after < 0) in a workspace the hub already follows is the
	// last position it fanned out: registered under the same lock, the
	// subscription is pushed every later event, so it needs no replay and
	// no query at all.
	fromNow := after < 0
	if fromNow {
		if h.registerLive(s) {
			return s, nil
		}
	}
	// Otherwise "from now" is the log's end read before registering: the
	// replay below covers whatever commits between that read and the
	// registration, so every event committed once the subscription is
	// registered is delivered.
	if after < 0 {
		err := h.db.inWorkspace(ctx, ws, "system", true, func(ctx context.Context, t *tx) error {
			return t.NewRaw("SELECT coalesce(max(position), 0) FROM events WHERE workspace_id = ?", t.ws).Scan(ctx, &after)
		})
		if err != nil {
			cancel()
			return nil, fmt.Errorf("db: subscribe: read log end: %w", err)
		}
	}
	// The first worker replays the log after `after` (set before the hub
	// can push, which starts one).
	s.pos = after
	s.gap.Store(true)
	h.mu.Lock()
	if h.stop != nil {
		h.mu.Unlock()
		cancel()
		return nil, h.stop
	}
	w := h.subs[ws]
	if w == nil {
		w = &workspaceSubs{}
		h.subs[ws] = w
		// The first subscription of a workspace from now: events up to
		// the log's end concern no subscriber, so the fan-out may start
		// there, and the next ones from now take it as theirs.
		if _, ok := h.last[ws]; !ok && fromNow {
			h.setLast(ws, after)
		}
	}
	w.add(s)
	h.mu.Unlock()
	h.TestSignals.SubscribersChanged.Signal()
	// Registered before the replay reads the log, so nothing committed from
	// now on can be missed; the position check drops the overlap.
	s.kick()
	return s, nil
}

// setLast moves the last position fanned out in ws and wakes those
// waiting for it; h.mu must be held.
func (h *Hub) setLast(ws uuid.UUID, pos int64) {
	h.last[ws] = pos
	close(h.moved)
	h.moved = make(chan struct{})
}

// waitFannedOut waits until the hub has fanned out every event of ws up to
// pos: from then on, a subscription from now starts after pos. Tests use it
// to order a subscription after a fan-out without sleeping.
func (h *Hub) waitFannedOut(ctx context.Context, ws uuid.UUID, pos int64) error {
	for {
		h.mu.Lock()
		last, ok := h.last[ws]
		moved := h.moved
		h.mu.Unlock()
		if ok && last >= pos {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// registerLive registers s if the hub follows its workspace, to start
// after the last position fanned out there.
func (h *Hub) registerLive(s *subscription) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	last, ok := h.last[s.ws]
	w := h.subs[s.ws]
	if !ok || w == nil || h.stop != nil {
		return false
	}
	s.pos = last // before the hub can push to s
	w.add(s)
	h.TestSignals.SubscribersChanged.Signal()
	return true
}

func (h *Hub) remove(s *subscription) {
	h.mu.Lock()
	if w := h.subs[s.ws]; w != nil && w.remove(s) {
		delete(h.subs, s.ws)
		delete(h.last, s.ws)
	}
	h.mu.Unlock()
	h.TestSignals.SubscribersChanged.Signal()
}

// Subscribers counts live subscriptions (for metrics and tests).
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, w := range h.subs {
		n += w.n
	}
	return n
}

// subjectBuffer is the live buffer of a subscription to one subject, which
// sees that subject's events only: a burst past it is read from the log.
const subjectBuffer = 16

// workspaceSubs are the subscriptions of one workspace: those that follow
// one subject (contactChanged(id)) under that subject, the others
// together. An event is pushed only to the subscriptions it may concern,
// so that thousands of subscribers to one contact each cost nothing when
// another contact changes.
type workspaceSubs struct {
	any       map[*subscription]struct{}
	bySubject map[string]map[*subscription]struct{}
	n         int
}

func (w *workspaceSubs) add(s *subscription) {
	subject := s.filter.SubjectID
	if subject == "" {
		if w.any == nil {
			w.any = map[*subscription]struct{}{}
		}
		w.any[s] = struct{}{}
	} else {
		if w.bySubject == nil {
			w.bySubject = map[string]map[*subscription]struct{}{}
		}
		set := w.bySubject[subject]
		if set == nil {
			set = map[*subscription]struct{}{}
			w.bySubject[subject] = set
		}
		set[s] = struct{}{}
	}
	w.n++
}

// remove takes s out and reports whether none is left.
func (w *workspaceSubs) remove(s *subscription) bool {
	subject := s.filter.SubjectID
	set := w.any
	if subject != "" {
		set = w.bySubject[subject]
	}
	if _, ok := set[s]; ok {
		delete(set, s)
		w.n--
		if subject != "" && len(set) == 0 {
			delete(w.bySubject, subject)
		}
	}
	return w.n == 0
}

// push hands e to the subscriptions whose filter it passes.
func (w *workspaceSubs) push(e *crmhub.Event) {
	for s := range w.any {
		if s.matches(e) {
			s.push(e)
		}
	}
	for s := range w.bySubject[e.SubjectID] {
		if s.matches(e) {
			s.push(e)
		}
	}
}

// all lists every subscription.
func (w *workspaceSubs) all() []*subscription {
	out := make([]*subscription, 0, w.n)
	for s := range w.any {
		out = append(out, s)
	}
	for _, set := range w.bySubject {
		for s := range set {
			out = append(out, s)
		}
	}
	return out
}

// subscription is one subscriber's stream. It has a goroutine only while
// there is work: the hub's push, a gap to read from the log, or the
// subscription's end starts one (kick), which hands the events over and
// ends once none is left, so that thousands of idle subscriptions park no
// goroutine.
type subscription struct {
	hub    *Hub
	ws     uuid.UUID
	filter crmhub.EventFilter
	live   chan *crmhub.Event
	// gap: live events were dropped (the buffer was full), or the replay
	// has not run yet; the worker reads the log after pos.
	gap    atomic.Bool
	out    chan *crmhub.Event
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc

	// working is set while a worker runs, and for good once the
	// subscription has ended; pos, the last position handed over or
	// skipped, is the worker's.
	working atomic.Bool
	pos     int64

	errMu sync.Mutex
	err   error

	// announce, once set (Announce), is called before each handover on
	// out; unannounced counts those begun before it was set.
	annMu       sync.Mutex
	announce    func()
	unannounced int
}

var _ crmhub.SubscriptionAnnouncer = (*subscription)(nil)

func (s *subscription) C() <-chan *crmhub.Event { return s.out }

func (s *subscription) Announce(f func()) {
	s.annMu.Lock()
	s.announce = f
	n := s.unannounced
	s.unannounced = 0
	s.annMu.Unlock()
	for range n {
		f()
	}
}

// handover announces the next value on out, or its close.
func (s *subscription) handover() {
	s.annMu.Lock()
	f := s.announce
	if f == nil {
		s.unannounced++
	}
	s.annMu.Unlock()
	if f != nil {
		f()
	}
}

func (s *subscription) Done() <-chan struct{} { return s.done }

func (s *subscription) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

func (s *subscription) Close() { s.cancel() }

func (s *subscription) fail(err error) {
	s.errMu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.errMu.Unlock()
	s.cancel()
}

// push hands a live event over without blocking; a full buffer marks a gap
// that the subscription fills from the log.
func (s *subscription) push(e *crmhub.Event) {
	select {
	case s.live <- e:
	default:
		s.gap.Store(true)
	}
	s.kick()
}

// kick starts a worker unless one runs.
func (s *subscription) kick() {
	if s.working.CompareAndSwap(false, true) {
		go s.work()
	}
}

// work hands the pending events over, then ends; the subscription's end
// is the worker's too.
func (s *subscription) work() {
	for {
		if s.step() {
			s.finish()
			return
		}
		s.working.Store(false)
		// Work that came between step's last look and the store above
		// found a worker and started none: look again.
		if !s.pending() || !s.working.CompareAndSwap(false, true) {
			return
		}
	}
}

// pending reports whether a worker has something to do.
func (s *subscription) pending() bool {
	return len(s.live) > 0 || s.gap.Load() || s.ctx.Err() != nil
}

// step hands over what is pending: the log after pos when there is a
// gap, then the live events. It reports whether the subscription has
// ended.
func (s *subscription) step() bool {
	for {
		if s.ctx.Err() != nil {
			return true
		}
		if s.gap.Swap(false) {
			var err error
			if s.pos, err = s.replay(s.ctx, s.pos); err != nil {
				s.fail(err)
				return true
			}
			continue
		}
		select {
		case e := <-s.live:
			if e.Position <= s.pos {
				continue
			}
			s.pos = e.Position
			if s.matches(e) && !s.send(s.ctx, e) {
				return true
			}
		default:
			return false
		}
	}
}

// finish ends the subscription; working stays set, so no worker starts
// again.
func (s *subscription) finish() {
	s.hub.remove(s)
	s.handover()
	close(s.out)
	close(s.done)
}

func (s *subscription) matches(e *crmhub.Event) bool {
	if len(s.filter.Types) > 0 && !slices.Contains(s.filter.Types, e.Type) {
		return false
	}
	return s.filter.SubjectID == "" || s.filter.SubjectID == e.SubjectID
}

// replay sends the logged events after pos and returns the last position
// it covered.
func (s *subscription) replay(ctx context.Context, pos int64) (int64, error) {
	for {
		var rows []eventRow
		err := s.hub.db.inWorkspace(ctx, s.ws, "system", true, func(ctx context.Context, t *tx) error {
			var err error
			rows, err = readEvents(ctx, t, s.filter, pos, 500)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return pos, nil
			}
			return pos, fmt.Errorf("db: replay events: %w", err)
		}
		for i := range rows {
			e := rows[i].domain()
			pos = e.Position
			if !s.send(ctx, e) {
				return pos, nil
			}
		}
		if len(rows) < 500 {
			return pos, nil
		}
	}
}

// send delivers one event, giving up when the subscriber is gone or has not
// taken it within SendTimeout.
func (s *subscription) send(ctx context.Context, e *crmhub.Event) bool {
	s.handover()
	t := time.NewTimer(s.hub.cfg.SendTimeout)
	defer t.Stop()
	select {
	case s.out <- e:
		return true
	case <-ctx.Done():
		return false
	case <-t.C:
		s.fail(ErrSlowSubscriber)
		return false
	}
}
