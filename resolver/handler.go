package resolver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/graph"
	"github.com/crmhub/crmhub/internal/graphiql"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Config is what the handler needs; cmd/crmhub fills it.
type Config struct {
	Contacts      crmhub.ContactService
	Auth          crmhub.AuthService
	APIKeys       crmhub.APIKeyService
	Workspaces    crmhub.WorkspaceService
	Consents      crmhub.ConsentService
	Users         crmhub.UserService
	Deals         crmhub.DealService
	Conversations crmhub.ConversationService
	Events        crmhub.EventService
	Webhooks      crmhub.WebhookService
	// ReadScope, when set, opens one read transaction shared by all the
	// reads of a query operation (db.DB.ReadScope).
	ReadScope func(context.Context) (context.Context, func(), error)
	// Hooks, when set, serves POST /hooks/{connectionId}: inbound webhooks
	// of external CRMs (connectors/inbound.Receiver). They authenticate by
	// the connection's webhook secret, not by an API key.
	Hooks       http.Handler
	Connections crmhub.ConnectionService
	Sync        crmhub.SyncService
	// ChatWindows, when set, serves Connection.chatWindowUrl
	// (connectors/chatwindow.Service); without it the field is null.
	ChatWindows crmhub.ChatWindowService
	// Clock judges time-dependent fields (Suppression.active); it must be
	// the services' clock. nil means the system clock.
	Clock crmhub.Clock
	// MaxSubscriptions bounds the subscriptions of one websocket (0: 20).
	MaxSubscriptions int
	Ready            func(context.Context) error // /readyz
	Gatherer         prometheus.Gatherer         // /metrics (nil: prometheus.DefaultGatherer)
	Registerer       prometheus.Registerer       // nil: a fresh registry per handler is fine, but don't panic on double registration in tests

	// Idempotency, when set, keeps the answers of mutations sent with an
	// Idempotency-Key (db.IdempotencyService).
	Idempotency crmhub.IdempotencyService
	// PersistedQueries, when set, is the allow-list of documents the
	// server runs (production lock-down); without it any client may use
	// automatic persisted queries.
	PersistedQueries PersistedQueries
	// RateLimitPoints is each API key's (and each hook URL's) budget of
	// points per minute; a request costs one point plus one per 100 of
	// query complexity. 0 turns rate limiting off.
	RateLimitPoints int

	// TracerProvider, when set, traces every HTTP request (a server span,
	// continuing the caller's trace context) and every GraphQL operation
	// (a span within it). nil: nothing is traced.
	TracerProvider trace.TracerProvider
	// GraphiQLDevKeyLink lets GraphiQL take its API key from the link that
	// serve --dev-key prints (#apiKey=...); development only.
	GraphiQLDevKeyLink bool

	Introspection   bool
	ComplexityLimit int // 0 means 50,000
	CORSOrigins     []string
	Logger          *slog.Logger
}

// Limits of the HTTP surface.
const (
	defaultComplexityLimit = 50000
	queryCacheSize         = 1000
	apqCacheSize           = 100
	// wsPingInterval keeps idle sockets open through proxies that drop
	// silent connections, and finds dead peers.
	wsPingInterval = 25 * time.Second
	wsInitTimeout  = 10 * time.Second
	readyTimeout   = 2 * time.Second
)

// NewHandler returns the HTTP handler of the whole API:
//
//	POST, GET /graphql   GraphQL over HTTP (Bearer key required)
//	WS /graphql          graphql-transport-ws (key in connection_init)
//	GET /                GraphiQL (internal/graphiql; its files under /graphiql/assets/)
//	GET /healthz         200 "ok" while the process runs
//	GET /readyz          200 when cfg.Ready succeeds, else 503
//	GET /metrics         Prometheus
func NewHandler(cfg Config) *Handler {
	r, ws := newRouter(cfg)
	h := &Handler{Handler: r, ws: ws}
	if cfg.TracerProvider != nil {
		h.Handler = otelhttp.NewHandler(r, "crmhub", otelhttp.WithTracerProvider(cfg.TracerProvider),
			otelhttp.WithPropagators(propagation.TraceContext{}))
	}
	return h
}

// Handler is the API's HTTP handler (NewHandler). Its websockets outlive
// their requests, so http.Server.Shutdown, which forgets hijacked
// connections, neither closes nor waits for them: Shutdown does.
type Handler struct {
	http.Handler
	ws *wsTransport
}

// Shutdown closes every open websocket with 1001 (going away), which
// graphql-ws clients take as a cue to reconnect, elsewhere once this
// process has stopped listening, and resume from their cursor. It returns
// once the sockets and their operations have ended, or with ctx's error.
// Upgrades from then on are refused with 503. Call it after
// http.Server.Shutdown, before closing what the operations use (the event
// hub, the database).
func (h *Handler) Shutdown(ctx context.Context) error { return h.ws.shutdown(ctx) }

func newRouter(cfg Config) (http.Handler, *wsTransport) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	reg, gatherer := registries(cfg.Registerer, cfg.Gatherer)
	m := newMetrics(reg)

	r := chi.NewRouter()
	r.Use(requestID, m.observe(log), cors(cfg.CORSOrigins))
	r.Method(http.MethodGet, "/", graphiql.Page(graphiql.Config{Endpoint: "/graphql", DevKeyLink: cfg.GraphiQLDevKeyLink}))
	r.Method(http.MethodGet, graphiql.AssetPath+"*", graphiql.Assets())
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok")
	})
	r.Get("/readyz", readyz(cfg.Ready, log))
	r.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	limits := newRateLimits(cfg.RateLimitPoints, nil)
	gql, ws := newGraphQLServer(cfg, m, log, limits)
	r.With(authenticate(cfg.Auth, log), withSocket).Handle("/graphql", gql)
	if cfg.Hooks != nil {
		r.Handle("/hooks/{connectionId}", limitHooks(limits, cfg.Hooks))
	}
	return r, ws
}

// newGraphQLServer builds the gqlgen server by hand (NewDefaultServer is
// deprecated and would enable introspection unconditionally). The
// websocket transport comes first: the HTTP transports would otherwise
// claim GET upgrade requests.
func newGraphQLServer(cfg Config, m *metrics, log *slog.Logger, limits *rateLimits) (*handler.Server, *wsTransport) {
	res := &Resolver{Contacts: cfg.Contacts, APIKeys: cfg.APIKeys, Workspaces: cfg.Workspaces,
		Consents: cfg.Consents, Users: cfg.Users, Deals: cfg.Deals, Conversations: cfg.Conversations,
		Events: cfg.Events, Webhooks: cfg.Webhooks, Connections: cfg.Connections, Sync: cfg.Sync, ChatWindows: cfg.ChatWindows,
		Clock: cfg.Clock}
	if res.Clock == nil {
		res.Clock = crmhub.SystemClock{}
	}
	es := newPagedCost(graph.NewExecutableSchema(graph.Config{
		Resolvers:  res,
		Directives: graph.DirectiveRoot{HasScope: hasScope},
	}))
	srv := handler.New(es)
	srv.SetParserTokenLimit(maxTokens)
	wsInitFunc := withSubscriptionLimit(wsKeyWatch(wsInit(cfg.Auth, log), cfg.Auth, log), cfg.MaxSubscriptions)
	ws := &wsTransport{
		// Clients of the older graphql-ws protocol.
		legacy: transport.Websocket{
			Implementation: wsImplementation{transport.CoderWebsocketImplementation{
				AcceptOptions: websocket.AcceptOptions{OriginPatterns: cfg.CORSOrigins},
			}},
			InitFunc:              wsInitFunc,
			InitTimeout:           wsInitTimeout,
			KeepAlivePingInterval: wsPingInterval,
			ErrorFunc: func(ctx context.Context, err error) {
				log.DebugContext(ctx, "websocket", "err", err)
			},
		},
		accept:       websocket.AcceptOptions{OriginPatterns: cfg.CORSOrigins},
		init:         wsInitFunc,
		initTimeout:  wsInitTimeout,
		pingInterval: wsPingInterval,
		log:          log,
		sockets:      m.websockets,
	}
	srv.AddTransport(ws)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(httpTransport{limits: limits, idem: cfg.Idempotency, log: log})

	srv.SetQueryCache(lru.New[*ast.QueryDocument](queryCacheSize))
	if cfg.Introspection {
		useExtension(srv, extension.Introspection{})
	}
	if cfg.PersistedQueries != nil {
		useExtension(srv, allowList{docs: cfg.PersistedQueries})
	} else {
		useExtension(srv, extension.AutomaticPersistedQuery{Cache: lru.New[string](apqCacheSize)})
	}
	useExtension(srv, newDocumentLimits()) // after APQ has put the document in place
	limit := cfg.ComplexityLimit
	if limit <= 0 {
		limit = defaultComplexityLimit
	}
	useExtension(srv, extension.FixedComplexityLimit(limit))
	if limits != nil {
		useExtension(srv, rateLimitExtension{limits: limits}) // after the complexity is known
	}
	useExtension(srv, queryLimits{maxDepth: maxDepth, introspection: cfg.Introspection})

	if cfg.TracerProvider != nil {
		useExtension(srv, tracing{tracer: cfg.TracerProvider.Tracer(tracerName)})
	}
	srv.SetErrorPresenter(errorPresenter(log))
	srv.SetRecoverFunc(recoverFunc(log))
	srv.AroundOperations(m.operationMetrics)
	srv.AroundOperations(loaderMiddleware(res))
	if cfg.ReadScope != nil {
		srv.AroundResponses(readScopeMiddleware(cfg.ReadScope, log))
	}
	return srv, ws
}

// useExtension adds a handler extension to srv. It refuses one that
// intercepts fields: the generated executor marshals fields read straight
// from struct fields without running the field middleware
// (cmd/crmhub-generate), so such an extension would miss them.
func useExtension(srv *handler.Server, ext graphql.HandlerExtension) {
	if _, ok := ext.(graphql.FieldInterceptor); ok {
		panic(fmt.Sprintf("resolver: %s intercepts fields, which the generated executor skips for plain struct fields", ext.ExtensionName()))
	}
	srv.Use(ext)
}

// registries picks where metrics are registered and where /metrics reads
// them. Without a Registerer the handler gets its own registry (tests build
// many handlers), served next to the default one so that the Go runtime
// and process metrics still appear.
func registries(reg prometheus.Registerer, g prometheus.Gatherer) (prometheus.Registerer, prometheus.Gatherer) {
	if reg == nil {
		own := prometheus.NewRegistry()
		reg = own
		if g == nil {
			g = prometheus.Gatherers{prometheus.DefaultGatherer, own}
		}
	}
	if g == nil {
		g = prometheus.DefaultGatherer
		if own, ok := reg.(prometheus.Gatherer); ok && reg != prometheus.DefaultRegisterer {
			g = prometheus.Gatherers{prometheus.DefaultGatherer, own}
		}
	}
	return reg, g
}

func readyz(ready func(context.Context) error, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			if err := ready(ctx); err != nil {
				log.WarnContext(r.Context(), "not ready", "err", err)
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "not ready")
				return
			}
		}
		io.WriteString(w, "ok")
	}
}

// defaultMaxSubscriptions bounds the subscriptions of one websocket.
const defaultMaxSubscriptions = 20

// withSubscriptionLimit gives each authenticated socket its own count of
// live subscriptions, capped at max (0: defaultMaxSubscriptions).
func withSubscriptionLimit(init transport.WebsocketInitFunc, max int) transport.WebsocketInitFunc {
	if max <= 0 {
		max = defaultMaxSubscriptions
	}
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		ctx, ack, err := init(ctx, payload)
		if err != nil {
			return ctx, ack, err
		}
		return withSubLimit(ctx, max), ack, nil
	}
}

// readScopeMiddleware runs each query operation in one shared read
// transaction: a query's many reads then cost one BEGIN and tenant setting
// instead of one per read. Mutations and subscriptions keep their own
// transactions. If the scope cannot be opened, the reads open their own.
func readScopeMiddleware(open func(context.Context) (context.Context, func(), error), log *slog.Logger) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		if !graphql.HasOperationContext(ctx) {
			return next(ctx)
		}
		oc := graphql.GetOperationContext(ctx)
		if oc.Operation == nil || oc.Operation.Operation != ast.Query {
			return next(ctx)
		}
		sctx, end, err := open(ctx)
		if err != nil {
			log.WarnContext(ctx, "read scope not opened; reads use their own transactions", "err", err)
			return next(ctx)
		}
		defer end()
		return next(sctx)
	}
}
