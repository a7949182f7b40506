package resolver_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

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
