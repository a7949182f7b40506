package proctest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestLines(t *testing.T) {
	l := NewLines()
	go func() {
		fmt.Fprintln(l, "noise")
		fmt.Fprintln(l, "listening on 127.0.0.1:1")
		l.Close()
	}()
	if got := l.Next(t, "listening on "); got != "127.0.0.1:1" {
		t.Errorf("Next = %q", got)
	}
}

func TestBuffer(t *testing.T) {
	var b Buffer
	fmt.Fprint(&b, "a")
	fmt.Fprint(&b, "b")
	if b.String() != "ab" {
		t.Errorf("String = %q", b.String())
	}
}

func TestGraphQL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/graphql" || r.Header.Get("Authorization") != "Bearer k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"data":{"n":1}}`)
	}))
	defer srv.Close()
	var out struct{ N int }
	GraphQL(t, srv.URL, "k", "{ n }", nil, &out)
	if out.N != 1 {
		t.Errorf("out = %+v", out)
	}
}
