// Package bench holds the HTTP-level benchmarks: crmhub's handler against
// the raw-SQL floor (package floor), side by side in one run, so the
// ratios hold on a noisy machine.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/bench/floor"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/resolver"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// world is a workspace with contacts, served by crmhub and by the floor.
type world struct {
	key          string
	ids          []string
	crmhub, flor string
}

var (
	worldOnce sync.Once
	shared    *world
)

// setup seeds n contacts (a phone and an email each) once per package run.
func setup(tb testing.TB, n int) *world {
	tb.Helper()
	worldOnce.Do(func() {
		d, err := db.Open(context.Background(), db.Config{URL: dbtest.URL(tb), MaxConns: 16})
		if err != nil {
			tb.Fatal(err)
		}
		ctx, _, key := dbtest.Workspace(tb, d)
		contacts := db.NewContactService(d)
		w := &world{key: key}
		for start := 0; start < n; start += crmhub.MaxBatch {
			var in []crmhub.ContactInput
			for i := start; i < min(n, start+crmhub.MaxBatch); i++ {
				name := fmt.Sprintf("Contact %d", i)
				in = append(in, crmhub.ContactInput{Name: &name, Identifiers: []crmhub.Identifier{
					{Type: crmhub.IdentityPhone, Value: fmt.Sprintf("+7999%07d", i)},
					{Type: crmhub.IdentityEmail, Value: fmt.Sprintf("c%d@example.com", i)}}})
			}
			res, err := contacts.UpsertContacts(ctx, in)
			if err != nil {
				tb.Fatal(err)
			}
			for _, r := range res {
				w.ids = append(w.ids, r.Contact.GlobalID())
			}
		}
		auth := db.NewAuthService(d)
		w.crmhub = httptest.NewServer(resolver.NewHandler(resolver.Config{Contacts: contacts, Auth: auth, APIKeys: auth,
			Workspaces: auth, ReadScope: d.ReadScope, Logger: slog.New(slog.DiscardHandler)})).URL + "/graphql"
		w.flor = httptest.NewServer(&floor.Handler{Pool: d.Pool}).URL + "/contact"
		shared = w
	})
	if shared == nil {
		tb.Fatal("setup failed earlier")
	}
	return shared
}

const pointQuery = `query($id: ID!) { contact(id: $id) { name email identities { type value } } }`

func (w *world) request(url, id string) *http.Request {
	body, _ := json.Marshal(map[string]any{"query": pointQuery, "variables": map[string]any{"id": id}})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+w.key)
	return req
}

func fetch(tb testing.TB, req *http.Request) (int, []byte) {
	tb.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestFloorAnswersLikeCrmhub: the floor is only a floor if it writes what
// crmhub writes.
func TestFloorAnswersLikeCrmhub(t *testing.T) {
	w := setup(t, 300)
	for _, id := range []string{w.ids[0], w.ids[137], w.ids[299], "ct_00000000000000000000000000000000"} {
		_, a := fetch(t, w.request(w.crmhub, id))
		_, b := fetch(t, w.request(w.flor, id))
		var ja, jb any
		json.Unmarshal(a, &ja)
		json.Unmarshal(b, &jb)
		if fmt.Sprint(ja) != fmt.Sprint(jb) || ja == nil {
			t.Fatalf("contact %s:\ncrmhub %s\nfloor  %s", id, a, b)
		}
	}
	bad := w.request(w.flor, w.ids[0])
	bad.Header.Set("Authorization", "Bearer crm_"+w.key[4:10]+"x")
	if code, _ := fetch(t, bad); code != http.StatusUnauthorized {
		t.Fatalf("floor with a bad key: %d", code)
	}
}

// BenchmarkPointRead compares crmhub and the floor on the contract's point
// read, 8 requests in flight, alternating A/B/A/B across -count runs. It
// reports requests/s and latency percentiles beside ns/op.
func BenchmarkPointRead(b *testing.B) {
	w := setup(b, 1000)
	for _, target := range []struct{ name, url string }{{"crmhub", w.crmhub}, {"floor", w.flor}} {
		b.Run(target.name, func(b *testing.B) {
			var mu sync.Mutex
			var lat []time.Duration
			var seq int
			b.SetParallelism(4) // x GOMAXPROCS: 8 in flight here
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					mu.Lock()
					id := w.ids[seq%len(w.ids)]
					seq++
					mu.Unlock()
					start := time.Now()
					if code, body := fetch(b, w.request(target.url, id)); code != 200 || !bytes.Contains(body, []byte(`"name"`)) {
						b.Errorf("%d %s", code, body)
						return
					}
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "req/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			}
		})
	}
}
