package db

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/uptrace/bun"
)

var _ crmhub.WebhookService = (*WebhookService)(nil)

// webhookSecretPrefix starts every signing secret, as Standard Webhooks does.
const webhookSecretPrefix = "whsec_"

// webhookSecretBytes is the size of a signing key.
const webhookSecretBytes = 32

// DefaultWebhookQueue is the River queue of webhook deliveries.
const DefaultWebhookQueue = "webhooks"

// WebhookSender makes the attempts of deliveries over the network and
// says when to try again; package webhook has the one cmd/crmhub wires.
// The service keeps the deliveries, their attempts and their jobs.
type WebhookSender interface {
	// Send makes one attempt at time at: a POST of body to url as the
	// webhook webhookID, signed with each of keys. It returns the attempt
	// (its Error of any length) and the answer's Retry-After, for RetryWait.
	Send(ctx context.Context, url, webhookID string, body []byte, keys [][]byte, at time.Time) (crmhub.WebhookAttempt, string)
	// RetryWait is the wait at time now before the next attempt after
	// `failed` failed attempts, the last answered with Retry-After
	// retryAfter (or ""); false when the delivery has failed for good.
	RetryWait(failed int, retryAfter string, now time.Time) (time.Duration, bool)
	// Timeout bounds one Send.
	Timeout() time.Duration
}

// WebhookConfig configures outgoing webhooks.
type WebhookConfig struct {
	// Sealer encrypts signing secrets at rest. Required.
	Sealer *Sealer
	// Sender makes the delivery attempts. Required.
	Sender WebhookSender
	// AllowPrivate lets endpoints resolve to loopback, private, link-local
	// and other non-public addresses (CRMHUB_WEBHOOK_ALLOW_PRIVATE=true).
	// Off, such URLs are refused when saved; a Sender configured alike
	// (webhook.Config.AllowPrivate) refuses such addresses again when each
	// delivery connects, so DNS rebinding cannot reach them.
	AllowPrivate bool
	// Queue is the River queue deliveries run in (default DefaultWebhookQueue).
	Queue string
	// Workers is how many deliveries this process makes at once (default 20).
	Workers int
	Log     *slog.Logger
}

// WebhookService implements crmhub.WebhookService: endpoints, their sealed
// secrets, the deliveries a WebhookDispatcher creates and the River worker
// that makes them.
type WebhookService struct {
	db   *DB
	cfg  WebhookConfig
	jobs *river.Client[pgx.Tx] // insert-only
	// outcomes counts this process's delivery attempts; see DeliveryCounts.
	outcomes tally
}

// Outcomes of a delivery attempt, as DeliveryCounts names them.
const (
	outcomeDelivered = "delivered" // answered 2xx
	outcomeRetrying  = "retrying"  // failed, to be tried again
	outcomeFailed    = "failed"    // failed for good
	outcomeDisabled  = "disabled"  // its endpoint answered 410 Gone or was disabled: no attempt
)

// DeliveryCounts counts the delivery attempts this process recorded since
// it started, by outcome: delivered, retrying, failed, disabled (zeros
// included). cmd/crmhub exports them as a Prometheus counter.
func (s *WebhookService) DeliveryCounts() map[string]uint64 { return s.outcomes.counts() }

// NewWebhookService returns the service. Its deliveries run once a River
// built with NewRiver(db, ..., svc) is started, and are created from
// events by NewWebhookDispatcher(svc, ...).
func NewWebhookService(db *DB, cfg WebhookConfig) (*WebhookService, error) {
	if cfg.Sealer == nil {
		return nil, errors.New("db: webhooks: a Sealer (secret key) is required")
	}
	if cfg.Sender == nil {
		return nil, errors.New("db: webhooks: a Sender is required")
	}
	if cfg.Queue == "" {
		cfg.Queue = DefaultWebhookQueue
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	jobs, err := newRiverInserter(db)
	if err != nil {
		return nil, err
	}
	return &WebhookService{db: db, cfg: cfg, jobs: jobs,
		outcomes: newTally(outcomeDelivered, outcomeRetrying, outcomeFailed, outcomeDisabled)}, nil
}

type webhookEndpointRow struct {
	bun.BaseModel `bun:"table:webhook_endpoints"`

	WorkspaceID             uuid.UUID  `bun:"workspace_id,pk,type:uuid"`
	ID                      uuid.UUID  `bun:"id,pk,type:uuid"`
	URL                     string     `bun:"url"`
	Events                  []string   `bun:"events,array"`
	Description             *string    `bun:"description"`
	Enabled                 bool       `bun:"enabled"`
	DisabledReason          *string    `bun:"disabled_reason"`
	Secret                  []byte     `bun:"secret"`
	PreviousSecret          []byte     `bun:"previous_secret"`
	PreviousSecretExpiresAt *time.Time `bun:"previous_secret_expires_at"`
	FromPosition            int64      `bun:"from_position"`
	CreatedAt               time.Time  `bun:"created_at"`
	UpdatedAt               time.Time  `bun:"updated_at"`
}

func (r *webhookEndpointRow) domain() *crmhub.WebhookEndpoint {
	return &crmhub.WebhookEndpoint{ID: r.ID, URL: r.URL, Events: r.Events, Description: r.Description,
		Enabled: r.Enabled, DisabledReason: r.DisabledReason, PreviousSecretExpiresAt: r.PreviousSecretExpiresAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// secretAAD binds a sealed secret to its endpoint.
func secretAAD(ws, id uuid.UUID) []byte { return rowAAD("webhook_endpoints", ws, id) }

// newWebhookSecret returns a signing key and its shown form.
func newWebhookSecret() ([]byte, string) {
	key := make([]byte, webhookSecretBytes)
	rand.Read(key)
	return key, webhookSecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// CreateWebhookEndpoint registers an endpoint and returns its secret once.
func (s *WebhookService) CreateWebhookEndpoint(ctx context.Context, rawURL string, events []string, description *string) (*crmhub.WebhookEndpoint, string, error) {
	if _, err := crmhub.Require(ctx, crmhub.ScopeWebhooksManage); err != nil {
		return nil, "", err
	}
	u, err := s.checkURL(ctx, rawURL)
	if err != nil {
		return nil, "", err
	}
	if events, err = normalizeEventTypes(events); err != nil {
		return nil, "", err
	}
	if description, err = normalizeDescription(description); err != nil {
		return nil, "", err
	}
	key, secret := newWebhookSecret()
	row := &webhookEndpointRow{ID: newID(), URL: u, Events: events, Description: description, Enabled: true}
	err = s.db.write(ctx, crmhub.ScopeWebhooksManage, func(ctx context.Context, t *tx) error {
		seq, err := startDispatch(ctx, t)
		if err != nil {
			return err
		}
		row.WorkspaceID, row.FromPosition, row.CreatedAt, row.UpdatedAt = t.ws, seq, t.now, t.now
		row.Secret = s.cfg.Sealer.seal(key, secretAAD(t.ws, row.ID))
		if _, err := t.NewInsert().Model(row).Exec(ctx); err != nil {
			return fmt.Errorf("db: insert webhook endpoint: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, "", passOrWrap(err, "create webhook endpoint")
	}
	return row.domain(), secret, nil
}

// startDispatch returns the position of the workspace's last committed
// event, from which an endpoint being created or enabled receives events,
// and starts the dispatcher's cursor there if the workspace has none yet.
func startDispatch(ctx context.Context, t *tx) (int64, error) {
	var seq int64
	if err := t.NewRaw("SELECT event_seq FROM workspaces WHERE id = ?", t.ws).Scan(ctx, &seq); err != nil {
		return 0, fmt.Errorf("db: read event position: %w", err)
	}
	_, err := t.NewRaw("INSERT INTO webhook_cursors (workspace_id, position, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
		t.ws, seq, t.now).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("db: start webhook cursor: %w", err)
	}
	return seq, nil
}

// UpdateWebhookEndpoint applies a patch.
func (s *WebhookService) UpdateWebhookEndpoint(ctx context.Context, id uuid.UUID, patch crmhub.WebhookEndpointPatch) (*crmhub.WebhookEndpoint, error) {
	if _, err := crmhub.Require(ctx, crmhub.ScopeWebhooksManage); err != nil {
		return nil, err
	}
	var err error
	if patch.URL != nil {
		u, err := s.checkURL(ctx, *patch.URL)
		if err != nil {
			return nil, err
		}
		patch.URL = &u
	}
	if patch.Events != nil {
		if patch.Events, err = normalizeEventTypes(patch.Events); err != nil {
			return nil, err
		}
	}
	var desc *string
	if patch.Description != nil {
		if desc, err = normalizeDescription(patch.Description); err != nil {
			return nil, err
		}
	}
	var row webhookEndpointRow
	err = s.db.write(ctx, crmhub.ScopeWebhooksManage, func(ctx context.Context, t *tx) error {
		if err := t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).For("UPDATE").Scan(ctx); err != nil {
			return notFound(err, crmhub.KindWebhookEndpoint, "load webhook endpoint")
		}
		if patch.URL != nil {
			row.URL = *patch.URL
		}
		if patch.Events != nil {
			row.Events = patch.Events
		}
		if patch.Description != nil {
			row.Description = desc
		}
		if patch.Enabled != nil && *patch.Enabled != row.Enabled {
			row.Enabled, row.DisabledReason = *patch.Enabled, nil
			if row.Enabled {
				// Enabled again: deliver what commits from now on only.
				seq, err := startDispatch(ctx, t)
				if err != nil {
					return err
				}
				row.FromPosition = seq
			}
		}
		row.UpdatedAt = t.now
		_, err := t.NewUpdate().Model(&row).Column("url", "events", "description", "enabled", "disabled_reason",
			"from_position", "updated_at").WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return nil, passOrWrap(err, "update webhook endpoint")
	}
	return row.domain(), nil
}

// DeleteWebhookEndpoint deletes an endpoint and its deliveries.
func (s *WebhookService) DeleteWebhookEndpoint(ctx context.Context, id uuid.UUID) (*crmhub.WebhookEndpoint, error) {
	var row webhookEndpointRow
	err := s.db.write(ctx, crmhub.ScopeWebhooksManage, func(ctx context.Context, t *tx) error {
		_, err := t.NewDelete().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).Returning("*").Exec(ctx, &row)
		if err == nil && row.ID == uuid.Nil {
			err = errNoRows
		}
		if err != nil {
			return notFound(err, crmhub.KindWebhookEndpoint, "delete webhook endpoint")
		}
		return nil
	})
	if err != nil {
		return nil, passOrWrap(err, "delete webhook endpoint")
	}
	return row.domain(), nil
}

// WebhookEndpoint returns one endpoint.
func (s *WebhookService) WebhookEndpoint(ctx context.Context, id uuid.UUID) (*crmhub.WebhookEndpoint, error) {
	var row webhookEndpointRow
	err := s.db.read(ctx, crmhub.ScopeWebhooksManage, func(ctx context.Context, t *tx) error {
		if err := t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).Scan(ctx); err != nil {
			return notFound(err, crmhub.KindWebhookEndpoint, "get webhook endpoint")
		}
		return nil
	})
	if err != nil {
		return nil, passOrWrap(err, "get webhook endpoint")
	}
	return row.domain(), nil
}

// Cursor orders of webhook pages.
const (
	webhookEndpointOrder = "wh"
	webhookDeliveryOrder = "whd"
)

// WebhookEndpoints lists endpoints, oldest first (ids are UUIDv7).
func (s *WebhookService) WebhookEndpoints(ctx context.Context, first int, after string) (*crmhub.WebhookEndpointConnection, error) {
	n, cur, err := pageArgs(first, after, webhookEndpointOrder)
	if err != nil {
		return nil, err
	}
	var rows []webhookEndpointRow
	err = s.db.read(ctx, crmhub.ScopeWebhooksManage, func(ctx context.Context, t *tx) error {
		q := t.NewSelect().Model(&rows).Where("workspace_id = ?", t.ws)
		return byID(q, cur, n, false).Scan(ctx)
	})
	if err != nil {
		return nil, passOrWrap(err, "list webhook endpoints")
	}
	es, info := edges(rows, n, cur != nil, idCursor(webhookEndpointOrder, func(r *webhookEndpointRow) uuid.UUID { return r.ID }),
		func(c string, r *webhookEndpointRow) *crmhub.WebhookEndpointEdge {
			return &crmhub.WebhookEndpointEdge{Cursor: c, Node: r.domain()}
		})
	return &crmhub.WebhookEndpointConnection{Edges: es, PageInfo: info}, nil
}

// RotateWebhookSecret replaces the signing secret; the old one keeps
// signing for grace.
func (s *WebhookService) RotateWebhookSecret(ctx context.Context, id uuid.UUID, grace time.Duration) (string, error) {
	if grace < 0 || grace > crmhub.MaxWebhookSecretGrace {
		return "", crmhub.Invalid("grace", "grace must be between 0 and %s", crmhub.MaxWebhookSecretGrace)
	}
	key, secret := newWebhookSecret()
	err := s.db.write(ctx, crmhub.ScopeWebhooksManage, func(ctx context.Context, t *tx) error {
		var row webhookEndpointRow
		if err := t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).For("UPDATE").Scan(ctx); err != nil {
			return notFound(err, crmhub.KindWebhookEndpoint, "load webhook endpoint")
		}
		// Both keys are sealed for the same row, so the old ciphertext
		// moves over as it is.
		row.PreviousSecret, row.PreviousSecretExpiresAt = nil, nil
		if grace > 0 {
			until := t.now.Add(grace)
			row.PreviousSecret, row.PreviousSecretExpiresAt = row.Secret, &until
		}
		row.Secret = s.cfg.Sealer.seal(key, secretAAD(t.ws, row.ID))
		row.UpdatedAt = t.now
		_, err := t.NewUpdate().Model(&row).Column("secret", "previous_secret", "previous_secret_expires_at", "updated_at").
			WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return "", passOrWrap(err, "rotate webhook secret")
	}
	return secret, nil
}

// checkURL validates an endpoint URL and, unless private addresses are
// allowed, resolves its host and refuses any non-public address.
func (s *WebhookService) checkURL(ctx context.Context, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > crmhub.MaxWebhookURLLength {
		return "", crmhub.Invalid("url", "url must be at most %d bytes", crmhub.MaxWebhookURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "", crmhub.Invalid("url", "url must be an absolute http or https URL")
	}
	host := u.Hostname()
	if host == "" {
		return "", crmhub.Invalid("url", "url must have a host")
	}
	if !s.cfg.AllowPrivate {
		if err := checkPublicHost(ctx, "url", host); err != nil {
			return "", err
		}
	}
	return raw, nil
}

// normalizeEventTypes drops duplicates, validates and sorts event types.
func normalizeEventTypes(events []string) ([]string, error) {
	if len(events) == 0 {
		return nil, crmhub.Invalid("events", "at least one event type is required")
	}
	out := make([]string, 0, len(events))
	for _, e := range events {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if err := crmhub.ValidateEventTypes(out, "events"); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// normalizeDescription trims a description; empty means none.
func normalizeDescription(d *string) (*string, error) {
	if d == nil {
		return nil, nil
	}
	v := strings.TrimSpace(*d)
	if utf8.RuneCountInString(v) > crmhub.MaxWebhookDescriptionLength {
		return nil, crmhub.Invalid("description", "description must have at most %d characters", crmhub.MaxWebhookDescriptionLength)
	}
	if v == "" {
		return nil, nil
	}
	return &v, nil
}

func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
