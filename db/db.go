// Package db implements crmhub's services on PostgreSQL: bun models over one
// pgx pool, embedded SQL migrations, and the event log that every write
// appends to in its own transaction.
//
// Two roles are involved. Migrations run as the connecting user, who owns the
// tables. The service switches every pooled connection to crmhub_app, a role
// that owns nothing and is subject to row-level security, and sets the tenant
// per transaction with set_config('app.workspace_id', id, true). Explicit
// workspace_id filters in every query are the first wall; RLS is the second.
package db

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// AppRole is the database role the service runs as. Migrations create it.
const AppRole = "crmhub_app"

// DefaultURL is the local PostgreSQL of a development machine.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/crmhub?sslmode=disable"

// Config says how to reach the database.
type Config struct {
	// URL is a PostgreSQL connection URL; its user must own the schema
	// (to migrate) and be allowed to SET ROLE crmhub_app.
	URL string
	// MaxConns bounds the pool; 0 means pgxpool's default.
	MaxConns int32
	// SessionURL, when set and not URL, is a direct connection to
	// PostgreSQL for what needs a session of its own: the event listener's
	// LISTEN and River (its leader election, notifications and job
	// fetching). URL may then point at a transaction-pooling PgBouncer;
	// see Pooled.
	SessionURL string
	// Clock stamps rows; nil means the system clock.
	Clock crmhub.Clock
	// Tracer, when set, also sees every query of the pool, after the
	// query counter (the OpenTelemetry tracer when tracing is on). If it
	// traces batches or COPY too (pgx.BatchTracer, pgx.CopyFromTracer),
	// it sees those.
	Tracer pgx.QueryTracer
}

// DB is an open database: one pgx pool, shared by bun and anything else that
// needs a connection (the event listener, River).
type DB struct {
	Pool *pgxpool.Pool
	// Session is the pool of session connections for LISTEN and River:
	// Pool itself unless Config.SessionURL names another server address.
	Session *pgxpool.Pool
	Bun     *bun.DB
	clock   crmhub.Clock
	// counter traces every query of the pool; see QueryStats.
	counter *counter
}

// sessionMaxConns bounds the session pool when it is apart from the main
// one: the listener's connection, River's notifier, its leader and
// maintenance queries, and each queue's fetches and completions.
const sessionMaxConns = 8

// Open connects as the service role. It does not migrate; see Migrate.
//
// With a SessionURL apart from URL, URL is taken to be pooled per
// transaction (PgBouncer), which keeps neither statements nor settings from
// one transaction to the next. Its pool then sends every query in one
// round trip with unnamed statements (pgx's QueryExecModeExec, unless the
// URL names a default_query_exec_mode itself) and does not SET ROLE, since a
// session setting would stay on whichever server connection ran it: its
// login role must itself be a member of crmhub_app that neither is a
// superuser nor bypasses row-level security, which Open checks. The tenant
// is already set per transaction (set_config(..., true)).
func Open(ctx context.Context, cfg Config) (*DB, error) {
	pooled := cfg.SessionURL != "" && cfg.SessionURL != cfg.URL
	count := &counter{}
	var tracer pgx.QueryTracer = count
	if cfg.Tracer != nil {
		tracer = tracers{count, cfg.Tracer}
	}
	pool, err := openPool(ctx, cfg.URL, cfg.MaxConns, tracer, pooled)
	if err != nil {
		return nil, err
	}
	session := pool
	if pooled {
		if err := checkPooledRole(ctx, pool); err != nil {
			pool.Close()
			return nil, err
		}
		if session, err = openPool(ctx, cfg.SessionURL, sessionMaxConns, tracer, false); err != nil {
			pool.Close()
			return nil, fmt.Errorf("db: session connection (CRMHUB_LISTEN_DATABASE_URL): %w", err)
		}
	}
	clock := cfg.Clock
	if clock == nil {
		clock = crmhub.SystemClock{}
	}
	sqldb := stdlib.OpenDBFromPool(pool)
	// Paged reads select row_number() beside the model columns; ignore it.
	return &DB{Pool: pool, Session: session, Bun: bun.NewDB(sqldb, pgdialect.New(), bun.WithDiscardUnknownColumns()), clock: clock,
		counter: count}, nil
}

// openPool opens and pings one pool as the service role; pooled says that
// rawURL goes through a transaction pooler (see Open).
func openPool(ctx context.Context, rawURL string, maxConns int32, tracer pgx.QueryTracer, pooled bool) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("db: parse url: %w", err)
	}
	if maxConns > 0 {
		pcfg.MaxConns = maxConns
	}
	pcfg.ConnConfig.Tracer = tracer
	if pooled && !urlSetsExecMode(rawURL) {
		pcfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	}
	pcfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		encodeUUIDs(c.TypeMap())
		if pooled {
			return nil
		}
		_, err := c.Exec(ctx, "SET ROLE "+AppRole)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("db: open pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("db: connect: %w", err)
	}
	return pool, nil
}

// urlSetsExecMode reports whether a connection URL (or key=value string)
// chooses pgx's default_query_exec_mode itself.
func urlSetsExecMode(rawURL string) bool {
	return strings.Contains(rawURL, "default_query_exec_mode")
}

// checkPooledRole makes sure the login role of a transaction-pooled URL
// is one row-level security holds and that has crmhub_app's grants, since
// no SET ROLE can be relied on there.
func checkPooledRole(ctx context.Context, pool *pgxpool.Pool) error {
	var bypass, member bool
	err := pool.QueryRow(ctx, `SELECT r.rolsuper OR r.rolbypassrls, pg_has_role(session_user, $1, 'USAGE')
		FROM pg_roles r WHERE r.rolname = session_user`, AppRole).Scan(&bypass, &member)
	if err != nil {
		return fmt.Errorf("db: check the login role: %w", err)
	}
	if bypass || !member {
		return fmt.Errorf("db: with CRMHUB_LISTEN_DATABASE_URL apart, DATABASE_URL (pooled per transaction) must log in as a member of %s "+
			"that is not a superuser and does not bypass row-level security: SET ROLE does not survive a transaction pooler", AppRole)
	}
	return nil
}

// Close closes the pool.
func (db *DB) Close() {
	db.Bun.Close()
	db.Pool.Close()
	if db.Session != db.Pool {
		db.Session.Close()
	}
}

// Ping checks that the database answers; /readyz uses it.
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

// Now is the database layer's clock.
func (db *DB) Now() time.Time { return db.clock.Now() }

// EnsureDatabase creates the database named in rawURL if it does not exist,
// connecting to the server's "postgres" database to do so.
func EnsureDatabase(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("db: parse url: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || name == "postgres" {
		return nil
	}
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return fmt.Errorf("db: connect to create database: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("db: look up database: %w", err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created meanwhile
		return nil
	}
	if err != nil {
		return fmt.Errorf("db: create database %s: %w", name, err)
	}
	return nil
}

// openOwner opens a plain connection pool as the connecting user (no role
// switch), for migrations.
func openOwner(rawURL string) (*bun.DB, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("db: parse url: %w", err)
	}
	sqldb := stdlib.OpenDB(*cfg)
	sqldb.SetMaxOpenConns(4)
	return bun.NewDB(sqldb, pgdialect.New()), nil
}
