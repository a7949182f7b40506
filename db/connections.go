package db

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

var _ crmhub.ConnectionService = (*ConnectionService)(nil)

// ConnectionConfig configures connections.
type ConnectionConfig struct {
	// Sealer encrypts the remote API keys at rest. Required.
	Sealer *Sealer
	// AllowPrivate lets base URLs resolve to loopback, private, link-local
	// and other non-public addresses (as WebhookConfig.AllowPrivate does
	// for endpoints). Off, such URLs are refused when saved.
	AllowPrivate bool
	// PublicURL is the base URL at which CRMs reach this server
	// (CRMHUB_PUBLIC_URL), without a trailing slash. Set, connections to
	// CRMs that can register webhooks have the hub's hook URL registered
	// there (see HookLoop); empty, hooks are set up by hand.
	PublicURL string
}

// ConnectionService implements crmhub.ConnectionService: connections to
// external CRMs with their API keys sealed, and Open, through which the
// sync engine reads a key back.
type ConnectionService struct {
	db  *DB
	cfg ConnectionConfig
	// hookWake wakes this process's HookLoop, when it runs one.
	hookWake atomic.Pointer[func()]
}

// NewConnectionService returns the service. It panics without a Sealer:
// API keys are never stored in plaintext.
func NewConnectionService(d *DB, cfg ConnectionConfig) *ConnectionService {
	if cfg.Sealer == nil {
		panic("db: NewConnectionService: a Sealer (secret key) is required")
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &ConnectionService{db: d, cfg: cfg}
}

type connectionRow struct {
	bun.BaseModel `bun:"table:connections"`

	WorkspaceID     uuid.UUID      `bun:"workspace_id,pk,type:uuid"`
	ID              uuid.UUID      `bun:"id,pk,type:uuid"`
	Kind            string         `bun:"kind"`
	Name            string         `bun:"name"`
	BaseURL         string         `bun:"base_url"`
	APIKey          []byte         `bun:"api_key"`
	Direction       string         `bun:"direction"`
	Entities        []string       `bun:"entities,array"`
	Options         map[string]any `bun:"options,type:jsonb"`
	Enabled         bool           `bun:"enabled"`
	ScheduleSeconds int            `bun:"schedule_seconds"`
	RateLimit       int            `bun:"rate_limit_per_minute"`
	ConflictPolicy  string         `bun:"conflict_policy"`
	PushPosition    int64          `bun:"push_position"`
	LastSyncAt      *time.Time     `bun:"last_sync_at"`
	CreatedAt       time.Time      `bun:"created_at"`
	UpdatedAt       time.Time      `bun:"updated_at"`
	// The registration of the hook URL at the CRM (hook_registration.go).
	HookStatus    string     `bun:"hook_status"`
	HookNote      *string    `bun:"hook_note"`
	HookURL       *string    `bun:"hook_url"`
	HookRemoteID  *string    `bun:"hook_remote_id"`
	HookAttempts  int        `bun:"hook_attempts"`
	HookDueAt     *time.Time `bun:"hook_due_at"`
	HookUpdatedAt *time.Time `bun:"hook_updated_at"`
}

// connectionColumns are those a read needs: all but the sealed key, which
// only Open and the writes touch.
var connectionColumns = []string{"workspace_id", "id", "kind", "name", "base_url", "direction", "entities", "options",
	"enabled", "schedule_seconds", "rate_limit_per_minute", "conflict_policy", "push_position", "last_sync_at", "created_at", "updated_at",
	"hook_status", "hook_note", "hook_url", "hook_remote_id", "hook_attempts", "hook_due_at", "hook_updated_at"}

func (r *connectionRow) domain() *crmhub.Connection {
	c := &crmhub.Connection{ID: r.ID, Kind: crmhub.ConnectorKind(r.Kind), Name: r.Name, BaseURL: r.BaseURL,
		Direction: crmhub.SyncDirection(r.Direction), Entities: make([]crmhub.SyncEntity, len(r.Entities)),
		Options: r.Options, Enabled: r.Enabled, Schedule: time.Duration(r.ScheduleSeconds) * time.Second,
		RateLimit: r.RateLimit, ConflictPolicy: crmhub.ConflictPolicy(r.ConflictPolicy), LastSyncAt: r.LastSyncAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Hook: crmhub.HookState{Status: crmhub.HookStatus(r.HookStatus), URL: r.HookURL, Note: r.HookNote,
			Attempts: r.HookAttempts, NextAttemptAt: r.HookDueAt, UpdatedAt: r.HookUpdatedAt}}
	if c.Hook.Status == "" {
		c.Hook.Status = crmhub.HookManual
	}
	for i, e := range r.Entities {
		c.Entities[i] = crmhub.SyncEntity(e)
	}
	if c.Options == nil {
		c.Options = map[string]any{}
	}
	return c
}

// set copies the settings of c into the row.
func (r *connectionRow) set(c *crmhub.Connection) {
	r.Name, r.BaseURL, r.Direction, r.Enabled = c.Name, c.BaseURL, string(c.Direction), c.Enabled
	r.Entities = make([]string, len(c.Entities))
	for i, e := range c.Entities {
		r.Entities[i] = string(e)
	}
	r.Options = c.Options
	if r.Options == nil {
		r.Options = map[string]any{}
	}
	r.ScheduleSeconds, r.RateLimit = int(c.Schedule/time.Second), c.RateLimit
	r.ConflictPolicy = string(c.ConflictPolicy)
}

// apiKeyAAD binds a sealed API key to its connection.
func apiKeyAAD(ws, id uuid.UUID) []byte { return rowAAD("connections", ws, id) }

// checkBaseURL refuses, unless private addresses are allowed, a base URL
// whose host is not public. A URL without a host passes: the shape is
// crmhub.ConnectionInput.Validate's to judge.
func (s *ConnectionService) checkBaseURL(ctx context.Context, raw string) error {
	if s.cfg.AllowPrivate {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return nil
	}
	return checkPublicHost(ctx, "baseUrl", u.Hostname())
}

// CreateConnection stores a connection with its API key sealed. The
// connection pushes the hub changes committed after it was created.
func (s *ConnectionService) CreateConnection(ctx context.Context, in crmhub.ConnectionInput) (*crmhub.Connection, error) {
	if _, err := crmhub.Require(ctx, crmhub.ScopeConnectorsManage); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkBaseURL(ctx, in.BaseURL); err != nil {
		return nil, err
	}
	c := &crmhub.Connection{Kind: in.Kind, Name: in.Name, BaseURL: in.BaseURL, Direction: in.Direction,
		Entities: in.Entities, Options: in.Options, Enabled: *in.Enabled, Schedule: in.Schedule, RateLimit: in.RateLimit,
		ConflictPolicy: in.ConflictPolicy}
	row := &connectionRow{ID: newID(), Kind: string(in.Kind)}
	row.set(c)
	err := s.db.write(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		if err := t.NewRaw("SELECT event_seq FROM workspaces WHERE id = ?", t.ws).Scan(ctx, &row.PushPosition); err != nil {
			return fmt.Errorf("db: read event position: %w", err)
		}
		row.WorkspaceID, row.CreatedAt, row.UpdatedAt = t.ws, t.now, t.now
		row.APIKey = s.cfg.Sealer.seal([]byte(in.APIKey), apiKeyAAD(t.ws, row.ID))
		s.initialHook(row, t.now)
		if _, err := t.NewInsert().Model(row).Exec(ctx); err != nil {
			return fmt.Errorf("db: insert connection: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, passOrWrap(err, "create connection")
	}
	s.wakeHooks()
	return row.domain(), nil
}

// UpdateConnection applies a patch; a new API key replaces the sealed one.
func (s *ConnectionService) UpdateConnection(ctx context.Context, id uuid.UUID, patch crmhub.ConnectionPatch) (*crmhub.Connection, error) {
	if _, err := crmhub.Require(ctx, crmhub.ScopeConnectorsManage); err != nil {
		return nil, err
	}
	if patch.BaseURL != nil {
		if err := s.checkBaseURL(ctx, *patch.BaseURL); err != nil {
			return nil, err
		}
	}
	var row connectionRow
	rehook := false
	err := s.db.write(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		err := t.NewSelect().Model(&row).Column(slices.Concat(connectionColumns, []string{"api_key"})...).
			Where("workspace_id = ? AND id = ?", t.ws, id).For("UPDATE").Scan(ctx)
		if err != nil {
			return notFound(err, crmhub.KindConnection, "load connection")
		}
		old := row
		c := row.domain()
		key, err := patch.Apply(c)
		if err != nil {
			return err
		}
		row.set(c)
		row.UpdatedAt = t.now
		cols := []string{"name", "base_url", "direction", "entities", "options", "enabled", "schedule_seconds",
			"rate_limit_per_minute", "conflict_policy", "updated_at"}
		hookCols, err := s.rehook(ctx, t, &old, &row, key != nil)
		if err != nil {
			return err
		}
		cols, rehook = append(cols, hookCols...), len(hookCols) > 0
		if key != nil {
			row.APIKey = s.cfg.Sealer.seal([]byte(*key), apiKeyAAD(t.ws, row.ID))
			cols = append(cols, "api_key")
		}
		_, err = t.NewUpdate().Model(&row).Column(cols...).WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return nil, passOrWrap(err, "update connection")
	}
	if rehook {
		s.wakeHooks()
	}
	return row.domain(), nil
}

// DeleteConnection deletes a connection; its runs, links and conflicts go
// with it (foreign keys cascade), hub records stay.
func (s *ConnectionService) DeleteConnection(ctx context.Context, id uuid.UUID) (*crmhub.Connection, error) {
	var row connectionRow
	err := s.db.write(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		_, err := t.NewDelete().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).
			Returning(strings.Join(connectionColumns, ", ")+", api_key").Exec(ctx, &row)
		if err == nil && row.ID == uuid.Nil {
			err = errNoRows
		}
		if err != nil {
			return notFound(err, crmhub.KindConnection, "delete connection")
		}
		return queueRemoval(ctx, t, &row)
	})
	if err != nil {
		return nil, passOrWrap(err, "delete connection")
	}
	if row.HookURL != nil {
		s.wakeHooks()
	}
	return row.domain(), nil
}

// Connection returns one connection.
func (s *ConnectionService) Connection(ctx context.Context, id uuid.UUID) (*crmhub.Connection, error) {
	var row connectionRow
	err := s.db.read(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		if err := t.NewSelect().Model(&row).Column(connectionColumns...).Where("workspace_id = ? AND id = ?", t.ws, id).Scan(ctx); err != nil {
			return notFound(err, crmhub.KindConnection, "get connection")
		}
		return nil
	})
	if err != nil {
		return nil, passOrWrap(err, "get connection")
	}
	return row.domain(), nil
}

// ConnectionsByIDs returns connections in the order of ids, nil where
// missing.
func (s *ConnectionService) ConnectionsByIDs(ctx context.Context, ids []uuid.UUID) ([]*crmhub.Connection, error) {
	var rows []connectionRow
	err := s.db.read(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model(&rows).Column(connectionColumns...).
			Where("workspace_id = ? AND id = ANY(?)", t.ws, pgdialect.Array(ids)).Scan(ctx)
	})
	if err != nil {
		return nil, passOrWrap(err, "connections by id")
	}
	return inOrder(ids, rows, func(r *connectionRow) (uuid.UUID, *crmhub.Connection) { return r.ID, r.domain() }), nil
}

// connectionOrder is the cursor order of connection pages.
const connectionOrder = "conn"

// Connections lists connections, oldest first (ids are UUIDv7).
func (s *ConnectionService) Connections(ctx context.Context, first int, after string) (*crmhub.ConnectionConnection, error) {
	n, cur, err := pageArgs(first, after, connectionOrder)
	if err != nil {
		return nil, err
	}
	var rows []connectionRow
	err = s.db.read(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		q := t.NewSelect().Model(&rows).Column(connectionColumns...).Where("workspace_id = ?", t.ws)
		return byID(q, cur, n, false).Scan(ctx)
	})
	if err != nil {
		return nil, passOrWrap(err, "list connections")
	}
	es, info := edges(rows, n, cur != nil, idCursor(connectionOrder, func(r *connectionRow) uuid.UUID { return r.ID }),
		func(c string, r *connectionRow) *crmhub.ConnectionEdge {
			return &crmhub.ConnectionEdge{Cursor: c, Node: r.domain()}
		})
	return &crmhub.ConnectionConnection{Edges: es, PageInfo: info}, nil
}

// CountConnections counts the workspace's connections.
func (s *ConnectionService) CountConnections(ctx context.Context) (int, error) {
	return s.db.count(ctx, crmhub.ScopeConnectorsManage, func(t *tx) *bun.SelectQuery {
		return t.NewSelect().Model((*connectionRow)(nil)).Where("workspace_id = ?", t.ws)
	})
}

// Open returns a connection of workspace ws with its API key in plaintext.
// It checks no principal: it is for the sync engine, which works for the
// workspace itself, and must never be reachable from the API. ENOTFOUND;
// an error wrapping crmhub.ErrSecretUnreadable when this process's secret
// key cannot decrypt the stored API key.
func (s *ConnectionService) Open(ctx context.Context, ws, id uuid.UUID) (*crmhub.Connection, string, error) {
	var row connectionRow
	err := s.db.inWorkspace(ctx, ws, "system", true, func(ctx context.Context, t *tx) error {
		if err := t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).Scan(ctx); err != nil {
			return notFound(err, crmhub.KindConnection, "open connection")
		}
		return nil
	})
	if err != nil {
		return nil, "", passOrWrap(err, "open connection")
	}
	key, err := s.cfg.Sealer.open(row.APIKey, apiKeyAAD(ws, id))
	if err != nil {
		return nil, "", fmt.Errorf("db: open API key of %s: %w: %w", crmhub.GlobalID(crmhub.KindConnection, id),
			crmhub.ErrSecretUnreadable, err)
	}
	return row.domain(), string(key), nil
}
