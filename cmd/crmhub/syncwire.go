package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/syncer"
	"github.com/crmhub/crmhub/connectors/wazapin"
	"github.com/crmhub/crmhub/connectors/wazelo"
	"github.com/crmhub/crmhub/connectors/wazera"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/internal/safehttp"
	"github.com/crmhub/crmhub/internal/telemetry"
	"go.opentelemetry.io/otel/trace"
)

// connectorTimeout bounds one request to an external CRM.
const connectorTimeout = 30 * time.Second

// registry lists the connectors this binary has. It is built here, in
// one place: no connector package registers itself.
func registry() connectors.Registry {
	return connectors.Registry{
		crmhub.ConnectorWazzup:  wazzup.NewConnector,
		crmhub.ConnectorWazapin: wazapin.NewConnector,
		crmhub.ConnectorWazelo:  wazelo.NewConnector,
		crmhub.ConnectorWazera:  wazera.NewConnector,
	}
}

// syncParts are the services sync needs, shared by serve and `crmhub sync`.
type syncParts struct {
	connections *db.ConnectionService
	syncs       *db.SyncService
	engine      *syncer.Engine
}

// newSync builds the connection and sync services and the engine that
// works runs through the domain services, keeping its state in the sync
// service.
func newSync(d *db.DB, cfg Config, sealer *db.Sealer, tp trace.TracerProvider, log *slog.Logger) (*syncParts, error) {
	conns := db.NewConnectionService(d, db.ConnectionConfig{Sealer: sealer, AllowPrivate: cfg.ConnectorAllowPrivate,
		PublicURL: cfg.PublicURL})
	syncs, err := db.NewSyncService(d, db.SyncConfig{Workers: cfg.SyncWorkers, Lease: cfg.SyncLease, Log: log})
	if err != nil {
		return nil, err
	}
	engine := syncer.New(syncs, syncer.Config{
		Connections: conns,
		Registry:    registry(),
		Contacts:    db.NewContactService(d),
		Deals:       db.NewDealService(d),
		Users:       db.NewUserService(d),
		Consents:    db.NewConsentService(d),
		HTTPClient:  connectorClient(cfg, tp),
		Log:         log,
	})
	return &syncParts{connections: conns, syncs: syncs, engine: engine}, nil
}

// connectorClient is the HTTP client of the calls to external CRMs: it
// refuses private addresses unless allowed, and with a TracerProvider
// (tracing on) each call is a span.
func connectorClient(cfg Config, tp trace.TracerProvider) *http.Client {
	return telemetry.Client(tp, safehttp.NewClient(connectorTimeout, cfg.ConnectorAllowPrivate))
}
