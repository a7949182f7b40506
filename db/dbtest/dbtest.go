// Package dbtest gives each test package a fresh PostgreSQL database cloned
// from a migrated template, and helpers to make workspaces in it.
//
// The template is built once per set of migrations (its name carries their
// hash) under an advisory lock, so concurrent test packages share it safely.
// Tests never mock the database.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable with the server to test against
// (any database on it; the user must be able to create databases).
const EnvURL = "CRMHUB_TEST_DATABASE_URL"

const defaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// EnvPrefix names the environment variable with the prefix of every
// database the tests create (default "crmhub_"), so that several checkouts
// or projects can share one server: lower-case letters, digits and
// underscores, at most 32 characters.
const EnvPrefix = "CRMHUB_TEST_DB_PREFIX"

// Prefix returns the prefix of test database names (see EnvPrefix).
func Prefix() (string, error) {
	p, ok := os.LookupEnv(EnvPrefix)
	if !ok {
		return "crmhub_", nil
	}
	if !validPrefix(p) {
		return "", fmt.Errorf("%s=%q: use 1 to 32 lower-case letters, digits and underscores, starting with a letter or underscore", EnvPrefix, p)
	}
	return p, nil
}

func validPrefix(p string) bool {
	if p == "" || len(p) > 32 || (p[0] >= '0' && p[0] <= '9') {
		return false
	}
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// NewName returns a fresh database name: the prefix, what, and random hex.
func NewName(what string) (string, error) {
	p, err := Prefix()
	if err != nil {
		return "", err
	}
	var b [6]byte
	rand.Read(b[:])
	return p + what + "_" + hex.EncodeToString(b[:]), nil
}

// lockID serialises template builds across test processes.
const lockID = 0x63726d6875627474 // "crmhubtt"

var packageURL, serviceURL string

// serviceRole is the login role the services connect as (set in
// ensureTemplate): not a superuser, owning nothing, a member of
// db.AppRole only, as production should run (README: least privilege).
var serviceRole string

// Main runs a test package against its own database: call it from TestMain.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main returning the exit code, for a TestMain with work of its own
// to undo before it exits.
func Run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	server := os.Getenv(EnvURL)
	if server == "" {
		server = defaultServerURL
	}
	name, err := createPackageDB(ctx, server)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "dbtest: %v\n", err)
		return 1
	}
	packageURL = withDatabase(server, name)
	serviceURL = withUser(packageURL, serviceRole)
	code := m.Run()
	if err := dropDB(context.Background(), server, name); err != nil {
		fmt.Fprintf(os.Stderr, "dbtest: %v\n", err)
	}
	return code
}

// URL is the connection URL of this test package's database.
func URL(t testing.TB) string {
	t.Helper()
	if packageURL == "" {
		t.Fatal("dbtest: call dbtest.Main from TestMain")
	}
	return packageURL
}

// ServiceURL is the URL of this test package's database for a login role
// that is not a superuser and owns nothing: what Open connects as.
func ServiceURL(t testing.TB) string {
	t.Helper()
	URL(t)
	return serviceURL
}

// Open opens the package database as the service role (row-level security
// applies) and closes it when the test ends. It logs in as a role that is
// not a superuser and owns no table (ServiceURL), as production does.
func Open(t testing.TB, clock crmhub.Clock) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), db.Config{URL: ServiceURL(t), Clock: clock, MaxConns: 8})
	if err != nil {
		t.Fatalf("dbtest: open: %v", err)
	}
	t.Cleanup(d.Close)
	return d
}

// OpenOwner is Open logged in as the schema's owner (URL), for what only
// the owner may do (the seed's ANALYZE); the pool still switches to the
// service role.
func OpenOwner(t testing.TB, clock crmhub.Clock) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), db.Config{URL: URL(t), Clock: clock, MaxConns: 8})
	if err != nil {
		t.Fatalf("dbtest: open: %v", err)
	}
	t.Cleanup(d.Close)
	return d
}

// Workspace creates a workspace and returns a context acting as its admin key
// and the key's secret.
func Workspace(t testing.TB, d *db.DB) (context.Context, *crmhub.Workspace, string) {
	t.Helper()
	ws, key, secret, err := db.NewAuthService(d).CreateWorkspace(context.Background(), "test "+t.Name())
	if err != nil {
		t.Fatalf("dbtest: create workspace: %v", err)
	}
	p := &crmhub.Principal{WorkspaceID: ws.ID, APIKeyID: key.ID, Scopes: key.Scopes}
	return crmhub.NewContext(context.Background(), p), ws, secret
}

func createPackageDB(ctx context.Context, server string) (string, error) {
	tpl, err := ensureTemplate(ctx, server)
	if err != nil {
		return "", err
	}
	name, err := NewName("test")
	if err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, withDatabase(server, "postgres"))
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{tpl}.Sanitize()))
	if err != nil {
		return "", fmt.Errorf("clone template: %w", err)
	}
	return name, nil
}

// ensureTemplate builds crmhub_tpl_<hash of migrations> if it is missing or
// was left half-built (not yet marked as a template).
func ensureTemplate(ctx context.Context, server string) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	prefix, err := Prefix()
	if err != nil {
		return "", err
	}
	tpl := prefix + "tpl_" + sum[:12]
	conn, err := pgx.Connect(ctx, withDatabase(server, "postgres"))
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(lockID)); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(lockID))

	var isTemplate *bool
	err = conn.QueryRow(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", tpl).Scan(&isTemplate)
	if err == nil && isTemplate != nil && *isTemplate {
		return tpl, ensureServiceRole(ctx, conn, prefix)
	}
	if err == nil {
		if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{tpl}.Sanitize()+" WITH (FORCE)"); err != nil {
			return "", fmt.Errorf("drop half-built template: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{tpl}.Sanitize()); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	if _, err := db.Migrate(ctx, withDatabase(server, tpl)); err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{tpl}.Sanitize()+" IS_TEMPLATE true"); err != nil {
		return "", fmt.Errorf("mark template: %w", err)
	}
	return tpl, ensureServiceRole(ctx, conn, prefix)
}

// ensureServiceRole creates the login role the services connect as in
// tests: not a superuser, unable to create databases or roles, not
// bypassing row-level security, and a member of db.AppRole only. Roles are
// global to the server, so it carries the test prefix.
func ensureServiceRole(ctx context.Context, conn *pgx.Conn, prefix string) error {
	serviceRole = prefix + "service"
	role := pgx.Identifier{serviceRole}.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", serviceRole).Scan(&exists); err != nil {
		return fmt.Errorf("look up the service role: %w", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE ROLE "+role+" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"); err != nil {
			return fmt.Errorf("create the service role: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, "GRANT "+db.AppRole+" TO "+role); err != nil {
		return fmt.Errorf("grant %s to the service role: %w", db.AppRole, err)
	}
	return nil
}

func withUser(rawURL, user string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	u.User = url.User(user)
	return u.String()
}

func dropDB(ctx context.Context, server, name string) error {
	conn, err := pgx.Connect(ctx, withDatabase(server, "postgres"))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

func migrationsHash() (string, error) {
	h := sha256.New()
	var names []string
	err := fs.WalkDir(db.Migrations(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(db.Migrations(), n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func withDatabase(server, name string) string {
	u, err := url.Parse(server)
	if err != nil {
		return server
	}
	u.Path = "/" + name
	return u.String()
}

// Clock is a settable clock for tests of time rules (service windows,
// expiries). It starts at a fixed instant.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at 2026-01-15 12:00 UTC.
func NewClock() *Clock {
	return &Clock{now: time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
