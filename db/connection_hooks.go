package db

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

var _ crmhub.HookService = (*ConnectionService)(nil)

// webhookSecretAAD binds a sealed webhook secret to its connection.
func webhookSecretAAD(ws, id uuid.UUID) []byte { return rowAAD("connections.webhook_secret", ws, id) }

// SetWebhookSecret stores a connection's inbound webhook secret, sealed.
func (s *ConnectionService) SetWebhookSecret(ctx context.Context, id uuid.UUID, secret *string) (string, error) {
	var value string
	if secret != nil {
		value = strings.TrimSpace(*secret)
		if len(value) < crmhub.MinWebhookSecretLength || len(value) > crmhub.MaxWebhookSecretLength {
			return "", crmhub.Invalid("secret", "a secret of %d to %d bytes is required",
				crmhub.MinWebhookSecretLength, crmhub.MaxWebhookSecretLength)
		}
	} else {
		value = newWebhookToken()
	}
	err := s.db.write(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		// A registered hook is registered again with the new secret (a
		// new token in Wazzup's URL, a new signing key at Wazera).
		res, err := t.NewUpdate().Model((*connectionRow)(nil)).
			Set("webhook_secret = ?, updated_at = ?", s.cfg.Sealer.seal([]byte(value), webhookSecretAAD(t.ws, id)), t.now).
			Set("hook_status = CASE WHEN enabled AND hook_status IN ('REGISTERED', 'FAILED') THEN 'PENDING' ELSE hook_status END").
			Set("hook_due_at = CASE WHEN enabled AND hook_status IN ('REGISTERED', 'FAILED') THEN ?::timestamptz ELSE hook_due_at END", t.now).
			Where("workspace_id = ? AND id = ?", t.ws, id).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crmhub.Errorf(crmhub.ENOTFOUND, "%s not found", crmhub.KindConnection.Name())
		}
		return nil
	})
	if err != nil {
		return "", passOrWrap(err, "set webhook secret")
	}
	s.wakeHooks()
	return value, nil
}

// newWebhookToken returns a new random webhook secret, usable as a URL's
// token too.
func newWebhookToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "whk_" + base64.RawURLEncoding.EncodeToString(b)
}

// OpenHook finds a connection by id alone, for the inbound webhook
// endpoint, and returns it with its secrets. It checks no principal: the
// caller authenticates the request with WebhookSecret. ENOTFOUND.
func (s *ConnectionService) OpenHook(ctx context.Context, id uuid.UUID) (*crmhub.HookTarget, error) {
	ws, err := s.db.connectionWorkspace(ctx, id)
	if err != nil {
		return nil, err
	}
	conn, key, err := s.Open(ctx, ws, id)
	if err != nil {
		return nil, err
	}
	target := &crmhub.HookTarget{WorkspaceID: ws, Connection: conn, APIKey: key}
	var sealed []byte
	err = s.db.inWorkspace(ctx, ws, "system", true, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model((*connectionRow)(nil)).Column("webhook_secret").
			Where("workspace_id = ? AND id = ?", t.ws, id).Scan(ctx, &sealed)
	})
	if err != nil {
		return nil, fmt.Errorf("db: load webhook secret: %w", err)
	}
	if len(sealed) > 0 {
		secret, err := s.cfg.Sealer.open(sealed, webhookSecretAAD(ws, id))
		if err != nil {
			return nil, fmt.Errorf("db: open webhook secret: %w", err)
		}
		target.WebhookSecret = string(secret)
	}
	return target, nil
}

type connectionChannelRow struct {
	bun.BaseModel `bun:"table:connection_channels"`

	WorkspaceID  uuid.UUID `bun:"workspace_id,pk,type:uuid"`
	ConnectionID uuid.UUID `bun:"connection_id,pk,type:uuid"`
	ChannelID    string    `bun:"channel_id,pk"`
	Transport    string    `bun:"transport"`
	PlainID      string    `bun:"plain_id"`
	State        string    `bun:"state"`
	UpdatedAt    time.Time `bun:"updated_at"`
}

// MaxConnectionChannels bounds the channels stored per webhook call.
const MaxConnectionChannels = 1000

// SaveChannels stores the channel states a CRM reported for a connection
// of workspace ws (the inbound webhook endpoint has authenticated it).
func (s *ConnectionService) SaveChannels(ctx context.Context, ws, conn uuid.UUID, channels []crmhub.ConnectionChannel) error {
	if len(channels) == 0 {
		return nil
	}
	rows, err := channelRows(ws, conn, channels, s.db.Now())
	if err != nil {
		return err
	}
	err = s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		return upsertChannels(ctx, t, rows)
	})
	if err != nil {
		return fmt.Errorf("db: save channels: %w", err)
	}
	return nil
}

// channelRows turns a CRM's reported channels into rows, dropping those
// without an id and repeats, and clipping the CRM's text to the columns'
// sizes. More than MaxConnectionChannels is ETOOMANY.
func channelRows(ws, conn uuid.UUID, channels []crmhub.ConnectionChannel, now time.Time) ([]connectionChannelRow, error) {
	if len(channels) > MaxConnectionChannels {
		return nil, crmhub.TooMany(len(channels), MaxConnectionChannels)
	}
	rows := make([]connectionChannelRow, 0, len(channels))
	seen := map[string]bool{}
	for _, c := range channels {
		id := clip(c.ChannelID, 255)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		rows = append(rows, connectionChannelRow{WorkspaceID: ws, ConnectionID: conn, ChannelID: id,
			Transport: clip(c.Transport, 50), PlainID: clip(c.PlainID, 255), State: clip(c.State, 50), UpdatedAt: now})
	}
	return rows, nil
}

// upsertChannels inserts rows or updates the stored ones.
func upsertChannels(ctx context.Context, t *tx, rows []connectionChannelRow) error {
	if len(rows) == 0 {
		return nil
	}
	_, err := t.NewInsert().Model(&rows).On("CONFLICT (workspace_id, connection_id, channel_id) DO UPDATE").
		Set("transport = EXCLUDED.transport, plain_id = EXCLUDED.plain_id, state = EXCLUDED.state, updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	return err
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ChannelsByConnection returns each connection's channels, by channel id.
func (s *ConnectionService) ChannelsByConnection(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*crmhub.ConnectionChannel, error) {
	out := map[uuid.UUID][]*crmhub.ConnectionChannel{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []connectionChannelRow
	err := s.db.read(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model(&rows).Where("workspace_id = ? AND connection_id IN (?)", t.ws, bun.List(ids)).
			Order("connection_id", "channel_id").Scan(ctx)
	})
	if err != nil {
		return nil, passOrWrap(err, "load channels")
	}
	for _, r := range rows {
		out[r.ConnectionID] = append(out[r.ConnectionID], &crmhub.ConnectionChannel{ConnectionID: r.ConnectionID,
			ChannelID: r.ChannelID, Transport: r.Transport, PlainID: r.PlainID, State: r.State, UpdatedAt: r.UpdatedAt})
	}
	return out, nil
}
