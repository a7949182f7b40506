package resolver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/crmhub/crmhub"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// graphql-transport-ws close codes (the protocol's, besides closeUnauthorized
// and closeBadInit).
const (
	closeForbidden         = 4403
	closeInitTimeout       = 4408
	closeDuplicateID       = 4409
	closeTooManyInits      = 4429
	transportWSSubprotocol = "graphql-transport-ws"
)

const (
	// wsWriteTimeout bounds one write to a socket; a client that takes
	// longer loses it (the hub ends its subscriptions before that).
	wsWriteTimeout = 10 * time.Second
	// wsReadLimit bounds one client message, as gqlgen's transport did.
	wsReadLimit = 1 << 20
)

// wsTransport serves GraphQL over websockets with the graphql-transport-ws
// protocol (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md),
// behind gqlgen's graphql.Transport. It replaces gqlgen's transport for
// that protocol because of what a socket costs there: four goroutines per
// connection (the read loop, a keep-alive ticker, one closing the socket on
// cancellation, one per operation) and a wrapper of buffers around
// coder/websocket's. Here a socket is its read loop, and an operation has
// a goroutine while it works (an idle subscription has none: see
// wsOperation); keep-alive pings are timers (time.AfterFunc) and
// cancellation is context.AfterFunc. The handler returns once the socket is accepted,
// and the read loop is a goroutine of its own: a request's goroutine, deep
// in net/http, chi and the middlewares, keeps a 16 KiB stack, the request
// and net/http's connection buffers for as long as it runs, which for a
// socket is hours (see BENCHMARKS.md, "Subscriptions against a peer that
// delivers"). Clients of the older graphql-ws protocol (subprotocol
// "graphql-ws" or none) still go to gqlgen's transport (legacy), which
// holds the request for the socket's life.
type wsTransport struct {
	legacy      transport.Websocket
	accept      websocket.AcceptOptions
	init        transport.WebsocketInitFunc
	initTimeout time.Duration
	// pingInterval is how often an idle socket gets a ping (0: never),
	// which keeps proxies from dropping it; a missing pong is fine.
	pingInterval time.Duration
	log          *slog.Logger
	// sockets counts the open sockets of both protocols.
	sockets prometheus.Gauge

	// mu guards open and closing (set by shutdown). running counts the
	// open sockets (their read loops, or the legacy transport's Do) and
	// the live operations, for shutdown to wait for.
	mu      sync.Mutex
	open    map[*wsSocket]struct{}
	closing bool
	running sync.WaitGroup
}

var _ graphql.Transport = (*wsTransport)(nil)

func (t *wsTransport) Supports(r *http.Request) bool { return r.Header.Get("Upgrade") != "" }

func (t *wsTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	s, _ := r.Context().Value(wsSocketKey{}).(*wsSocket)
	if s == nil { // withSocket makes room for it; without that router, here
		s = &wsSocket{}
		r = r.WithContext(context.WithValue(r.Context(), wsSocketKey{}, s))
	}
	if !t.enter(s) {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	if !offersSubprotocol(r, transportWSSubprotocol) {
		t.sockets.Inc()
		defer t.sockets.Dec()
		defer t.leave(s)
		t.legacy.Do(w, r, exec)
		return
	}
	opts := t.accept
	opts.Subprotocols = []string{transportWSSubprotocol}
	conn, err := websocket.Accept(leanHijacker{w}, r, &opts)
	if err != nil {
		t.leave(s)
		t.log.DebugContext(r.Context(), "websocket not accepted", "err", err)
		return // Accept has answered
	}
	conn.SetReadLimit(wsReadLimit)
	c := &wsConn{t: t, conn: conn, exec: exec, ops: map[string]context.CancelFunc{}}
	ctx, cancel := context.WithCancel(socketContext(r.Context()))
	c.ctx, c.cancel = ctx, cancel
	t.sockets.Inc()
	go func() {
		defer t.leave(s)
		defer t.sockets.Dec()
		s.set(c) // here: a shutdown that came first closes it, reading its answer
		c.serve()
	}()
}

// enter counts a socket in, unless shutdown has begun.
func (t *wsTransport) enter(s *wsSocket) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	if t.open == nil {
		t.open = map[*wsSocket]struct{}{}
	}
	t.open[s] = struct{}{}
	t.running.Add(1)
	return true
}

// leave counts a socket out once it has closed.
func (t *wsTransport) leave(s *wsSocket) {
	t.mu.Lock()
	delete(t.open, s)
	t.mu.Unlock()
	t.running.Done()
}

// shutdown closes every socket with 1001 (going away) and waits for them
// and their operations to end (Handler.Shutdown).
func (t *wsTransport) shutdown(ctx context.Context) error {
	t.mu.Lock()
	t.closing = true
	open := make([]*wsSocket, 0, len(t.open))
	for s := range t.open {
		open = append(open, s)
	}
	t.mu.Unlock()
	// A close waits for the client's answer (up to coder/websocket's 5 s):
	// the sockets close side by side.
	var closers sync.WaitGroup
	for _, s := range open {
		closers.Go(func() { s.close(int(websocket.StatusGoingAway), "Server shutting down") })
	}
	done := make(chan struct{})
	go func() {
		closers.Wait()
		t.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("websockets still open: %w", context.Cause(ctx))
	}
}

// socketContext is the context a socket lives in once its handler has
// returned: the request's values (its id for the logs, its trace, the
// socket's slot for closeSocket) without its cancellation, which net/http
// fires as the handler returns. chi's route context is masked: chi hands
// it to the next request once this one's handler has returned.
func socketContext(ctx context.Context) context.Context {
	return context.WithValue(context.WithoutCancel(ctx), chi.RouteCtxKey, nil)
}

// wsReadBuffer and wsWriteBuffer size a socket's buffers, which stay
// allocated for its life: a client message or a "next" bigger than them
// costs more system calls, not an error.
const (
	wsReadBuffer  = 512
	wsWriteBuffer = 1024
)

// leanHijacker gives coder/websocket buffers of its own size in place of
// net/http's 4 KiB pair, which would otherwise last as long as the socket.
type leanHijacker struct{ http.ResponseWriter }

func (w leanHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// Bytes the client sent right behind its upgrade request are already
	// in net/http's reader; they must be in the new reader's buffer, not
	// only ahead in its source, because Accept resets that source. (The 101
	// is flushed before Hijack returns, so net/http's writer holds nothing.)
	n := brw.Reader.Buffered()
	br := bufio.NewReaderSize(conn, max(wsReadBuffer, n))
	if n > 0 {
		b, _ := brw.Reader.Peek(n)
		br.Reset(io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn))
		if _, err := br.Peek(n); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, wsWriteBuffer)), nil
}

func (w leanHijacker) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// offersSubprotocol reports whether the client offers proto.
func offersSubprotocol(r *http.Request, proto string) bool {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(p) == proto {
				return true
			}
		}
	}
	return false
}

// wsConn is one socket.
type wsConn struct {
	t    *wsTransport
	conn *websocket.Conn
	// exec runs the operations. (Unlike on HTTP, they get no request
	// headers: nothing reads them, and they would last as long as the
	// socket.)
	exec graphql.GraphExecutor

	// ctx is the socket's context, after connection_init the
	// authenticated one; cancel ends it (and every operation).
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	ops    map[string]context.CancelFunc // live operations by id
	closed bool
	acked  bool
	ping   *time.Timer
	wmu    sync.Mutex // one writer at a time
}

// wsMessage is one protocol message.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// serve reads the client's messages until the socket closes.
func (c *wsConn) serve() {
	defer c.shutdown()
	timeout := c.t.initTimeout
	if timeout <= 0 {
		timeout = wsInitTimeout
	}
	initTimer := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		acked := c.acked
		c.mu.Unlock()
		if !acked {
			c.close(closeInitTimeout, "Connection initialisation timeout")
		}
	})
	defer initTimer.Stop()
	initialised := false
	for {
		_, b, err := c.conn.Read(c.ctx)
		if err != nil {
			if c.ctx.Err() == nil && websocket.CloseStatus(err) == -1 && !errors.Is(err, net.ErrClosed) {
				c.t.log.DebugContext(c.ctx, "websocket read", "err", err)
			}
			return
		}
		start := graphql.Now()
		var m wsMessage
		if err := json.Unmarshal(b, &m); err != nil {
			c.close(closeBadInit, "Invalid message received")
			return
		}
		switch m.Type {
		case "connection_init":
			if initialised {
				c.close(closeTooManyInits, "Too many initialisation requests")
				return
			}
			initialised = true
			if !c.initialise(m.Payload) {
				return
			}
			initTimer.Stop()
		case "ping":
			c.write(wsMessage{Type: "pong", Payload: m.Payload})
		case "pong":
		case "subscribe":
			c.mu.Lock()
			acked := c.acked
			_, dup := c.ops[m.ID]
			c.mu.Unlock()
			switch {
			case !acked:
				c.close(closeUnauthorized, "Unauthorized")
				return
			case m.ID == "":
				c.close(closeBadInit, "Invalid message received")
				return
			case dup:
				c.close(closeDuplicateID, "Subscriber for "+m.ID+" already exists")
				return
			}
			c.subscribe(start, m.ID, m.Payload)
		case "complete":
			c.mu.Lock()
			cancel := c.ops[m.ID]
			c.mu.Unlock()
			if cancel != nil {
				cancel()
			}
		default:
			c.close(closeBadInit, "Invalid message received")
			return
		}
	}
}

// initialise runs the init function on connection_init's payload and
// acknowledges; on failure it closes the socket and returns false.
func (c *wsConn) initialise(raw json.RawMessage) bool {
	var payload transport.InitPayload
	if p := bytes.TrimSpace(raw); len(p) > 0 {
		if p[0] != '{' && !bytes.Equal(p, []byte("null")) {
			c.close(closeBadInit, errBadInit.Error())
			return false
		}
		if err := json.Unmarshal(p, &payload); err != nil {
			c.close(closeBadInit, errBadInit.Error())
			return false
		}
	}
	var ack *transport.InitPayload
	if c.t.init != nil {
		ctx, a, err := c.t.init(c.ctx, payload)
		if err != nil {
			code, reason := closeForbidden, "Forbidden"
			var ce *wsCloseError
			if errors.As(err, &ce) {
				code, reason = ce.code, ce.reason
			}
			c.close(code, reason)
			return false
		}
		// The init function's context derives from the socket's: it ends
		// with it.
		c.ctx, ack = ctx, a
	}
	msg := wsMessage{Type: "connection_ack"}
	if ack != nil {
		b, err := json.Marshal(*ack)
		if err != nil {
			c.close(closeInternal, "Internal error")
			return false
		}
		msg.Payload = b
	}
	c.mu.Lock()
	c.acked = true
	if c.t.pingInterval > 0 {
		c.ping = time.AfterFunc(c.t.pingInterval, c.sendPing)
	}
	c.mu.Unlock()
	c.write(msg)
	return true
}

// sendPing pings the client and sets the next ping.
func (c *wsConn) sendPing() {
	if c.write(wsMessage{Type: "ping"}) != nil {
		return
	}
	c.mu.Lock()
	if !c.closed {
		c.ping.Reset(c.t.pingInterval)
	}
	c.mu.Unlock()
}

// subscribe starts operation id in a goroutine of its own (start), so
// that the read loop does not wait while the operation is parsed,
// validated and set up (its resolvers may query the database).
func (c *wsConn) subscribe(read time.Time, id string, payload json.RawMessage) {
	op := &wsOperation{c: c, id: id}
	op.ctx, op.cancel = context.WithCancel(context.WithValue(graphql.StartOperationTrace(c.ctx), wsOperationKey{}, op))
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		op.cancel()
		return
	}
	c.ops[id] = op.cancel
	c.t.running.Add(1) // done in op.end; the socket's own count is held
	c.mu.Unlock()
	go op.start(read, payload)
}

func (c *wsConn) sendResponse(id string, r *graphql.Response) {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	c.write(wsMessage{ID: id, Type: "next", Payload: b})
}

func (c *wsConn) sendErrors(id string, errs ...*gqlerror.Error) {
	b, err := json.Marshal(errs)
	if err != nil {
		panic(err)
	}
	c.write(wsMessage{ID: id, Type: "error", Payload: b})
}

func (c *wsConn) complete(id string) { c.write(wsMessage{ID: id, Type: "complete"}) }

// write sends one message, one writer at a time. Once close has begun it
// sends nothing: an operation cancelled by the close (a duplicate id
// closes the socket while the first operation is still starting) would
// otherwise race its error into the socket ahead of the close frame.
func (c *wsConn) write(m wsMessage) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return net.ErrClosed
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), wsWriteTimeout)
	defer cancel()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.log.DebugContext(c.ctx, "websocket write", "err", err)
		return err
	}
	return nil
}

// close ends every operation and closes the socket with code and reason
// (once). The close handshake waits for the client, so the caller must
// not be the only reader of the socket: serve's loop reads on.
func (c *wsConn) close(code int, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.ping != nil {
		c.ping.Stop()
	}
	for _, cancel := range c.ops {
		cancel()
	}
	c.mu.Unlock()
	c.conn.Close(websocket.StatusCode(code), reason)
}

// shutdown is the end of serve: whatever is still open closes.
func (c *wsConn) shutdown() {
	c.close(int(websocket.StatusNormalClosure), "")
	c.cancel()
}

// WriteClose and Close let closeSocket end the socket with a code of its
// own (a revoked key).
func (c *wsConn) WriteClose(code int, reason string) error {
	c.close(code, reason)
	return nil
}

func (c *wsConn) Close() error { return c.conn.CloseNow() }

// wsCloseError is an init function's refusal with the close code the
// socket ends with.
type wsCloseError struct {
	code   int
	reason string
	err    error
}

func (e *wsCloseError) Error() string { return e.err.Error() }
func (e *wsCloseError) Unwrap() error { return e.err }

// wsOperation is one operation of a socket. It runs in a goroutine of its
// own until its end, except a subscription whose events are announced
// (passEvents): once set up, it has no goroutine while it waits, and each
// announced event is answered by a goroutine that ends when none is left
// (drain). It reports at its end errors that end it with an error message
// instead of complete, and subscriptions whose end by the server does the
// same.
type wsOperation struct {
	c      *wsConn
	id     string
	ctx    context.Context
	cancel context.CancelFunc

	mu   sync.Mutex
	rc   *graphql.OperationContext // once parsed
	errs []*gqlerror.Error
	subs []crmhub.Subscription
	// announced: the subscription announces its events (wake); responses
	// answers them once the operation is set up; pending counts those
	// announced and not answered; draining is set while a goroutine
	// answers them; ended once the operation has ended.
	announced bool
	responses graphql.ResponseHandler
	rctx      context.Context
	pending   int
	draining  bool
	ended     bool
}

type wsOperationKey struct{}

// start parses and sets the operation up and, unless its events are
// announced, runs it to its end.
func (o *wsOperation) start(read time.Time, payload json.RawMessage) {
	defer o.recover()
	params := &graphql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		o.end(&gqlerror.Error{Message: "invalid json"})
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: read, End: graphql.Now()}
	rc, err := o.c.exec.CreateOperationContext(o.ctx, params)
	if err != nil {
		resp := o.c.exec.DispatchError(graphql.WithOperationContext(o.ctx, rc), err)
		if errcode.GetErrorKind(err) == errcode.KindProtocol {
			o.c.sendErrors(o.id, resp.Errors...)
		} else {
			o.c.sendResponse(o.id, &graphql.Response{Errors: err})
		}
		o.end(nil)
		return
	}
	o.mu.Lock()
	o.rc = rc
	o.mu.Unlock()
	responses, ctx := o.c.exec.DispatchOperation(graphql.WithOperationContext(o.ctx, rc), rc)
	o.mu.Lock()
	if o.announced {
		o.responses, o.rctx = responses, ctx
		drain := o.pending > 0 && !o.draining
		o.draining = drain
		o.mu.Unlock()
		if drain {
			o.drain()
		}
		return
	}
	o.mu.Unlock()
	for {
		response := responses(ctx)
		if response == nil {
			o.end(nil)
			return
		}
		o.c.sendResponse(o.id, response)
	}
}

// wake is the subscription's announcement of an event or of its end.
func (o *wsOperation) wake() {
	o.mu.Lock()
	o.pending++
	drain := o.responses != nil && !o.draining && !o.ended
	if drain {
		o.draining = true
	}
	o.mu.Unlock()
	if drain {
		go func() {
			defer o.recover()
			o.drain()
		}()
	}
}

// drain answers the announced events until none is left, or ends the
// operation at the subscription's end.
func (o *wsOperation) drain() {
	for {
		response := o.responses(o.rctx)
		if response == nil {
			o.end(nil)
			return
		}
		o.c.sendResponse(o.id, response)
		o.mu.Lock()
		o.pending--
		if o.pending <= 0 {
			o.draining = false
			o.mu.Unlock()
			return
		}
		o.mu.Unlock()
	}
}

// recover ends the operation with the error of a panic in it.
func (o *wsOperation) recover() {
	r := recover()
	if r == nil {
		return
	}
	o.mu.Lock()
	rc := o.rc
	o.mu.Unlock()
	var err error = errors.New("internal error")
	if rc != nil {
		err = rc.Recover(o.ctx, r)
	}
	var gqlerr *gqlerror.Error
	if !errors.As(err, &gqlerr) {
		gqlerr = &gqlerror.Error{}
		if err != nil {
			gqlerr.Message = err.Error()
		}
	}
	o.end(gqlerr)
}

// end ends the operation (once): the client gets first, the error that
// stopped it if any (a panic, a payload that is not JSON), then the
// operation's errors, or complete.
func (o *wsOperation) end(stopped *gqlerror.Error) {
	o.mu.Lock()
	if o.ended {
		o.mu.Unlock()
		return
	}
	o.ended = true
	o.mu.Unlock()
	defer o.c.t.running.Done()
	if stopped != nil {
		o.c.sendErrors(o.id, stopped)
	}
	errs := o.errors()
	o.c.mu.Lock()
	delete(o.c.ops, o.id)
	o.c.mu.Unlock()
	o.cancel()
	if len(errs) > 0 {
		o.c.sendErrors(o.id, errs...)
	} else {
		o.c.complete(o.id)
	}
}

// errors lists the operation's errors once it has ended.
func (o *wsOperation) errors() []*gqlerror.Error {
	o.mu.Lock()
	defer o.mu.Unlock()
	errs := o.errs
	if o.ctx.Err() != nil {
		return errs // ended by the client or the socket: no one to tell
	}
	for _, s := range o.subs {
		if err := s.Err(); err != nil && !errors.Is(err, crmhub.ErrShuttingDown) {
			errs = append(errs, subscriptionError(err))
		}
	}
	return errs
}

// subscriptionError is what a client learns of a subscription the server
// ended.
func subscriptionError(err error) *gqlerror.Error {
	return &gqlerror.Error{Message: crmhub.ErrorMessage(err), Extensions: map[string]any{"code": crmhub.ErrorCode(err)}}
}

// addSubscriptionError ends the operation of ctx with err as an error
// message, on either transport.
func addSubscriptionError(ctx context.Context, err *gqlerror.Error) {
	if op, ok := ctx.Value(wsOperationKey{}).(*wsOperation); ok {
		op.mu.Lock()
		op.errs = append(op.errs, err)
		op.mu.Unlock()
		return
	}
	transport.AddSubscriptionError(ctx, err)
}

// passEvents hands gqlgen the subscription's own channel when the
// transport can learn how it ended (wsTransport): no goroutine stands
// between the hub and the operation. The subscription closes, and its slot
// is released, when the operation ends. Elsewhere (gqlgen's transport, a
// resolver called directly) it forwards.
func passEvents(ctx context.Context, sub crmhub.Subscription, release func()) <-chan *crmhub.Event {
	op, ok := ctx.Value(wsOperationKey{}).(*wsOperation)
	if !ok {
		return forward(ctx, sub, release, func(e *crmhub.Event) (*crmhub.Event, bool) { return e, true })
	}
	a, announces := sub.(crmhub.SubscriptionAnnouncer)
	op.mu.Lock()
	op.subs = append(op.subs, sub)
	// gqlgen reads this channel and no other: the operation may wait for
	// the subscription's announcements instead of on the channel.
	op.announced = announces && len(op.subs) == 1
	op.mu.Unlock()
	context.AfterFunc(ctx, func() {
		sub.Close()
		release()
	})
	if op.announced {
		a.Announce(op.wake)
	}
	return sub.C()
}
