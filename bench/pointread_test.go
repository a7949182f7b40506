// Package bench holds the HTTP-level benchmarks: crmhub's handler against
// the raw-SQL floor (package floor) and against PostGraphile (started from
// bench/postgraphile by the benchmark only, so tests never need node), side
// by side in one run, so the ratios hold on a noisy machine.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/bench/floor"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/resolver"
	"github.com/google/uuid"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// world is a workspace with contacts, served by crmhub and by the floor.
type world struct {
	key          string
	ws           uuid.UUID
	ids          []string
	uuids        []string // ids as raw uuids, for PostGraphile
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
		ctx, ws, key := dbtest.Workspace(tb, d)
		contacts := db.NewContactService(d)
		w := &world{key: key, ws: ws.ID}
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
				w.uuids = append(w.uuids, rawID(r.Contact.GlobalID()))
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

// BenchmarkPointRead compares crmhub, the floor and PostGraphile on the
// contract's point read, 8 requests in flight; each target's -count runs
// come back to back (Go repeats each sub-benchmark), and PostGraphile is
// started once for all of them. It reports requests/s and latency
// percentiles beside ns/op.
func BenchmarkPointRead(b *testing.B) {
	w := setup(b, 1000)
	pgl := startPostGraphile(b)
	pgl.checkAnswersLikeCrmhub(b, w)
	pgl.warmUp(b, w, 500)
	for _, target := range []struct {
		name    string
		request func(i int) *http.Request
	}{
		{"crmhub", func(i int) *http.Request { return w.request(w.crmhub, w.ids[i]) }},
		{"floor", func(i int) *http.Request { return w.request(w.flor, w.ids[i]) }},
		{"postgraphile", func(i int) *http.Request { return pgl.request(w.ws.String(), w.uuids[i]) }},
	} {
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
					i := seq % len(w.ids)
					seq++
					mu.Unlock()
					start := time.Now()
					if code, body := fetch(b, target.request(i)); code != 200 || !bytes.Contains(body, []byte(`"name"`)) {
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

// rawID is the uuid behind a crmhub global id ("ct_" and 32 hex digits),
// as PostGraphile, which knows only the table's columns, takes it.
func rawID(global string) string {
	id, err := crmhub.ParseID(crmhub.KindContact, global)
	if err != nil {
		panic(err)
	}
	return id.String()
}

// postGraphile is PostGraphile 5 (bench/postgraphile) serving the benchmark
// database. It sets role crmhub_app and app.workspace_id (from the
// X-Workspace-Id header) per request, so row-level security applies as for
// crmhub; it does not check API keys (see graphile.config.mjs).
type postGraphile struct {
	url string
}

// pglQuery is crmhub's point read in PostGraphile's generated schema: the
// contact by primary key, its first EMAIL identity and all identities, in
// crmhub's order (created_at, type, value). PostGraphile compiles it into
// one SQL query much like the floor's.
const pglQuery = `query($ws: UUID!, $id: UUID!) {
  contact: contactByWorkspaceIdAndRowId(workspaceId: $ws, rowId: $id) {
    name
    email: contactIdentitiesByWorkspaceIdAndContactId(condition: {type: "EMAIL"},
      orderBy: [CREATED_AT_ASC, TYPE_ASC, VALUE_ASC], first: 1) { nodes { value } }
    identities: contactIdentitiesByWorkspaceIdAndContactId(
      orderBy: [CREATED_AT_ASC, TYPE_ASC, VALUE_ASC]) { nodes { type value } }
  }
}`

func (p *postGraphile) request(ws, id string) *http.Request {
	body, _ := json.Marshal(map[string]any{"query": pglQuery, "variables": map[string]any{"ws": ws, "id": id}})
	req, _ := http.NewRequest(http.MethodPost, p.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Workspace-Id", ws)
	return req
}

// lockedBuffer collects the server's output for error messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startPostGraphile installs bench/postgraphile if needed (npm ci), starts
// it with the node the lockfile pins on a free port, waits until it
// answers, and kills its process group when the benchmark ends.
func startPostGraphile(b *testing.B) *postGraphile {
	b.Helper()
	dir, err := filepath.Abs("postgraphile")
	if err != nil {
		b.Fatal(err)
	}
	node := filepath.Join(dir, "node_modules", ".bin", "node")
	cli := filepath.Join(dir, "node_modules", "postgraphile", "dist", "cli-run.js")
	if !exists(node) || !exists(cli) {
		npm, err := exec.LookPath("npm")
		if err != nil {
			b.Fatalf("the postgraphile target needs node and npm on PATH to install bench/postgraphile (npm ci): %v", err)
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("npm ci in bench/postgraphile: %v\n%s", err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	var out lockedBuffer
	cmd := exec.Command(node, cli, "-C", "graphile.config.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_ENV=production", "GRAPHILE_ENV=production",
		fmt.Sprintf("PGL_PORT=%d", port), "PGL_DATABASE_URL="+dbtest.URL(b))
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatalf("start postgraphile: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})

	p := &postGraphile{url: fmt.Sprintf("http://127.0.0.1:%d/graphql", port)}
	ping := []byte(`{"query":"{ __typename }"}`)
	for deadline := time.Now().Add(60 * time.Second); ; {
		select {
		case <-exited:
			b.Fatalf("postgraphile exited before it was ready:\n%s", out.String())
		default:
		}
		res, err := http.Post(p.url, "application/json", bytes.NewReader(ping))
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("postgraphile not ready after 60s:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// checkAnswersLikeCrmhub makes sure PostGraphile reads the same data as
// crmhub (name, email, identities in order) and that row-level security
// holds: another workspace's header sees nothing.
func (p *postGraphile) checkAnswersLikeCrmhub(b *testing.B, w *world) {
	b.Helper()
	type identity struct{ Type, Value string }
	type contact struct {
		Name       *string
		Email      *string
		Identities []identity
	}
	for _, i := range []int{0, 137, len(w.ids) - 1, -1} {
		gid := "ct_00000000000000000000000000000000"
		if i >= 0 {
			gid = w.ids[i]
		}
		var a struct {
			Data struct{ Contact *contact }
		}
		_, body := fetch(b, w.request(w.crmhub, gid))
		if err := json.Unmarshal(body, &a); err != nil {
			b.Fatalf("crmhub: %v: %s", err, body)
		}
		var pg struct {
			Data struct {
				Contact *struct {
					Name  *string
					Email struct {
						Nodes []struct{ Value string }
					}
					Identities struct{ Nodes []identity }
				}
			}
			Errors []any
		}
		_, pbody := fetch(b, p.request(w.ws.String(), rawID(gid)))
		if err := json.Unmarshal(pbody, &pg); err != nil || pg.Errors != nil {
			b.Fatalf("postgraphile: %v: %s", err, pbody)
		}
		var got *contact
		if c := pg.Data.Contact; c != nil {
			got = &contact{Name: c.Name, Identities: c.Identities.Nodes}
			if len(c.Email.Nodes) > 0 {
				got.Email = &c.Email.Nodes[0].Value
			}
		}
		if !reflect.DeepEqual(a.Data.Contact, got) || (i >= 0 && got == nil) {
			b.Fatalf("contact %s:\ncrmhub       %s\npostgraphile %s", gid, body, pbody)
		}
	}
	_, body := fetch(b, p.request(uuid.NewString(), w.uuids[0]))
	if !bytes.Equal(body, []byte(`{"data":{"contact":null}}`)) {
		b.Fatalf("postgraphile read contact %s through another workspace: %s", w.ids[0], body)
	}
}

// warmUp lets node's JIT settle before the first timed run.
func (p *postGraphile) warmUp(b *testing.B, w *world, n int) {
	b.Helper()
	for i := range n {
		if code, body := fetch(b, p.request(w.ws.String(), w.uuids[i%len(w.uuids)])); code != 200 {
			b.Fatalf("postgraphile warm-up: %d %s", code, body)
		}
	}
}
