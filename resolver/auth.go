package resolver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/internal/reqlog"
)

// Websocket close codes of the graphql-transport-ws protocol.
const (
	closeUnauthorized = 4401
	closeInternal     = 4500
)

// authenticate is the HTTP side of auth: every /graphql request carries
// "Authorization: Bearer <key>"; the principal goes into the context for
// the services. Two requests pass without a key: CORS preflights and
// OPTIONS (they carry no data), and websocket upgrades, because browsers
// cannot set headers on them; a socket authenticates in connection_init
// (wsInit) before any operation runs.
func authenticate(auth crmhub.AuthService, log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodOptions || isWebsocket(r) {
				next.ServeHTTP(w, r)
				return
			}
			if r.ContentLength != 0 {
				// An answer before the body is read: close rather than
				// wait for a body nobody will read (a client sending it
				// slowly would otherwise never see its 401).
				w.Header().Set("Connection", "close")
			}
			token, ok := bearer(r.Header.Get("Authorization"))
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="crmhub"`)
				writeError(w, http.StatusUnauthorized, crmhub.EUNAUTHENTICATED,
					`an API key is required: send "Authorization: Bearer <key>"`)
				return
			}
			p, err := auth.Authenticate(r.Context(), token)
			if err != nil {
				if crmhub.ErrorCode(err) != crmhub.EUNAUTHENTICATED {
					log.ErrorContext(r.Context(), "auth: authenticate", "err", err)
					writeError(w, http.StatusInternalServerError, crmhub.EINTERNAL, "internal error")
					return
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="crmhub", error="invalid_token"`)
				writeError(w, http.StatusUnauthorized, crmhub.EUNAUTHENTICATED, crmhub.ErrorMessage(err))
				return
			}
			w.Header().Del("Connection")
			if info := reqlog.From(r.Context()); info != nil {
				info.SetPrincipal(p)
			}
			next.ServeHTTP(w, r.WithContext(crmhub.NewContext(r.Context(), p)))
		})
	}
}

func isWebsocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// bearer extracts the key from an Authorization value. The scheme is
// case-insensitive (RFC 9110).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// wsInit authenticates a websocket from its connection_init payload:
// {"Authorization": "Bearer <key>"}, or the key (with or without "Bearer ")
// under "authToken" or "apiKey". A missing or bad key closes the socket with
// 4401 before any operation can run.
func wsInit(auth crmhub.AuthService, log *slog.Logger) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		token := ""
		for _, k := range []string{"Authorization", "authorization", "authToken", "apiKey"} {
			if v := strings.TrimSpace(payload.GetString(k)); v != "" {
				token = v
				break
			}
		}
		if t, ok := bearer(token); ok {
			token = t
		}
		if token == "" {
			return unauthorized(ctx), nil, unauthorizedError("unauthenticated: connection_init must carry an API key")
		}
		p, err := auth.Authenticate(ctx, token)
		if err != nil {
			if crmhub.ErrorCode(err) != crmhub.EUNAUTHENTICATED {
				log.ErrorContext(ctx, "auth: authenticate websocket", "err", err)
				ctx = transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, closeInternal), "Internal error")
				return ctx, nil, &wsCloseError{code: closeInternal, reason: "Internal error", err: errors.New("internal error")}
			}
			return unauthorized(ctx), nil, unauthorizedError("unauthenticated: " + crmhub.ErrorMessage(err))
		}
		ctx = context.WithValue(ctx, wsTokenKey{}, token)
		return crmhub.NewContext(ctx, p), nil, nil
	}
}

// unauthorizedError closes the socket with 4401 on wsTransport (gqlgen's
// transport reads the code from the context, unauthorized).
func unauthorizedError(msg string) error {
	return &wsCloseError{code: closeUnauthorized, reason: "Unauthorized", err: errors.New(msg)}
}

func unauthorized(ctx context.Context) context.Context {
	return transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, closeUnauthorized), "Unauthorized")
}

// hasScope implements @hasScope: the field runs only for a key holding the
// scope (or admin). The services check scopes again; this wall keeps a
// forbidden field from reaching them at all.
func hasScope(ctx context.Context, _ any, next graphql.Resolver, scope string) (any, error) {
	if _, err := crmhub.Require(ctx, crmhub.Scope(scope)); err != nil {
		return nil, err
	}
	return next(ctx)
}
