package main

import (
	"context"
	"encoding/json"
	"github.com/crmhub/crmhub/internal/proctest"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startFakeCRM runs fake-crm with args in the background and returns its
// base URL, its key, and a function that stops it and returns its exit
// code and stderr.
func startFakeCRM(t *testing.T, args ...string) (base, key string, stop func() (int, string)) {
	t.Helper()
	stdout := proctest.NewLines()
	var stderr proctest.Buffer
	c := &cli{getenv: func(string) string { return "" }, stdout: stdout, stderr: &stderr}
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	exited := make(chan int, 1)
	go func() {
		exited <- c.run(ctx, append([]string{"fake-crm"}, args...))
		stdout.Close()
	}()
	kind := "wazzup"
	for i, a := range args {
		if a == "--kind" && i+1 < len(args) {
			kind = strings.ToLower(args[i+1])
		}
	}
	base = stdout.Next(t, "fake "+kind+" listening on ")
	key = stdout.Next(t, "API key: ")
	return base, key, func() (int, string) {
		cancel()
		select {
		case code := <-exited:
			return code, stderr.String()
		case <-time.After(30 * time.Second):
			t.Fatal("fake-crm did not stop after ctx was cancelled")
			return 0, ""
		}
	}
}

// get sends GET base+path with the key as Bearer, as the v3 routes want.
func get(t *testing.T, base, path, key string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func TestFakeCRM(t *testing.T) {
	t.Parallel()
	base, key, stop := startFakeCRM(t, "--kind", "wazzup", "--addr", "127.0.0.1:0", "--api-key", "k-123", "--seed-contacts", "3")
	if !strings.HasPrefix(base, "http://127.0.0.1:") || key != "k-123" {
		t.Errorf("printed %q and key %q", base, key)
	}

	res := get(t, base, "/v3/contacts?offset=0", key)
	var list struct {
		Count int `json:"count"`
		Data  []struct {
			ID                string `json:"id"`
			ResponsibleUserID string `json:"responsibleUserId"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /v3/contacts: %s %v", res.Status, err)
	}
	if list.Count != 3 || len(list.Data) != 3 || list.Data[0].ID != "c00001" || list.Data[0].ResponsibleUserID != "1" {
		t.Errorf("seeded contacts: %+v", list)
	}
	if res := get(t, base, "/v3/contacts", "wrong"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong key: %s, want 401", res.Status)
	}

	if code, errOut := stop(); code != 0 {
		t.Errorf("fake-crm exited with %d after ctx was cancelled\nstderr: %s", code, errOut)
	}
}

func TestFakeCRMRateLimit(t *testing.T) {
	t.Parallel()
	base, key, stop := startFakeCRM(t, "--kind", "WAZZUP", "--addr", "127.0.0.1:0", "--rate-limit-every", "2", "--retry-after", "1500ms")
	if res := get(t, base, "/v2/users", key); res.StatusCode != http.StatusOK {
		t.Errorf("first request: %s", res.Status)
	}
	res := get(t, base, "/v2/users", key)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "2" {
		t.Errorf("second request: %s, Retry-After %q; want 429 and 2 (seconds, rounded up)", res.Status, res.Header.Get("Retry-After"))
	}
	if code, errOut := stop(); code != 0 {
		t.Errorf("exit %d\nstderr: %s", code, errOut)
	}
}

func TestFakeCRMUsage(t *testing.T) {
	t.Parallel()
	getenv := func(string) string { return "" }
	for _, args := range [][]string{
		{"fake-crm"},
		{"fake-crm", "--kind", "salesforce"},
		{"fake-crm", "--kind", "wazzup", "--seed-contacts", "-1"},
		{"fake-crm", "--kind", "wazzup", "extra"},
	} {
		code, out, errOut := run(t, getenv, args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "Usage: crmhub fake-crm") {
			t.Errorf("crmhub %s: exit %d, stdout %q, stderr %q; want 2 and usage on stderr",
				strings.Join(args, " "), code, out, errOut)
		}
	}
	code, out, _ := run(t, getenv, "fake-crm", "--help")
	if code != 0 || !strings.Contains(out, "-rate-limit-every") {
		t.Errorf("fake-crm --help: exit %d, stdout %q", code, out)
	}
	if _, out, _ := run(t, getenv, "help"); !strings.Contains(out, "fake-crm --kind wazzup") {
		t.Errorf("top-level usage does not list fake-crm:\n%s", out)
	}
}
