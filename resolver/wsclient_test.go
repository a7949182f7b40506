package resolver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsWait bounds every wait of the websocket tests for a message.
const wsWait = 20 * time.Second

// gqlws is a graphql-transport-ws client over one socket: a reader
// goroutine answers pings and routes each operation's messages to its
// subscription, so a test reads one operation at a time without blocking
// the others.
type gqlws struct {
	t    *testing.T
	conn *websocket.Conn
	ctx  context.Context

	mu     sync.Mutex
	subs   map[string]*wsSub
	nextID int
	closed chan struct{} // closed when the socket is gone
	err    error         // why the socket is gone
}

// wsMsg is one protocol message.
type wsMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsSub is one operation on a socket.
type wsSub struct {
	c  *gqlws
	id string
	ch chan wsMsg // next, error and complete messages, in order
}

// ws opens an acknowledged socket authenticated with key (in the
// connection_init payload, as the contract says).
func (e *env) ws(key string) *gqlws {
	e.t.Helper()
	conn, msg, err := wsDial(e.t, e, nil, map[string]any{"Authorization": "Bearer " + key})
	if err != nil || msg["type"] != "connection_ack" {
		e.t.Fatalf("websocket init: got %v, %v; want connection_ack", msg, err)
	}
	conn.SetReadLimit(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	c := &gqlws{t: e.t, conn: conn, ctx: ctx, subs: map[string]*wsSub{}, closed: make(chan struct{})}
	e.t.Cleanup(func() { cancel(); conn.CloseNow(); <-c.closed })
	go c.read()
	return c
}

func (c *gqlws) read() {
	defer close(c.closed)
	for {
		_, b, err := c.conn.Read(c.ctx)
		if err != nil {
			c.mu.Lock()
			c.err = err
			for _, s := range c.subs {
				close(s.ch)
			}
			c.subs = nil
			c.mu.Unlock()
			return
		}
		var m wsMsg
		if err := json.Unmarshal(b, &m); err != nil {
			c.mu.Lock()
			c.err = fmt.Errorf("undecodable message %q: %w", b, err)
			c.mu.Unlock()
			continue
		}
		switch m.Type {
		case "ping":
			c.write(wsMsg{Type: "pong"})
		case "next", "error", "complete":
			c.mu.Lock()
			s := c.subs[m.ID]
			if s != nil && m.Type != "next" {
				delete(c.subs, m.ID)
			}
			c.mu.Unlock()
			if s == nil {
				continue // an operation the test completed itself
			}
			// The buffer holds more than any test reads; if it ever fills,
			// the test notices the missing events rather than hanging here.
			select {
			case s.ch <- m:
			default:
				c.mu.Lock()
				c.err = fmt.Errorf("operation %s: more than %d unread messages", m.ID, cap(s.ch))
				c.mu.Unlock()
			}
			if m.Type != "next" {
				close(s.ch)
			}
		}
	}
}

func (c *gqlws) write(m wsMsg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.ctx, wsWait)
	defer cancel()
	return c.conn.Write(ctx, websocket.MessageText, b)
}

// subscribe starts an operation.
func (c *gqlws) subscribe(query string, vars map[string]any) *wsSub {
	c.t.Helper()
	c.mu.Lock()
	if c.subs == nil {
		c.mu.Unlock()
		c.t.Fatalf("subscribe on a closed socket: %v", c.err)
	}
	c.nextID++
	s := &wsSub{c: c, id: strconv.Itoa(c.nextID), ch: make(chan wsMsg, 8192)}
	c.subs[s.id] = s
	c.mu.Unlock()
	payload, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err := c.write(wsMsg{ID: s.id, Type: "subscribe", Payload: payload}); err != nil {
		c.t.Fatalf("subscribe: %v", err)
	}
	return s
}

// closeErr waits until the server closes the socket and returns why.
func (c *gqlws) closeErr() error {
	c.t.Helper()
	select {
	case <-c.closed:
	case <-time.After(wsWait):
		c.t.Fatal("socket still open")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// msg waits for the operation's next message; ok is false when the
// operation or the socket ended without one.
func (s *wsSub) msg() (wsMsg, bool) {
	s.c.t.Helper()
	select {
	case m, ok := <-s.ch:
		return m, ok
	case <-time.After(wsWait):
		s.c.t.Fatalf("operation %s: nothing within %s", s.id, wsWait)
	}
	return wsMsg{}, false
}

// next waits for the next result and decodes its data field `field`
// into out; any error, completion or closed socket fails the test.
func (s *wsSub) next(field string, out any) {
	s.c.t.Helper()
	m, ok := s.msg()
	if !ok {
		s.c.mu.Lock()
		err := s.c.err
		s.c.mu.Unlock()
		s.c.t.Fatalf("operation %s ended (socket: %v)", s.id, err)
	}
	if m.Type != "next" {
		s.c.t.Fatalf("operation %s: want next, got %s %s", s.id, m.Type, m.Payload)
	}
	var p struct {
		Data   map[string]json.RawMessage `json:"data"`
		Errors []gqlError                 `json:"errors"`
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
		s.c.t.Fatalf("operation %s: result with errors: %s (%v)", s.id, m.Payload, err)
	}
	raw, ok := p.Data[field]
	if !ok {
		s.c.t.Fatalf("operation %s: no field %s in %s", s.id, field, m.Payload)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		s.c.t.Fatalf("operation %s: decode %s: %v", s.id, raw, err)
	}
}

// fails waits for the operation to fail with code (as an error message or
// a result carrying errors) and to end; it returns the error message.
func (s *wsSub) fails(code string) string {
	s.c.t.Helper()
	m, ok := s.msg()
	if !ok {
		s.c.t.Fatalf("operation %s ended without an error", s.id)
	}
	var errs []gqlError
	switch m.Type {
	case "error":
		json.Unmarshal(m.Payload, &errs)
	case "next":
		var p struct{ Errors []gqlError }
		json.Unmarshal(m.Payload, &p)
		errs = p.Errors
	}
	if len(errs) == 0 || errs[0].code() != code {
		s.c.t.Fatalf("operation %s: want an error %s, got %s %s", s.id, code, m.Type, m.Payload)
	}
	if m.Type == "next" { // the operation must end after its error
		if end, ok := s.msg(); ok && end.Type != "complete" {
			s.c.t.Fatalf("operation %s: after the error got %s %s", s.id, end.Type, end.Payload)
		}
	}
	return errs[0].Message
}

// complete ends the operation from the client side.
func (s *wsSub) complete() {
	s.c.t.Helper()
	s.c.mu.Lock()
	if s.c.subs != nil && s.c.subs[s.id] == s {
		delete(s.c.subs, s.id)
		close(s.ch)
	}
	s.c.mu.Unlock()
	if err := s.c.write(wsMsg{ID: s.id, Type: "complete"}); err != nil {
		s.c.t.Fatalf("complete: %v", err)
	}
}

// waitSubscribers waits until the hub counts n live subscriptions: a
// subscription without a cursor follows the log from its registration, so
// a test writes only once it is registered.
func (e *env) waitSubscribers(n int) {
	e.t.Helper()
	deadline := time.Now().Add(wsWait)
	for e.hub.Subscribers() != n {
		if !e.hub.TestSignals.SubscribersChanged.Wait(time.Until(deadline)) {
			e.t.Fatalf("hub has %d subscribers, want %d", e.hub.Subscribers(), n)
		}
	}
}

// wsEvent is an Event as the subscriptions and the events query return it.
type wsEvent struct {
	ID        string         `json:"id"`
	Cursor    string         `json:"cursor"`
	Type      string         `json:"type"`
	SubjectID string         `json:"subjectId"`
	Actor     string         `json:"actor"`
	Origin    string         `json:"origin"`
	Payload   map[string]any `json:"payload"`
}

const eventFields = `id cursor type subjectId actor origin payload occurredAt`
