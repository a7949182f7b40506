package resolver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/crmhub/crmhub"
)

// wsRecheckInterval is how often an open websocket authenticates its key
// again. Revocation closes sockets at once through WatchRevocation; this
// catches a revocation whose notification was lost.
const wsRecheckInterval = 30 * time.Second

// closeBadInit closes a socket whose connection_init is malformed.
const closeBadInit = 4400

// errBadInit ends a socket whose connection_init payload is not an object.
var errBadInit = errors.New("connection_init payload must be an object")

// revocationWatcher is what an AuthService offers to learn at once that a
// key was revoked (db.AuthService does).
type revocationWatcher interface {
	WatchRevocation(p *crmhub.Principal) (<-chan struct{}, func())
}

// wsSocket gives the init function a hold on the socket its request
// accepted, so that it can close it later with a code of its own.
type wsSocket struct {
	mu   sync.Mutex
	conn wsCloser
	// code and reason close the socket as it is accepted when close came
	// first (a shutdown racing the upgrade).
	code   int
	reason string
}

// set records the socket its request accepted; it closes at once when
// close came first.
func (s *wsSocket) set(c wsCloser) {
	s.mu.Lock()
	s.conn = c
	code, reason := s.code, s.reason
	s.mu.Unlock()
	if code != 0 {
		closeWith(c, code, reason)
	}
}

// close closes the socket with code and reason, or, before it is
// accepted, as soon as it is.
func (s *wsSocket) close(code int, reason string) {
	s.mu.Lock()
	c := s.conn
	if c == nil {
		s.code, s.reason = code, reason
	}
	s.mu.Unlock()
	if c != nil {
		closeWith(c, code, reason)
	}
}

// closeWith sends the close frame, then lets the socket go.
func closeWith(c wsCloser, code int, reason string) {
	_ = c.WriteClose(code, reason)
	_ = c.Close()
}

// wsCloser is a socket that closeSocket can end: gqlgen's
// transport.WebsocketConn, or a wsConn of wsTransport.
type wsCloser interface {
	WriteClose(code int, reason string) error
	Close() error
}

type wsSocketKey struct{}

// withSocket makes room for the socket in a websocket request's context.
func withSocket(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWebsocket(r) {
			r = r.WithContext(context.WithValue(r.Context(), wsSocketKey{}, &wsSocket{}))
		}
		next.ServeHTTP(w, r)
	})
}

// closeSocket closes the request's socket with code and reason.
func closeSocket(ctx context.Context, code int, reason string) {
	if s, _ := ctx.Value(wsSocketKey{}).(*wsSocket); s != nil {
		s.close(code, reason)
	}
}

// wsImplementation accepts sockets with gqlgen's coder/websocket adapter
// and checks their first message: gqlgen leaves a socket whose
// connection_init payload is not an object neither answered nor closed, so
// every such client held a file handle until the process ended.
type wsImplementation struct {
	transport.WebsocketImplementation
}

func (i wsImplementation) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	c, err := i.WebsocketImplementation.Accept(w, r, opts)
	if err != nil {
		return nil, err
	}
	checked := &checkedConn{WebsocketConn: c}
	if s, _ := r.Context().Value(wsSocketKey{}).(*wsSocket); s != nil {
		s.set(checked)
	}
	return checked, nil
}

// checkedConn refuses a first message that is a connection_init whose
// payload is neither an object nor null, closing with 4400.
type checkedConn struct {
	transport.WebsocketConn
	first sync.Once
}

func (c *checkedConn) NextReader() (int, io.Reader, error) {
	t, r, err := c.WebsocketConn.NextReader()
	if err != nil {
		return t, r, err
	}
	checked := false
	c.first.Do(func() { checked = true })
	if !checked {
		return t, r, nil
	}
	b, err := io.ReadAll(r) // bounded by the transport's read limit
	if err != nil {
		return t, nil, err
	}
	var m struct {
		Type    string          `json:"type"`
		Payload json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(b, &m) == nil && m.Type == "connection_init" && len(m.Payload) > 0 {
		if p := bytes.TrimSpace(m.Payload); p[0] != '{' && !bytes.Equal(p, []byte("null")) {
			_ = c.WebsocketConn.WriteClose(closeBadInit, errBadInit.Error())
			_ = c.WebsocketConn.Close()
			return t, nil, errBadInit
		}
	}
	return t, bytes.NewReader(b), nil
}

// SetReadLimit and SetReadDeadline keep the adapter's optional interfaces
// visible through the wrapper; gqlgen enforces its limits through them.
func (c *checkedConn) SetReadLimit(n int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(n)
	}
}

func (c *checkedConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}

var (
	_ transport.WebsocketReadLimiter   = (*checkedConn)(nil)
	_ transport.WebsocketReadDeadliner = (*checkedConn)(nil)
)

// wsKeyWatch closes an authenticated socket with 4401 once its key is
// revoked: at once when the auth service can tell (revocationWatcher), and
// in any case at the next periodic check of the key. The sockets of one key
// share one watch (wsKeys): a goroutine per key, not per socket.
func wsKeyWatch(init transport.WebsocketInitFunc, auth crmhub.AuthService, log *slog.Logger) transport.WebsocketInitFunc {
	keys := &wsKeys{auth: auth, log: log, keys: map[string]*wsKey{}}
	keys.watcher, _ = auth.(revocationWatcher)
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		ctx, ack, err := init(ctx, payload)
		if err != nil {
			return ctx, ack, err
		}
		p := crmhub.FromContext(ctx)
		token, _ := ctx.Value(wsTokenKey{}).(string)
		if p == nil || token == "" {
			return ctx, ack, nil
		}
		keys.add(ctx, p, token)
		return ctx, ack, nil
	}
}

// wsKeys are the API keys of open sockets, each watched by one goroutine
// for as long as one of its sockets is open.
type wsKeys struct {
	auth    crmhub.AuthService
	watcher revocationWatcher // nil: the periodic check only
	log     *slog.Logger

	mu   sync.Mutex
	keys map[string]*wsKey // by token
}

// wsKey is one key's open sockets (their contexts, which closeSocket
// takes), and what ends its watch once the last one closes.
type wsKey struct {
	sockets map[context.Context]struct{}
	done    chan struct{}
}

// add watches the key of the socket of ctx until the socket's context
// ends.
func (k *wsKeys) add(ctx context.Context, p *crmhub.Principal, token string) {
	k.mu.Lock()
	w := k.keys[token]
	if w == nil {
		w = &wsKey{sockets: map[context.Context]struct{}{}, done: make(chan struct{})}
		k.keys[token] = w
		// Watching starts before the first socket is acknowledged, so a
		// revocation right after cannot be missed.
		revoked := make(<-chan struct{})
		stop := func() {}
		if k.watcher != nil {
			revoked, stop = k.watcher.WatchRevocation(p)
		}
		go k.watch(token, w, revoked, stop)
	}
	w.sockets[ctx] = struct{}{}
	k.mu.Unlock()
	context.AfterFunc(ctx, func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		delete(w.sockets, ctx)
		if len(w.sockets) == 0 && k.keys[token] == w {
			delete(k.keys, token)
			close(w.done)
		}
	})
}

// watch waits for the key's revocation, or for the last of its sockets to
// close; on revocation it closes every socket of the key with 4401.
func (k *wsKeys) watch(token string, w *wsKey, revoked <-chan struct{}, stop func()) {
	defer stop()
	tick := time.NewTicker(wsRecheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-revoked:
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), wsRecheckInterval)
			_, err := k.auth.Authenticate(ctx, token)
			cancel()
			if crmhub.ErrorCode(err) != crmhub.EUNAUTHENTICATED {
				continue
			}
		}
		k.mu.Lock()
		if k.keys[token] == w {
			delete(k.keys, token)
		}
		sockets := make([]context.Context, 0, len(w.sockets))
		for ctx := range w.sockets {
			sockets = append(sockets, ctx)
		}
		k.mu.Unlock()
		for _, ctx := range sockets {
			k.log.InfoContext(ctx, "websocket closed: its API key was revoked")
			// The close handshake may wait for the client: one slow
			// client must not hold up the others' closing.
			go closeSocket(ctx, closeUnauthorized, "API key revoked")
		}
		return
	}
}

// wsTokenKey holds the socket's key in its context, for the periodic
// check; it never leaves the process.
type wsTokenKey struct{}
