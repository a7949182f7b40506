// Package reqlog ties log lines to the request that caused them. The HTTP
// edge gives each request an id (the caller's X-Request-Id when it sent a
// sane one) and an Info in its context; Handler, wrapped around the
// process's slog handler, adds the id and the caller's workspace and API key
// to every line logged with that context, whichever package logs it.
package reqlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

// MaxIDLen is the longest request id taken from a caller.
const MaxIDLen = 128

// Info is what a request's log lines carry. The edge creates it before
// authentication and fills the principal in once the key is known, so that
// lines logged with the outer context (the access log) carry it too.
type Info struct {
	ID string

	mu        sync.Mutex
	principal *crmhub.Principal
}

// SetPrincipal records who the request acts for.
func (i *Info) SetPrincipal(p *crmhub.Principal) {
	i.mu.Lock()
	i.principal = p
	i.mu.Unlock()
}

// Principal returns who the request acts for, or nil before authentication.
func (i *Info) Principal() *crmhub.Principal {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.principal
}

type infoKey struct{}

// With returns ctx carrying info.
func With(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// From returns the request's Info, or nil outside a request.
func From(ctx context.Context) *Info {
	i, _ := ctx.Value(infoKey{}).(*Info)
	return i
}

// ID returns the request id of ctx, or "".
func ID(ctx context.Context) string {
	if i := From(ctx); i != nil {
		return i.ID
	}
	return ""
}

// ValidID reports whether a caller's request id may be used as ours: 1 to
// MaxIDLen visible ASCII characters, so it cannot forge log lines or
// headers.
func ValidID(id string) bool { return crmhub.VisibleASCII(id, MaxIDLen) }

// NewID returns a fresh request id: 16 random bytes in hex.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Handler adds request_id, workspace_id and api_key_id (or connection_id)
// to each record logged with a request's context.
type Handler struct {
	slog.Handler
}

// NewHandler wraps h.
func NewHandler(h slog.Handler) *Handler { return &Handler{Handler: h} }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	info := From(ctx)
	if info != nil {
		r.AddAttrs(slog.String("request_id", info.ID))
	}
	p := crmhub.FromContext(ctx)
	if p == nil && info != nil {
		p = info.Principal()
	}
	if p != nil {
		r.AddAttrs(slog.String("workspace_id", p.WorkspaceID.String()))
		if p.APIKeyID != uuid.Nil {
			r.AddAttrs(slog.String("api_key_id", p.APIKeyID.String()))
		}
		if p.ConnectionID != uuid.Nil {
			r.AddAttrs(slog.String("connection_id", p.ConnectionID.String()))
		}
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{Handler: h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{Handler: h.Handler.WithGroup(name)}
}
