package wazzuptest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

// answer is one raw HTTP exchange with the fake.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// call sends body (nil for none) with "Bearer <key>" unless auth is given.
func call(t *testing.T, s *wazzuptest.Server, method, path string, body []byte, auth ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if len(auth) > 0 {
		if auth[0] != "" {
			req.Header.Set("Authorization", auth[0])
		}
	} else {
		req.Header.Set("Authorization", "Bearer "+s.APIKey())
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantJSON fails unless got and want hold the same JSON value.
func wantJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want is not JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// wantError fails unless a is status with the documented body shape and
// error code.
func wantError(t *testing.T, a answer, status int, code string) {
	t.Helper()
	var body struct {
		Error       string `json:"error"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(a.body, &body); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, a.body)
	}
	if a.status != status || body.Error != code || body.Description == "" {
		t.Fatalf("got %d %s, want %d %s with a description", a.status, a.body, status, code)
	}
}

// contactJSON is a valid v3 contact with the given id, as a JSON object.
func contactJSON(id string) map[string]any {
	return map[string]any{
		"id":                id,
		"responsibleUserId": "1",
		"name":              "Contact " + id,
		"contactData":       []any{map[string]any{"chatType": "whatsapp", "chatId": "79991114433"}},
	}
}

// contactsJSON is n valid contacts with ids c000, c001, ...
func contactsJSON(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = contactJSON(fmt.Sprintf("c%03d", i))
	}
	return out
}

var long = strings.Repeat
