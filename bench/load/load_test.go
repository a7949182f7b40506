package load

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunCountsAndChecks(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1)%10 == 0 {
			http.Error(w, "nope", http.StatusTeapot)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{Workers: 4, Duration: 300 * time.Millisecond,
		Request: func(int64) (*http.Request, error) { return http.NewRequest(http.MethodGet, srv.URL, nil) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors == 0 || res.FirstError != "HTTP 418" {
		t.Fatalf("%+v", res)
	}
	// Every tenth answer fails: the error share is about a tenth.
	if share := float64(res.Errors) / float64(res.Requests); share < 0.05 || share > 0.15 {
		t.Fatalf("error share %.2f of %+v", share, res)
	}
	if !(res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.Max) || res.PerSecond <= 0 {
		t.Fatalf("percentiles out of order: %+v", res)
	}
	check := errors.New("bad body")
	res, _ = Run(context.Background(), Config{Workers: 1, Duration: 100 * time.Millisecond,
		Request: func(int64) (*http.Request, error) { return http.NewRequest(http.MethodGet, srv.URL, nil) },
		Check:   func(int, []byte) error { return check }})
	if res.Errors != res.Requests || res.PerSecond != 0 {
		t.Fatalf("a failing check still counted successes: %+v", res)
	}
	if _, err := Run(context.Background(), Config{}); err == nil {
		t.Fatal("an empty config ran")
	}
}

func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	if quantile(d, 0.5) != 50 || quantile(d, 0.99) != 99 || quantile(d, 0.9) != 90 || quantile(d[:1], 0.99) != 1 {
		t.Fatal("nearest-rank quantiles are wrong")
	}
}
