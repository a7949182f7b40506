// Package cluster runs three real `crmhub serve` processes on one database,
// the second of them through a transaction-pooling PgBouncer, and checks
// what API-CONTRACT.md "Operating several processes" promises: events,
// webhooks, caches and jobs behave as with one process, and a process
// killed with SIGKILL has its work finished by the others.
package cluster

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/internal/proctest"
)

// binary is the crmhub binary, built once for the package by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crmhub-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "crmhub")
	cmd := exec.Command("go", "build", "-o", binary, "./cmd/crmhub")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := dbtest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// process is one running `crmhub serve`, named for the test's messages.
type process struct {
	*proctest.Server
	name string
}

// cluster is three processes on the test package's database, serving one
// workspace whose admin key is key. procs[1] goes through PgBouncer.
type cluster struct {
	procs     []*process
	key       string
	pgbouncer *pgbouncer
}

// startCluster starts PgBouncer and three processes, one after the other
// (the first creates the development workspace, the others reuse its
// key). Every process logs in as the service role (not a superuser, owning
// nothing), with migrations already applied, as production runs.
func startCluster(t *testing.T, env ...string) *cluster {
	t.Helper()
	pgb := startPgBouncer(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "dev-key")
	common := append([]string{"CRMHUB_WEBHOOK_ALLOW_PRIVATE=true", "CRMHUB_CONNECTOR_ALLOW_PRIVATE=true",
		"CRMHUB_SECRET_KEY=" + sharedSecretKey(), "CRMHUB_LOG_FORMAT=text"}, env...)
	c := &cluster{pgbouncer: pgb}
	for i := range 3 {
		dbEnv := []string{"DATABASE_URL=" + dbtest.ServiceURL(t), "CRMHUB_LISTEN_DATABASE_URL="}
		if i == 1 {
			dbEnv = []string{"DATABASE_URL=" + pgb.url(t), "CRMHUB_LISTEN_DATABASE_URL=" + dbtest.ServiceURL(t)}
		}
		p, key := startProcess(t, fmt.Sprintf("p%d", i), keyFile, append(dbEnv, common...))
		if c.key == "" {
			c.key = key
		} else if key != c.key {
			t.Fatalf("%s serves another workspace than p0", p.name)
		}
		c.procs = append(c.procs, p)
	}
	return c
}

// sharedSecretKey is the CRMHUB_SECRET_KEY of every process of the
// package: processes sharing a database must share it.
var sharedSecretKey = sync.OnceValue(db.NewSecretKey)

// startProcess runs `crmhub serve --dev-key` and waits until it listens;
// it is stopped gracefully when the test ends, and its log shown if the
// test failed.
func startProcess(t *testing.T, name, keyFile string, env []string) (*process, string) {
	t.Helper()
	p := &process{name: name, Server: proctest.StartServer(t, binary, env,
		"serve", "--addr", "127.0.0.1:0", "--no-migrate", "--dev-key", "--dev-key-file", keyFile)}
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			t.Logf("%s log:\n%s", p.name, p.Stderr)
		}
	})
	return p, p.Key
}

// do runs a GraphQL operation that must succeed.
func (c *cluster) do(t *testing.T, p *process, query string, vars map[string]any, out any) {
	t.Helper()
	proctest.GraphQL(t, p.Base, c.key, query, vars, out)
}

// pgbouncer is a PgBouncer of the test's own, pooling per transaction.
type pgbouncer struct {
	port int
}

// startPgBouncer runs PgBouncer in transaction pooling mode on a free
// port in front of the test server, trusting the service role. The
// package's tests need it: without the binary they fail, naming the
// Debian package.
func startPgBouncer(t *testing.T) *pgbouncer {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"} {
			if _, err2 := os.Stat(p); err2 == nil {
				bin, err = p, nil
				break
			}
		}
	}
	if err != nil {
		t.Fatal("pgbouncer is required by the cluster tests: install the Debian package `pgbouncer` (apt-get install pgbouncer)")
	}
	server, err := url.Parse(dbtest.ServiceURL(t))
	if err != nil {
		t.Fatal(err)
	}
	// PgBouncer refuses to run as root; there it drops to nobody (-u),
	// who must be able to read its configuration.
	dir, err := os.MkdirTemp("", "crmhub-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var args []string
	if os.Geteuid() == 0 {
		args = []string{"-u", "nobody"}
	}
	user := server.User.Username()
	if err := os.WriteFile(filepath.Join(dir, "userlist.txt"), fmt.Appendf(nil, "%q \"\"\n", user), 0o644); err != nil {
		t.Fatal(err)
	}
	pb := &pgbouncer{port: freePort(t)}
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
max_client_conn = 200
default_pool_size = 8
admin_users = %s
stats_users = %s
`, server.Hostname(), server.Port(), pb.port, filepath.Join(dir, "userlist.txt"), user, user)
	cfg := filepath.Join(dir, "pgbouncer.ini")
	if err := os.WriteFile(cfg, []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	log := &proctest.Buffer{}
	cmd := exec.Command(bin, append(args, cfg)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("pgbouncer log:\n%s", log)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", pb.port))
		if err == nil {
			conn.Close()
			return pb
		}
		select {
		case <-exited:
			t.Fatalf("pgbouncer exited:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgbouncer does not listen within 30 s:\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// url is the test database's service-role URL through PgBouncer.
func (pb *pgbouncer) url(t *testing.T) string {
	u, err := url.Parse(dbtest.ServiceURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Host = fmt.Sprintf("127.0.0.1:%d", pb.port)
	return u.String()
}

// transactions returns how many transactions PgBouncer has passed to the
// test database (its admin console's SHOW STATS).
func (pb *pgbouncer) transactions(t *testing.T) int64 {
	t.Helper()
	u, _ := url.Parse(pb.url(t))
	dbName := strings.TrimPrefix(u.Path, "/")
	u.Path = "/pgbouncer"
	out, err := exec.Command("psql", "-At", "-F", "|", u.String(), "-c", "SHOW STATS").CombinedOutput()
	if err != nil {
		t.Fatalf("pgbouncer SHOW STATS: %v\n%s", err, out)
	}
	for l := range strings.SplitSeq(string(out), "\n") {
		f := strings.Split(l, "|")
		if len(f) > 2 && f[0] == dbName {
			var n int64
			fmt.Sscan(f[1], &n)
			return n
		}
	}
	t.Fatalf("pgbouncer SHOW STATS has no row for %s:\n%s", dbName, out)
	return 0
}

// freePort returns a TCP port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitFor polls cond every 20 ms until it holds, failing t after within.
// It is for state in other processes (River's jobs, a receiver's count),
// which send no signal into the test.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ctx is a background context for queries the test makes itself.
var ctx = context.Background()
