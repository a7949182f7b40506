package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmhub/crmhub/db"
)

// Config is every setting of the binary. It is filled from the environment
// first (loadConfig) and then from the flags of the subcommand being run,
// which override the environment. It is passed down, never kept in a global.
type Config struct {
	// DatabaseURL is the PostgreSQL connection URL (DATABASE_URL). Its user
	// must own the schema to migrate it. Default: db.DefaultURL, the local
	// server's "crmhub" database.
	DatabaseURL string
	// ListenDatabaseURL is a direct (session) connection to the same
	// database for LISTEN, River and migrations, which need a session of
	// their own (CRMHUB_LISTEN_DATABASE_URL). Default: DatabaseURL. When it
	// differs, DatabaseURL may point at a transaction-pooling PgBouncer.
	ListenDatabaseURL string
	// Addr is where serve listens (CRMHUB_ADDR, --addr). Default ":8080".
	Addr string
	// CORSOrigins are the browser origins allowed to call the API and open
	// websockets (CRMHUB_CORS_ORIGINS, --cors-origins; comma separated).
	// Default: none, only same-origin.
	CORSOrigins []string
	// Introspection enables GraphQL introspection (CRMHUB_INTROSPECTION,
	// --introspection). Default true.
	Introspection bool
	// ComplexityLimit is the largest query complexity accepted
	// (CRMHUB_COMPLEXITY_LIMIT, --complexity-limit). Default 50,000: a
	// field taking `first` costs first times its selection, so the nested
	// page of the benchmarks (50 deals, 5 conversations, 10 messages) costs
	// about 17,000.
	ComplexityLimit int
	// RateLimitPoints is each API key's and hook URL's budget of points
	// per minute (CRMHUB_RATE_LIMIT_POINTS, --rate-limit-points); 0 turns
	// it off. Default 10,000.
	RateLimitPoints int
	// LogFormat is "text" or "json" (CRMHUB_LOG_FORMAT, --log-format).
	// Default "text".
	LogFormat string
	// LogLevel is the least severe level logged: debug, info, warn or
	// error (CRMHUB_LOG_LEVEL, --log-level). Default info.
	LogLevel slog.Level
	// ShutdownTimeout is how long serve lets in-flight requests finish after
	// SIGINT or SIGTERM (CRMHUB_SHUTDOWN_TIMEOUT, --shutdown-timeout).
	// Default 20s.
	ShutdownTimeout time.Duration
	// WebhookAllowPrivate lets webhooks target private and loopback
	// addresses (CRMHUB_WEBHOOK_ALLOW_PRIVATE). Default false. Parsed now and
	// kept for the webhook dispatcher.
	WebhookAllowPrivate bool
	// ConnectorAllowPrivate lets connections reach external CRMs at
	// private and loopback addresses (CRMHUB_CONNECTOR_ALLOW_PRIVATE), for
	// a CRM on the local network or `crmhub fake-crm`. Default false.
	ConnectorAllowPrivate bool
	// PublicURL is the base URL at which external CRMs reach this server
	// (CRMHUB_PUBLIC_URL, --public-url), e.g. https://hub.example.com.
	// Set, connections to CRMs that can register webhooks (Wazzup,
	// Wazera) register their hook URL under it; empty, hooks are set up
	// by hand. Default empty.
	PublicURL string
	// SyncWorkers is how many sync runs one process works at once
	// (CRMHUB_SYNC_WORKERS). Default 4.
	SyncWorkers int
	// SyncLease (CRMHUB_SYNC_LEASE, --sync-lease) is the longest a sync
	// run whose process died waits before a live process takes it over
	// (see db.SyncService's leaseDeadline). Default 60s.
	SyncLease time.Duration
	// SecretKey encrypts secrets at rest (webhook signing secrets,
	// connections' API keys): base64
	// of 32 bytes (CRMHUB_SECRET_KEY; `crmhub secret-key` makes one).
	// Required by serve, except with --dev-key, which then uses a fixed
	// development key and says so.
	SecretKey string
	// EventRetention is how long events are kept (CRMHUB_EVENT_RETENTION,
	// a Go duration; 0 keeps them forever). Default 720h (30 days).
	// Subscribers and webhooks resuming from an older cursor miss what was
	// pruned.
	EventRetention time.Duration
	// DBMaxConns bounds the connection pool every part of the service
	// shares: requests, the event listener, River's notifier and workers
	// (CRMHUB_DB_MAX_CONNS). Default 20; pgxpool's own default, 4 on a
	// small machine, leaves requests two connections.
	DBMaxConns int
	// PprofAddr, when set, serves net/http/pprof on this address, apart
	// from the API (CRMHUB_PPROF_ADDR, e.g. 127.0.0.1:6060). Off by
	// default; it must never be reachable from outside the host.
	PprofAddr string
	// PersistedQueriesFile, when set, names a manifest of the only
	// documents serve runs ({"[sha256:]<sha256 hex>": "<document>"}, as
	// graphql-codegen's persisted-documents.json), for production
	// (CRMHUB_PERSISTED_QUERIES). Without it, automatic persisted queries
	// are open to any client.
	PersistedQueriesFile string
	// MaxSubscriptions bounds the subscriptions of one websocket
	// (CRMHUB_MAX_SUBSCRIPTIONS). Default 20.
	MaxSubscriptions int
	// GCHeadroomMB is the least heap growth, in MiB, between two garbage
	// collections (CRMHUB_GC_HEADROOM_MB). Default 64; 0 leaves Go's
	// pacing alone, as does setting GOGC. See internal/gcpace.
	GCHeadroomMB int
	// NoMigrate skips applying migrations at start (--no-migrate, flag only).
	NoMigrate bool
	// DevKey makes serve print an admin key of a development workspace
	// (--dev-key, flag only; make run uses it).
	DevKey bool
	// DevKeyFile is where --dev-key keeps its key so that the next run reuses
	// the same workspace (--dev-key-file, flag only). Default ".crmhub-dev-key".
	DevKeyFile string
}

// Defaults of the settings that have one.
const (
	defaultAddr             = ":8080"
	defaultComplexityLimit  = 50000
	defaultRateLimitPoints  = 10000
	defaultLogFormat        = "text"
	defaultShutdownTimeout  = 20 * time.Second
	defaultDevKeyFile       = ".crmhub-dev-key"
	defaultMaxSubscriptions = 20
	defaultEventRetention   = 30 * 24 * time.Hour
	defaultSyncWorkers      = 4
	defaultDBMaxConns       = 20
	defaultGCHeadroomMB     = 64
)

// loadConfig returns the defaults overridden by the environment read through
// getenv. An unparsable value is an error naming its variable.
func loadConfig(getenv func(string) string) (Config, error) {
	cfg := Config{
		DatabaseURL:      db.DefaultURL,
		Addr:             defaultAddr,
		Introspection:    true,
		ComplexityLimit:  defaultComplexityLimit,
		RateLimitPoints:  defaultRateLimitPoints,
		LogFormat:        defaultLogFormat,
		ShutdownTimeout:  defaultShutdownTimeout,
		DevKeyFile:       defaultDevKeyFile,
		MaxSubscriptions: defaultMaxSubscriptions,
		EventRetention:   defaultEventRetention,
		SyncWorkers:      defaultSyncWorkers,
		SyncLease:        db.DefaultSyncLease,
		DBMaxConns:       defaultDBMaxConns,
		GCHeadroomMB:     defaultGCHeadroomMB,
	}
	var errs []error
	env := func(name string, set func(string) error) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			if err := set(v); err != nil {
				errs = append(errs, fmt.Errorf("environment variable %s: %w", name, err))
			}
		}
	}
	env("DATABASE_URL", func(v string) error {
		if err := checkDatabaseURL(v); err != nil {
			return err
		}
		cfg.DatabaseURL = v
		return nil
	})
	env("CRMHUB_LISTEN_DATABASE_URL", func(v string) error {
		if err := checkDatabaseURL(v); err != nil {
			return err
		}
		cfg.ListenDatabaseURL = v
		return nil
	})
	env("CRMHUB_ADDR", setString(&cfg.Addr))
	env("CRMHUB_CORS_ORIGINS", (*listValue)(&cfg.CORSOrigins).Set)
	env("CRMHUB_INTROSPECTION", setBool(&cfg.Introspection))
	env("CRMHUB_COMPLEXITY_LIMIT", setPositiveInt(&cfg.ComplexityLimit))
	env("CRMHUB_RATE_LIMIT_POINTS", setNonNegativeInt(&cfg.RateLimitPoints))
	env("CRMHUB_LOG_FORMAT", (*logFormatValue)(&cfg.LogFormat).Set)
	env("CRMHUB_LOG_LEVEL", (*logLevelValue)(&cfg.LogLevel).Set)
	env("CRMHUB_SHUTDOWN_TIMEOUT", setDuration(&cfg.ShutdownTimeout))
	env("CRMHUB_WEBHOOK_ALLOW_PRIVATE", setBool(&cfg.WebhookAllowPrivate))
	env("CRMHUB_CONNECTOR_ALLOW_PRIVATE", setBool(&cfg.ConnectorAllowPrivate))
	env("CRMHUB_PUBLIC_URL", (*publicURLValue)(&cfg.PublicURL).Set)
	env("CRMHUB_SYNC_WORKERS", setPositiveInt(&cfg.SyncWorkers))
	env("CRMHUB_SYNC_LEASE", (*positiveDurationValue)(&cfg.SyncLease).Set)
	env("CRMHUB_DB_MAX_CONNS", setPositiveInt(&cfg.DBMaxConns))
	env("CRMHUB_PPROF_ADDR", setString(&cfg.PprofAddr))
	env("CRMHUB_PERSISTED_QUERIES", setString(&cfg.PersistedQueriesFile))
	env("CRMHUB_SECRET_KEY", func(v string) error {
		if _, err := db.ParseSecretKey(v); err != nil {
			return errors.New("want the base64 of 32 random bytes (crmhub secret-key prints one)")
		}
		cfg.SecretKey = v
		return nil
	})
	env("CRMHUB_MAX_SUBSCRIPTIONS", setPositiveInt(&cfg.MaxSubscriptions))
	env("CRMHUB_EVENT_RETENTION", setDuration(&cfg.EventRetention))
	env("CRMHUB_GC_HEADROOM_MB", setNonNegativeInt(&cfg.GCHeadroomMB))
	return cfg, errors.Join(errs...)
}

// sessionURL is the URL of a session connection: ListenDatabaseURL, or
// DatabaseURL when it is not set. Migrations use it (they hold a session
// advisory lock), and so do the listener and River.
func (c Config) sessionURL() string {
	if c.ListenDatabaseURL != "" {
		return c.ListenDatabaseURL
	}
	return c.DatabaseURL
}

// checkDatabaseURL accepts postgres:// and postgresql:// URLs. Its errors
// never repeat the URL, which may hold a password.
func checkDatabaseURL(v string) error {
	u, err := url.Parse(v)
	if err != nil {
		return errors.New("not a valid URL (want postgres://user@host:port/dbname)")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return errors.New("want a postgres:// URL")
	}
	return nil
}

func setString(p *string) func(string) error {
	return func(v string) error { *p = v; return nil }
}

func setBool(p *bool) func(string) error {
	return func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", v)
		}
		*p = b
		return nil
	}
}

func setNonNegativeInt(p *int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("want 0 or a positive integer, got %q", v)
		}
		*p = n
		return nil
	}
}

// nonNegativeIntValue is an int flag that may be zero (off).
type nonNegativeIntValue int

func (n *nonNegativeIntValue) String() string { return strconv.Itoa(int(*n)) }

func (n *nonNegativeIntValue) Set(v string) error { return setNonNegativeInt((*int)(n))(v) }

func setPositiveInt(p *int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("want a positive integer, got %q", v)
		}
		*p = n
		return nil
	}
}

func setDuration(p *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("want a duration such as 20s, got %q", v)
		}
		*p = d
		return nil
	}
}

// positiveDurationValue is a duration flag that must be above zero.
type positiveDurationValue time.Duration

func (d *positiveDurationValue) String() string { return time.Duration(*d).String() }

func (d *positiveDurationValue) Set(v string) error {
	x, err := time.ParseDuration(v)
	if err != nil || x <= 0 {
		return fmt.Errorf("want a positive duration such as 60s, got %q", v)
	}
	*d = positiveDurationValue(x)
	return nil
}

// listValue is a comma-separated list flag; empty items are dropped.
type listValue []string

func (l *listValue) String() string { return strings.Join(*l, ",") }

func (l *listValue) Set(v string) error {
	*l = nil
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// publicURLValue is an absolute http(s) URL without credentials, query
// or fragment, kept without a trailing slash; "" unsets it.
type publicURLValue string

func (p *publicURLValue) String() string { return string(*p) }

func (p *publicURLValue) Set(v string) error {
	v = strings.TrimRight(strings.TrimSpace(v), "/")
	if v == "" {
		*p = ""
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return errors.New("want an absolute http(s) URL without credentials, query or fragment, such as https://hub.example.com")
	}
	*p = publicURLValue(v)
	return nil
}

// logFormatValue is "text" or "json".
type logFormatValue string

func (f *logFormatValue) String() string { return string(*f) }

func (f *logFormatValue) Set(v string) error {
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case "text", "json":
		*f = logFormatValue(v)
		return nil
	}
	return fmt.Errorf("want text or json, got %q", v)
}

// logLevelValue is a slog level spelled debug, info, warn or error.
type logLevelValue slog.Level

func (l *logLevelValue) String() string { return strings.ToLower(slog.Level(*l).String()) }

func (l *logLevelValue) Set(v string) error {
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case "debug", "info", "warn", "error":
		var lv slog.Level
		if err := lv.UnmarshalText([]byte(v)); err != nil {
			return err
		}
		*l = logLevelValue(lv)
		return nil
	}
	return fmt.Errorf("want debug, info, warn or error, got %q", v)
}

// positiveIntValue is an int flag that must be above zero.
type positiveIntValue int

func (n *positiveIntValue) String() string { return strconv.Itoa(int(*n)) }

func (n *positiveIntValue) Set(v string) error { return setPositiveInt((*int)(n))(v) }

// serveFlags binds serve's flags to cfg; the values cfg already holds (the
// environment's) are the defaults the flags override.
func serveFlags(fs *flag.FlagSet, cfg *Config) {
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "`address` to listen on (CRMHUB_ADDR)")
	fs.BoolVar(&cfg.NoMigrate, "no-migrate", cfg.NoMigrate, "do not apply pending migrations at start")
	fs.BoolVar(&cfg.Introspection, "introspection", cfg.Introspection, "allow GraphQL introspection (CRMHUB_INTROSPECTION)")
	fs.Var((*positiveIntValue)(&cfg.ComplexityLimit), "complexity-limit", "largest accepted query complexity (CRMHUB_COMPLEXITY_LIMIT)")
	fs.Var((*nonNegativeIntValue)(&cfg.RateLimitPoints), "rate-limit-points", "each API key's and hook URL's `points` per minute; 0 turns limits off (CRMHUB_RATE_LIMIT_POINTS)")
	fs.Var((*listValue)(&cfg.CORSOrigins), "cors-origins", "comma-separated browser `origins` allowed by CORS and the websocket check (CRMHUB_CORS_ORIGINS)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long in-flight requests may finish after a stop signal (CRMHUB_SHUTDOWN_TIMEOUT)")
	fs.Var((*logFormatValue)(&cfg.LogFormat), "log-format", "log `format`: text or json (CRMHUB_LOG_FORMAT)")
	fs.Var((*logLevelValue)(&cfg.LogLevel), "log-level", "least severe log `level`: debug, info, warn or error (CRMHUB_LOG_LEVEL)")
	fs.Var((*publicURLValue)(&cfg.PublicURL), "public-url", "base `URL` at which external CRMs reach this server; connections register their hook URLs under it (CRMHUB_PUBLIC_URL)")
	fs.BoolVar(&cfg.DevKey, "dev-key", cfg.DevKey, "print an admin API key of a development workspace (see --dev-key-file)")
	fs.StringVar(&cfg.DevKeyFile, "dev-key-file", cfg.DevKeyFile, "`file` where --dev-key keeps its key to reuse it on the next run")
	fs.Var((*positiveDurationValue)(&cfg.SyncLease), "sync-lease", "the longest a sync run whose process died waits before a live process takes it over (CRMHUB_SYNC_LEASE)")
}
