package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/internal/gcpace"
	"github.com/crmhub/crmhub/internal/reqlog"
	"github.com/crmhub/crmhub/internal/telemetry"
	"github.com/crmhub/crmhub/resolver"
)

// HTTP server timeouts. There is no write timeout: subscriptions and
// websockets stay open for as long as the client wants.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
)

// devWorkspaceName names the workspace that --dev-key creates.
const devWorkspaceName = "dev"

func (c *cli) serve(ctx context.Context, args []string) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	fset := c.newFlagSet("serve", "serve [flags]\n\n"+
		"Creates the database if needed, applies pending migrations and serves\n"+
		"the GraphQL API until SIGINT or SIGTERM, then lets in-flight requests\n"+
		"finish. Flags override the environment variables named beside them.")
	serveFlags(fset, &cfg)
	if err := c.parseNoArgs(fset, args); err != nil {
		return err
	}
	log := newLogger(c.stderr, cfg.LogFormat, cfg.LogLevel)
	tp, stopTracing, err := telemetry.Setup(ctx, log)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		if err := stopTracing(sctx); err != nil {
			log.Warn("spans not exported at shutdown", "err", err)
		}
	}()

	if cfg.NoMigrate {
		err = db.EnsureDatabase(ctx, cfg.sessionURL())
	} else {
		var names []string
		names, err = prepareDatabase(ctx, cfg.sessionURL())
		if len(names) > 0 {
			log.Info("applied migrations", "migrations", names)
		}
	}
	if err != nil {
		return err
	}
	d, err := openTracedDB(ctx, cfg, telemetry.PgxTracer(tp))
	if err != nil {
		return err
	}
	defer d.Close()
	auth := db.NewAuthService(d)
	var devKey string
	if cfg.DevKey {
		if devKey, err = ensureDevKey(ctx, auth, cfg.DevKeyFile, log); err != nil {
			return err
		}
	}

	a, err := newApp(d, cfg, tp, log)
	if err != nil {
		return err
	}
	if err := a.start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		a.stop(sctx)
	}()
	api := resolver.NewHandler(a.handler)
	var h http.Handler = api
	if c.wrap != nil {
		h = c.wrap(h)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if c.onShutdown != nil {
		srv.RegisterOnShutdown(c.onShutdown)
	}
	// Listening before printing lets the startup line carry the real port
	// when --addr asks for port 0.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// The GC pacing is the operator's when they set GOGC.
	if _, set := os.LookupEnv("GOGC"); !set && cfg.GCHeadroomMB > 0 {
		defer gcpace.Start(uint64(cfg.GCHeadroomMB) << 20).Stop()
	}
	if cfg.PprofAddr != "" {
		stop, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
	}
	base := baseURL(ln.Addr())
	fmt.Fprintf(c.stdout, "crmhub listening on %s\n", base)
	fmt.Fprintf(c.stdout, "GraphiQL: %s/\n", base)
	if devKey != "" {
		fmt.Fprintf(c.stdout, "GraphiQL with the dev key: %s\n", devKeyLink(base, devKey))
		fmt.Fprintf(c.stdout, "Dev API key: %s\n", devKey)
	}
	log.Info("serving", "addr", ln.Addr().String(), "introspection", cfg.Introspection,
		"complexityLimit", cfg.ComplexityLimit, "corsOrigins", cfg.CORSOrigins)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if err != nil {
		srv.Close()
	}
	// Websockets are no requests to http.Server: they close here, before
	// the deferred stops end the hub and close the database under them.
	if werr := api.Shutdown(sctx); werr != nil {
		log.Warn("websockets cut off at shutdown", "err", werr)
	}
	if err != nil {
		return fmt.Errorf("requests still running after %s were cut off: %w", cfg.ShutdownTimeout, err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// baseURL is the address people can open: the bound host, or localhost
// when listening on every interface.
func baseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// devKeyLink opens GraphiQL holding key: a development server's page
// stores the key of the fragment (which browsers never send to a server)
// and removes it from the address bar.
func devKeyLink(base, key string) string {
	return base + "/#apiKey=" + url.QueryEscape(key)
}

// newLogger writes records of level and above; each record logged with a
// request's context carries its request id, workspace and key
// (reqlog.Handler).
func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(reqlog.NewHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(reqlog.NewHandler(slog.NewTextHandler(w, opts)))
}

// ensureDevKey returns an admin key of the development workspace. Secrets
// are stored hashed, so the database cannot give a key back: the key is kept
// in path and reused while it still authenticates. Without one (first run,
// database recreated, key revoked) a new workspace "dev" is created and its
// key written to path, readable by its owner only.
func ensureDevKey(ctx context.Context, auth *db.AuthService, path string, log *slog.Logger) (string, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		key := strings.TrimSpace(string(b))
		_, err := auth.Authenticate(ctx, key)
		if err == nil {
			return key, nil
		}
		if crmhub.ErrorCode(err) != crmhub.EUNAUTHENTICATED {
			return "", fmt.Errorf("check dev key: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("read dev key: %w", err)
	}
	ws, _, secret, err := auth.CreateWorkspace(ctx, devWorkspaceName)
	if err != nil {
		return "", fmt.Errorf("create dev workspace: %w", err)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("save dev key: %w", err)
		}
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save dev key: %w", err)
	}
	log.Info("created development workspace", "workspace", ws.GlobalID(), "keyFile", path)
	return secret, nil
}

// servePprof serves the Go profiler (net/http/pprof) on addr, apart from
// the API, so that an operator can profile a running server:
// `go tool pprof http://ADDR/debug/pprof/profile?seconds=30`.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("CRMHUB_PPROF_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout}
	log.Warn("serving the Go profiler; keep it unreachable from outside this host", "addr", ln.Addr().String())
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}
