package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/crmhub/crmhub/connectors/chatwindow"
	"github.com/crmhub/crmhub/connectors/inbound"
	"github.com/crmhub/crmhub/connectors/loopback"
	"github.com/crmhub/crmhub/connectors/outbound"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/internal/telemetry"
	"github.com/crmhub/crmhub/resolver"
	"github.com/crmhub/crmhub/webhook"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// Intervals of the background loops.
const (
	outboxInterval    = 5 * time.Second
	dispatchInterval  = time.Second
	retentionInterval = time.Hour
	scheduleInterval  = time.Minute
	// hookInterval is how often due hook registrations are looked for;
	// a connection changed in this process wakes the loop at once.
	hookInterval = 15 * time.Second
)

// app is the running service apart from HTTP: the domain services and the
// background loops that serve them (event fan-out, River workers, and db's
// loops: message outbox, webhook dispatcher, event retention, sync
// scheduler, takeover of sync runs whose process died).
type app struct {
	handler resolver.Config
	hub     *db.Hub
	auth    *db.AuthService
	river   *db.River
	// loops start in this order and stop in the reverse one: the ones that
	// make new work stop first.
	loops   []backgroundLoop
	cancel  context.CancelFunc
	hubDone chan struct{}
	log     *slog.Logger
}

// backgroundLoop is the shape of db's loops: Start runs passes until Stop,
// which waits for the pass in flight.
type backgroundLoop interface {
	Start(ctx context.Context)
	Stop()
}

// newApp builds the services over d. Nothing runs until start. With a
// TracerProvider (tracing on), jobs, calls to external CRMs and the
// handler are traced.
func newApp(d *db.DB, cfg Config, tp trace.TracerProvider, log *slog.Logger) (*app, error) {
	sealer, err := secretSealer(cfg, log)
	if err != nil {
		return nil, err
	}
	webhooks, err := db.NewWebhookService(d, db.WebhookConfig{Sealer: sealer, AllowPrivate: cfg.WebhookAllowPrivate, Log: log,
		Sender: webhook.NewSender(webhook.Config{AllowPrivate: cfg.WebhookAllowPrivate})})
	if err != nil {
		return nil, err
	}
	sync, err := newSync(d, cfg, sealer, tp, log)
	if err != nil {
		return nil, err
	}
	var persisted resolver.PersistedQueries
	if cfg.PersistedQueriesFile != "" {
		b, err := os.ReadFile(cfg.PersistedQueriesFile)
		if err != nil {
			return nil, fmt.Errorf("CRMHUB_PERSISTED_QUERIES: %w", err)
		}
		if persisted, err = resolver.ParsePersistedQueries(b); err != nil {
			return nil, fmt.Errorf("CRMHUB_PERSISTED_QUERIES: %w", err)
		}
		log.Info("persisted queries only", "documents", len(persisted))
	}
	riv, err := db.NewRiver(d, db.RiverConfig{Log: log, Middleware: telemetry.RiverMiddleware(tp)},
		webhooks, sync.syncs.Jobs(sync.engine))
	if err != nil {
		return nil, err
	}
	hub := db.NewHub(d, db.HubConfig{Log: log})
	auth := db.NewAuthService(d)
	auth.UseHub(hub) // verified keys are cached while the hub hears revocations
	// A conversation that came through a connection is answered through
	// it; the others go to the loopback channel, which logs them.
	conversations := db.NewConversationService(d, &outbound.Router{Connections: sync.connections, Registry: registry(),
		HTTPClient: connectorClient(cfg, tp), Fallback: &loopback.Channel{Log: log}})
	contacts, users := db.NewContactService(d), db.NewUserService(d)
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(serviceMetrics(d, hub, webhooks, sync.syncs, log)...)
	return &app{
		handler: resolver.Config{
			Registerer:    metrics,
			Gatherer:      prometheus.Gatherers{prometheus.DefaultGatherer, metrics},
			Contacts:      contacts,
			Auth:          auth,
			APIKeys:       auth,
			Workspaces:    auth,
			Consents:      db.NewConsentService(d),
			Users:         users,
			Deals:         db.NewDealService(d),
			Conversations: conversations,
			Events:        db.NewEventService(d, hub),
			Webhooks:      webhooks,
			Connections:   sync.connections,
			Hooks: &inbound.Receiver{Hooks: sync.connections, Registry: registry(), Conversations: conversations,
				Contacts: contacts, Users: users, HTTPClient: connectorClient(cfg, tp), Log: log},
			Sync: sync.syncs,
			ChatWindows: &chatwindow.Service{Connections: sync.connections, Users: users, Contacts: contacts,
				Registry: registry(), HTTPClient: connectorClient(cfg, tp)},
			MaxSubscriptions: cfg.MaxSubscriptions,
			ReadScope:        d.ReadScope,
			Idempotency:      db.NewIdempotencyService(d),
			Ready:            d.Ping,
			Introspection:    cfg.Introspection,
			ComplexityLimit:  cfg.ComplexityLimit,
			RateLimitPoints:  cfg.RateLimitPoints,
			PersistedQueries: persisted,
			CORSOrigins:      cfg.CORSOrigins,
			TracerProvider:   tp,
			Logger:           log,

			// Only a development server's link may hand GraphiQL a key.
			GraphiQLDevKeyLink: cfg.DevKey,
		},
		hub:   hub,
		auth:  auth,
		river: riv,
		loops: []backgroundLoop{
			db.NewOutbox(conversations, outboxInterval, log),
			db.NewWebhookDispatcher(webhooks, dispatchInterval),
			db.NewRetention(d, cfg.EventRetention, retentionInterval, log),
			db.NewSyncScheduler(sync.syncs, scheduleInterval, log),
			db.NewSyncTakeover(sync.syncs, log),
			sync.connections.HookLoop(&inbound.Registrar{Registry: registry(), HTTPClient: connectorClient(cfg, tp)},
				hookInterval, log),
		},
		log: log,
	}, nil
}

// secretSealer builds the at-rest encryption from CRMHUB_SECRET_KEY, or in
// development (--dev-key without a key) from a fixed, published key.
func secretSealer(cfg Config, log *slog.Logger) (*db.Sealer, error) {
	if cfg.SecretKey == "" {
		if !cfg.DevKey {
			return nil, errors.New("CRMHUB_SECRET_KEY is not set: it encrypts webhook secrets and connection API keys at rest " +
				"(run `crmhub secret-key` to make one, and keep it: losing it means rotating every webhook secret and re-entering every connection's key)")
		}
		log.Warn("CRMHUB_SECRET_KEY is not set: using the fixed development key; do not use this database in production")
		return db.NewDevSealer(), nil
	}
	key, err := db.ParseSecretKey(cfg.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("CRMHUB_SECRET_KEY: %w", err)
	}
	return db.NewSealer(key)
}

// start runs the background loops; the hub listens before start returns,
// so subscriptions opened right after see every event.
func (a *app) start(ctx context.Context) error {
	ctx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	a.hubDone = make(chan struct{})
	go func() { a.hub.Run(ctx); close(a.hubDone) }()
	select {
	case <-a.hub.Listening():
	case <-time.After(30 * time.Second):
		a.cancel()
		return errors.New("event listener did not start within 30s")
	}
	if err := a.river.Start(ctx); err != nil {
		a.cancel()
		return err
	}
	for _, l := range a.loops {
		l.Start(ctx)
	}
	return nil
}

// stop ends the loops: new work first, then the workers, then the
// listener (which ends the subscriptions).
func (a *app) stop(ctx context.Context) {
	for _, l := range slices.Backward(a.loops) {
		l.Stop()
	}
	if err := a.river.Stop(ctx); err != nil {
		a.log.Warn("river did not stop cleanly", "err", err)
	}
	a.cancel()
	<-a.hubDone
	a.auth.Wait() // the last requests' key-use writes, before the database closes
}
