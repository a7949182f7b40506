package resolver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWebsocketProtocolViolations: graphql-transport-ws ends a socket
// that breaks the protocol with the protocol's close code.
func TestWebsocketProtocolViolations(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	init := `{"type":"connection_init","payload":{"Authorization":"Bearer ` + admin.key + `"}}`
	sub := func(id string) string {
		b, _ := json.Marshal(map[string]any{"id": id, "type": "subscribe",
			"payload": map[string]any{"query": "subscription { events { id } }"}})
		return string(b)
	}
	for _, tc := range []struct {
		name     string
		messages []string // sent in order; the socket must then close
		want     websocket.StatusCode
	}{
		{"subscribe before connection_init", []string{sub("1")}, 4401},
		{"a second connection_init", []string{init, init}, 4429},
		{"the id of a live subscription", []string{init, sub("1"), sub("1")}, 4409},
		{"an unknown message type", []string{init, `{"type":"start","id":"1"}`}, 4400},
		{"not JSON", []string{init, `{`}, 4400},
		{"subscribe without an id", []string{init, sub("")}, 4400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), wsWait)
			defer cancel()
			wsURL := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/graphql"
			conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			for _, m := range tc.messages {
				if err := conn.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
					t.Fatal(err)
				}
			}
			for {
				_, b, err := conn.Read(ctx)
				if err != nil {
					if s := websocket.CloseStatus(err); s != tc.want {
						t.Fatalf("closed with %v, want %d", err, tc.want)
					}
					return
				}
				var m wsMsg
				json.Unmarshal(b, &m)
				if m.Type != "connection_ack" && m.Type != "ping" && m.Type != "pong" {
					t.Fatalf("got %s before the close", b)
				}
			}
		})
	}
}

// TestWebsocketPingPong: a ping is answered with a pong carrying its
// payload, before and after connection_init.
func TestWebsocketPingPong(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/graphql"
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","payload":{"n":1}}`)); err != nil {
		t.Fatal(err)
	}
	_, b, err := conn.Read(ctx)
	if err != nil || string(b) != `{"type":"pong","payload":{"n":1}}` {
		t.Fatalf("want the pong, got %s %v", b, err)
	}
}

// TestWebsocketFrameBehindUpgrade: a client that sends its first frames in
// the same packet as its upgrade request (net/http has read them by the
// time the socket is hijacked) is served as one that waited for the 101,
// including a message bigger than the socket's read buffer.
func TestWebsocketFrameBehindUpgrade(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	u, _ := url.Parse(e.srv.URL)
	conn, err := net.DialTimeout("tcp", u.Host, wsWait)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(wsWait))
	init := `{"type":"connection_init","payload":{"Authorization":"Bearer ` + admin.key + `"}}`
	ping := `{"type":"ping","payload":{"pad":"` + strings.Repeat("x", 3000) + `"}}`
	req := "GET /graphql HTTP/1.1\r\nHost: " + u.Host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
	if _, err := conn.Write(append(append([]byte(req), maskedFrame(init)...), maskedFrame(ping)...)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	res, err := http.ReadResponse(r, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	for _, want := range []string{`{"type":"connection_ack"}`, strings.Replace(ping, "ping", "pong", 1)} {
		if got := readFrame(t, r); got != want {
			t.Fatalf("got %.80s, want %.80s", got, want)
		}
	}
}

// maskedFrame is one text frame as a client sends it (masked, key 0: the
// payload as is).
func maskedFrame(payload string) []byte {
	b := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	default:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	}
	b = append(b, 0, 0, 0, 0)
	return append(b, payload...)
}

// readFrame reads one unmasked text frame of up to 64 KiB from the server.
func readFrame(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	h := make([]byte, 2)
	if _, err := io.ReadFull(r, h); err != nil {
		t.Fatal(err)
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		if _, err := io.ReadFull(r, h); err != nil {
			t.Fatal(err)
		}
		n = int(h[0])<<8 | int(h[1])
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestIdleSubscriptionsParkNoGoroutine: an idle live subscription has no
// goroutine waiting for its events, neither the transport's (gqlgen's
// stream select) nor the hub's: goroutines start when an event comes and
// end with it. Its events still arrive.
func TestIdleSubscriptionsParkNoGoroutine(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	sock := e.ws(c.key)
	const n = 10
	subs := make([]*wsSub, n)
	for i := range subs {
		subs[i] = sock.subscribe(`subscription { contactChanged { id type } }`, nil)
	}
	e.waitSubscribers(n)
	c.createContact("x", ident("EMAIL", "x@example.com"))
	for _, s := range subs {
		var ev wsEvent
		if s.next("contactChanged", &ev); ev.Type != "contact.created" {
			t.Fatalf("got %+v", ev)
		}
	}
	// Each operation's goroutine may still be on its way out.
	deadline := time.Now().Add(wsWait)
	for parked := subscriptionGoroutines(); parked > 0; parked = subscriptionGoroutines() {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines wait for subscriptions' events", parked)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// subscriptionGoroutines counts the goroutines inside gqlgen's
// subscription stream (graphql.ResolveFieldStream) or a hub
// subscription's worker, where goroutines would wait for the next event.
func subscriptionGoroutines() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "graphql.ResolveFieldStream") || strings.Contains(g, "db.(*subscription)") {
			n++
		}
	}
	return n
}

// TestShutdownClosesWebsockets: Handler.Shutdown closes the sockets of
// both protocols with 1001 (going away), so that clients reconnect and
// resume rather than take their subscriptions as complete; it returns
// once their operations have ended, and refuses upgrades from then on.
func TestShutdownClosesWebsockets(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	sock := e.ws(c.key)
	sub := sock.subscribe(eventsSubscription, nil)

	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/graphql"
	legacy, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"graphql-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer legacy.CloseNow()
	for _, m := range []string{
		`{"type":"connection_init","payload":{"Authorization":"Bearer ` + c.key + `"}}`,
		`{"id":"1","type":"start","payload":{"query":"subscription { events { id } }"}}`,
	} {
		if err := legacy.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if msg, err := wsRead(ctx, legacy); err != nil || msg["type"] != "connection_ack" {
		t.Fatalf("legacy init: got %v, %v; want connection_ack", msg, err)
	}
	e.waitSubscribers(2)

	if err := e.handler.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	e.waitSubscribers(0)
	if err := sock.closeErr(); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("graphql-transport-ws socket ended with %v, want close 1001", err)
	}
	if m, ok := sub.msg(); ok {
		t.Fatalf("the subscription got %s %s before the close; want nothing (it is not complete)", m.Type, m.Payload)
	}
	for {
		msg, err := wsRead(ctx, legacy)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Fatalf("graphql-ws socket ended with %v, want close 1001", err)
			}
			break
		}
		if msg["type"] != "ka" {
			t.Fatalf("graphql-ws socket got %v before the close; want nothing but keep-alives", msg)
		}
	}

	_, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("upgrade after Shutdown: %v, %v; want 503", resp, err)
	}
}
