package proctest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Subscription is one graphql-transport-ws operation on a socket of its
// own, read by a goroutine so that the server never waits for the test.
type Subscription struct {
	conn   *websocket.Conn
	next   chan json.RawMessage // the data of each "next" message
	closed chan struct{}        // closed when the operation or socket ends
	err    error                // why it ended (set before closed)
}

// subscriptionBuffer is how many messages a Subscription holds for a test
// that has not read them yet; past it, the subscription ends with an
// error (the test then notices missing events rather than hanging).
const subscriptionBuffer = 1 << 16

// Subscribe opens a websocket to the server at base with the
// graphql-transport-ws subprotocol, authenticates with key in the
// connection_init payload and starts query. It fails t unless the server
// acknowledges the connection. The socket is closed when the test ends.
func Subscribe(t testing.TB, base, key, query string, vars map[string]any) *Subscription {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: http.Header{}})
	if err != nil {
		t.Fatalf("websocket dial %s: %v", base, err)
	}
	conn.SetReadLimit(1 << 20)
	s := &Subscription{conn: conn, next: make(chan json.RawMessage, subscriptionBuffer), closed: make(chan struct{})}
	t.Cleanup(func() { conn.CloseNow(); <-s.closed })
	write := func(m map[string]any) {
		b, _ := json.Marshal(m)
		if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatalf("websocket write: %v", err)
		}
	}
	write(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + key}})
	var ack struct{ Type string }
	if _, b, err := conn.Read(ctx); err != nil || json.Unmarshal(b, &ack) != nil || ack.Type != "connection_ack" {
		t.Fatalf("websocket init: got %s, %v; want connection_ack", b, err)
	}
	write(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}})
	go s.read()
	return s
}

// read routes the server's messages until the operation or socket ends.
func (s *Subscription) read() {
	defer close(s.closed)
	for {
		_, b, err := s.conn.Read(context.Background())
		if err != nil {
			s.err = err
			return
		}
		var m struct {
			Type    string
			Payload json.RawMessage
		}
		if err := json.Unmarshal(b, &m); err != nil {
			s.err = err
			return
		}
		switch m.Type {
		case "ping":
			s.conn.Write(context.Background(), websocket.MessageText, []byte(`{"type":"pong"}`))
		case "next":
			var p struct {
				Data   json.RawMessage
				Errors json.RawMessage
			}
			json.Unmarshal(m.Payload, &p)
			if len(p.Errors) > 0 {
				s.err = &subscriptionError{string(p.Errors)}
				return
			}
			select {
			case s.next <- p.Data:
			default:
				s.err = &subscriptionError{"more unread messages than the buffer holds"}
				return
			}
		case "error", "complete":
			s.err = &subscriptionError{m.Type + " " + string(m.Payload)}
			return
		}
	}
}

type subscriptionError struct{ msg string }

func (e *subscriptionError) Error() string { return "subscription ended: " + e.msg }

// Next decodes the data of the next message into out, failing t when none
// comes within wait or the operation has ended.
func (s *Subscription) Next(t testing.TB, wait time.Duration, out any) {
	t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case d := <-s.next:
		if err := json.Unmarshal(d, out); err != nil {
			t.Fatalf("subscription data %s: %v", d, err)
		}
	case <-s.closed:
		select { // what arrived before the end comes first
		case d := <-s.next:
			if err := json.Unmarshal(d, out); err != nil {
				t.Fatalf("subscription data %s: %v", d, err)
			}
		default:
			t.Fatalf("subscription ended: %v", s.err)
		}
	case <-timer.C:
		t.Fatalf("no subscription message within %s", wait)
	}
}

// End waits until the server ends the operation or the socket, failing t
// after wait, and returns why it ended (unread messages are dropped).
func (s *Subscription) End(t testing.TB, wait time.Duration) error {
	t.Helper()
	select {
	case <-s.closed:
		return s.err
	case <-time.After(wait):
		t.Fatalf("subscription still open after %s", wait)
		return nil
	}
}

// Pending returns how many messages wait to be read.
func (s *Subscription) Pending() int { return len(s.next) }
