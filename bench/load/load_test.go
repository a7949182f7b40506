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

// The open model sends at the rate asked whatever the answers, and counts
// each latency from when the request fell due: requests that fell due
// during a stall of the server show it, even though only one of them was
// in flight when it began (no coordinated omission).
func TestOpenModel(t *testing.T) {
	var stallUntil atomic.Int64 // unix nanos
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if until := time.Unix(0, stallUntil.Load()); time.Now().Before(until) {
			select {
			case <-time.After(time.Until(until)):
			case <-r.Context().Done():
			}
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	get := func(int64) (*http.Request, error) { return http.NewRequest(http.MethodGet, srv.URL, nil) }

	res, err := Run(context.Background(), Config{Workers: 4, Rate: 200, Duration: 500 * time.Millisecond, Request: get})
	if err != nil {
		t.Fatal(err)
	}
	// 200/s for 0.5 s, against a server that could answer far faster.
	if res.Requests < 80 || res.Requests > 110 || res.Errors > 0 || res.Missed > 0 {
		t.Fatalf("open model at 200/s for 0.5s: %v", res)
	}

	// A 200 ms stall 100 ms into a 1 s run at 100/s, one request in
	// flight at most: about 20 requests fall due during the stall and wait
	// for it, so more than a tenth of all latencies exceed 50 ms.
	time.AfterFunc(100*time.Millisecond, func() { stallUntil.Store(time.Now().Add(200 * time.Millisecond).UnixNano()) })
	res, err = Run(context.Background(), Config{Workers: 1, Rate: 100, Duration: time.Second, Request: get})
	if err != nil {
		t.Fatal(err)
	}
	if res.P90 < 50*time.Millisecond || res.Max < 150*time.Millisecond {
		t.Fatalf("the stall does not show in the open model's latencies: %v", res)
	}

	// A rate the target cannot follow: due requests pile up and then miss.
	stallUntil.Store(time.Now().Add(time.Second).UnixNano())
	res, _ = Run(context.Background(), Config{Workers: 1, Rate: 2000, Duration: 200 * time.Millisecond, Request: get})
	if res.Missed == 0 {
		t.Fatalf("nothing missed at 2000/s against a stalled server: %v", res)
	}
}
