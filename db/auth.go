package db

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
)

var (
	_ crmhub.AuthService      = (*AuthService)(nil)
	_ crmhub.WorkspaceService = (*AuthService)(nil)
	_ crmhub.APIKeyService    = (*AuthService)(nil)
)

// keyPrefix starts every API key, so leaked keys are easy to recognise.
const keyPrefix = "crm_"

// keyBytes is the decoded size of a key after its prefix: key id (16),
// workspace id (16) and secret (32). Only the secret's SHA-256 is stored.
const keyBytes = 64

// lastUsedGranularity limits last_used_at writes to one per key and period.
const lastUsedGranularity = time.Minute

// AuthService implements workspaces, API keys and authentication.
type AuthService struct {
	db *DB
	// cache holds verified keys while a hub's listener keeps it current
	// (UseHub); uses throttles last_used_at writes.
	cache keyCache
	uses  keyUses
	log   *slog.Logger
	// recording holds the key-use writes in flight (Wait).
	recording sync.WaitGroup

	// TestSignals tell tests about the background work, so that they wait
	// for it rather than sleep.
	TestSignals AuthTestSignals
}

// AuthTestSignals are the AuthService's signals to tests; each is off
// until its Init.
type AuthTestSignals struct {
	// UseRecorded is signalled when a background last_used_at write has
	// ended (written or failed): its round trips are over.
	UseRecorded TestSignal
	// KeyNotified is signalled when the key cache has handled a revocation
	// heard through the hub's listener.
	KeyNotified TestSignal
}

// WatchRevocation returns a channel closed as soon as p's key is revoked,
// by this instance or (through the hub's listener, see UseHub) by any
// other, and a function to stop watching. A notification lost while the
// listener was down is not replayed: long-lived holders of a key (open
// websockets) also authenticate again from time to time.
func (s *AuthService) WatchRevocation(p *crmhub.Principal) (<-chan struct{}, func()) {
	return s.cache.watch(keyRef{ws: p.WorkspaceID, id: p.APIKeyID})
}

// NewAuthService returns the service over db. Every authentication reads
// the key from the database until UseHub turns the key cache on.
func NewAuthService(db *DB) *AuthService {
	s := &AuthService{db: db, log: slog.Default()}
	s.cache.notified = &s.TestSignals.KeyNotified
	return s
}

// UseHub turns on the cache of verified keys: h's listener drops a key from
// it as soon as any instance revokes it, and the cache is bypassed whenever
// the listener is not connected. Call it before h runs.
func (s *AuthService) UseHub(h *Hub) {
	s.log = h.cfg.Log
	h.watch(&s.cache)
}

type workspaceRow struct {
	bun.BaseModel `bun:"table:workspaces"`

	ID        uuid.UUID `bun:"id,pk,type:uuid"`
	Name      string    `bun:"name"`
	CreatedAt time.Time `bun:"created_at"`
}

type apiKeyRow struct {
	bun.BaseModel `bun:"table:api_keys"`

	WorkspaceID uuid.UUID  `bun:"workspace_id,pk,type:uuid"`
	ID          uuid.UUID  `bun:"id,pk,type:uuid"`
	Name        string     `bun:"name"`
	Prefix      string     `bun:"prefix"`
	SecretHash  []byte     `bun:"secret_hash"`
	Scopes      []string   `bun:"scopes,array"`
	CreatedAt   time.Time  `bun:"created_at"`
	LastUsedAt  *time.Time `bun:"last_used_at"`
	RevokedAt   *time.Time `bun:"revoked_at"`
}

func (r *apiKeyRow) domain() *crmhub.APIKey {
	k := &crmhub.APIKey{ID: r.ID, WorkspaceID: r.WorkspaceID, Name: r.Name, Prefix: r.Prefix,
		CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt}
	for _, s := range r.Scopes {
		k.Scopes = append(k.Scopes, crmhub.Scope(s))
	}
	return k
}

// Authenticate checks a bearer token against the stored hash of its secret,
// taken from the key cache when it may be trusted, from the database
// otherwise.
func (s *AuthService) Authenticate(ctx context.Context, token string) (*crmhub.Principal, error) {
	unauth := crmhub.Errorf(crmhub.EUNAUTHENTICATED, "invalid or revoked API key")
	keyID, wsID, secret, ok := parseKey(token)
	if !ok {
		return nil, unauth
	}
	ref := keyRef{ws: wsID, id: keyID}
	k, gen := s.cache.get(ref)
	if k == nil {
		var err error
		if k, err = s.loadKey(ctx, ref); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return nil, unauth
			}
			return nil, err
		}
		s.cache.put(ref, k, gen)
	}
	if k.revoked || !hashMatches(k.hash, secret) {
		return nil, unauth
	}
	if now := s.db.Now(); s.uses.claim(ref, k.lastUsed, now) {
		s.recording.Go(func() { s.recordUse(context.WithoutCancel(ctx), ref, now) })
	}
	return &crmhub.Principal{WorkspaceID: wsID, APIKeyID: keyID, Scopes: k.scopes}, nil
}

// loadKey reads a key in one round trip: a pgx batch runs its statements in
// one implicit transaction, which is what scopes set_config(..., true) to
// the lookup.
func (s *AuthService) loadKey(ctx context.Context, ref keyRef) (*cachedKey, error) {
	var row apiKeyRow
	b := &pgx.Batch{}
	b.Queue("SELECT set_config('app.workspace_id', $1, true)", ref.ws.String())
	b.Queue("SELECT secret_hash, scopes, last_used_at, revoked_at FROM api_keys WHERE workspace_id = $1 AND id = $2", ref.ws, ref.id)
	res := s.db.Pool.SendBatch(ctx, b)
	_, err := res.Exec()
	if err == nil {
		err = res.QueryRow().Scan(&row.SecretHash, &row.Scopes, &row.LastUsedAt, &row.RevokedAt)
	}
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("db: authenticate: %w", err)
	}
	k := &cachedKey{hash: row.SecretHash, scopes: row.domain().Scopes, revoked: row.RevokedAt != nil, loaded: time.Now()}
	if row.LastUsedAt != nil {
		k.lastUsed = *row.LastUsedAt
	}
	return k, nil
}

// Wait returns once the key-use writes started so far are done (each gives
// up after 10 s). Call it after the last request and before closing the
// database, so that none is cut off by the close and none logs after its
// logger's owner is gone.
func (s *AuthService) Wait() { s.recording.Wait() }

// recordUse writes last_used_at in the background; a failure costs only
// the timestamp's precision.
func (s *AuthService) recordUse(ctx context.Context, ref keyRef, now time.Time) {
	defer s.TestSignals.UseRecorded.Signal()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := s.db.inWorkspacePgx(ctx, ref.ws, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE api_keys SET last_used_at = $1 WHERE workspace_id = $2 AND id = $3", now, ref.ws, ref.id)
		return err
	})
	if err != nil {
		s.log.Warn("auth: record key use", "key", crmhub.GlobalID(crmhub.KindAPIKey, ref.id), "err", err)
	}
}

// CreateWorkspace creates a workspace and an admin key for it.
func (s *AuthService) CreateWorkspace(ctx context.Context, name string) (*crmhub.Workspace, *crmhub.APIKey, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > crmhub.MaxAPIKeyNameLength {
		return nil, nil, "", crmhub.Invalid("name", "name must have 1 to %d characters", crmhub.MaxAPIKeyNameLength)
	}
	ws := &workspaceRow{ID: newID(), Name: name}
	var key *crmhub.APIKey
	var secret string
	err := s.db.inWorkspace(ctx, ws.ID, "system", false, func(ctx context.Context, t *tx) error {
		ws.CreatedAt = t.now
		if _, err := t.NewInsert().Model(ws).Exec(ctx); err != nil {
			return fmt.Errorf("db: create workspace: %w", err)
		}
		var err error
		key, secret, err = createKey(ctx, t, "admin", []crmhub.Scope{crmhub.ScopeAdmin})
		return err
	})
	if err != nil {
		return nil, nil, "", err
	}
	return &crmhub.Workspace{ID: ws.ID, Name: ws.Name, CreatedAt: ws.CreatedAt}, key, secret, nil
}

// Workspace returns the principal's workspace. Any authenticated key may
// read it.
func (s *AuthService) Workspace(ctx context.Context) (*crmhub.Workspace, error) {
	p := crmhub.FromContext(ctx)
	if p == nil {
		return nil, crmhub.Errorf(crmhub.EUNAUTHENTICATED, "authentication required")
	}
	var row workspaceRow
	err := s.db.inWorkspace(ctx, p.WorkspaceID, actorOf(p), true, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model(&row).Where("id = ?", p.WorkspaceID).Scan(ctx)
	})
	if err != nil {
		return nil, notFound(err, crmhub.KindWorkspace, "get workspace")
	}
	return &crmhub.Workspace{ID: row.ID, Name: row.Name, CreatedAt: row.CreatedAt}, nil
}

// CreateAPIKey creates a key in the principal's workspace.
func (s *AuthService) CreateAPIKey(ctx context.Context, name string, scopes []crmhub.Scope) (*crmhub.APIKey, string, error) {
	var key *crmhub.APIKey
	var secret string
	err := s.db.write(ctx, crmhub.ScopeKeysManage, func(ctx context.Context, t *tx) error {
		if _, err := crmhub.RequireGrant(ctx, scopes); err != nil {
			return err
		}
		var err error
		key, secret, err = createKey(ctx, t, name, scopes)
		return err
	})
	return key, secret, err
}

// APIKeys lists the workspace's keys, newest first.
func (s *AuthService) APIKeys(ctx context.Context) ([]*crmhub.APIKey, error) {
	var rows []apiKeyRow
	err := s.db.read(ctx, crmhub.ScopeKeysManage, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model(&rows).Where("workspace_id = ?", t.ws).
			Order("created_at DESC", "id DESC").Limit(1000).Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("db: list keys: %w", err)
	}
	out := make([]*crmhub.APIKey, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// APIKey returns one key of the workspace.
func (s *AuthService) APIKey(ctx context.Context, id uuid.UUID) (*crmhub.APIKey, error) {
	var row apiKeyRow
	err := s.db.read(ctx, crmhub.ScopeKeysManage, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).Scan(ctx)
	})
	if err != nil {
		return nil, notFound(err, crmhub.KindAPIKey, "get key")
	}
	return row.domain(), nil
}

// RevokeAPIKey revokes a key; the next request with it fails, on every
// instance (the commit notifies keysChannel). Revoking a revoked key keeps
// its first revocation time.
func (s *AuthService) RevokeAPIKey(ctx context.Context, id uuid.UUID) (*crmhub.APIKey, error) {
	var row apiKeyRow
	err := s.db.write(ctx, crmhub.ScopeKeysManage, func(ctx context.Context, t *tx) error {
		var cur apiKeyRow
		err := t.NewSelect().Model(&cur).Where("workspace_id = ? AND id = ?", t.ws, id).For("UPDATE").Scan(ctx)
		if err != nil {
			return err
		}
		if _, err := crmhub.RequireGrant(ctx, cur.domain().Scopes); err != nil {
			return err
		}
		err = t.NewUpdate().Model(&row).Set("revoked_at = coalesce(revoked_at, ?)", t.now).
			Where("workspace_id = ? AND id = ?", t.ws, id).Returning("*").Scan(ctx)
		if err == nil {
			err = notifyRevoked(ctx, t, id)
		}
		return err
	})
	if err != nil {
		return nil, notFound(err, crmhub.KindAPIKey, "revoke key")
	}
	// This instance stops accepting the key before the answer leaves, the
	// others when the notification reaches them.
	s.cache.drop(keyRef{ws: row.WorkspaceID, id: id})
	return row.domain(), nil
}

func createKey(ctx context.Context, t *tx, name string, scopes []crmhub.Scope) (*crmhub.APIKey, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > crmhub.MaxAPIKeyNameLength {
		return nil, "", crmhub.Invalid("name", "name must have 1 to %d characters", crmhub.MaxAPIKeyNameLength)
	}
	names := make([]string, len(scopes))
	for i, sc := range scopes {
		names[i] = string(sc)
	}
	parsed, err := crmhub.ParseScopes(names)
	if err != nil {
		return nil, "", err
	}
	row := &apiKeyRow{WorkspaceID: t.ws, ID: newID(), Name: name, CreatedAt: t.now}
	for _, sc := range parsed {
		row.Scopes = append(row.Scopes, string(sc))
	}
	var raw [keyBytes]byte
	copy(raw[0:16], row.ID[:])
	copy(raw[16:32], t.ws[:])
	if _, err := rand.Read(raw[32:]); err != nil {
		return nil, "", fmt.Errorf("db: key secret: %w", err)
	}
	token := keyPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	row.Prefix = token[:len(keyPrefix)+8]
	sum := sha256.Sum256(raw[32:])
	row.SecretHash = sum[:]
	if _, err := t.NewInsert().Model(row).Exec(ctx); err != nil {
		return nil, "", fmt.Errorf("db: create key: %w", err)
	}
	return row.domain(), token, nil
}

// parseKey splits a token into key id, workspace id and secret.
func parseKey(token string) (keyID, wsID uuid.UUID, secret []byte, ok bool) {
	rest, found := strings.CutPrefix(token, keyPrefix)
	if !found || len(rest) != base64.RawURLEncoding.EncodedLen(keyBytes) {
		return keyID, wsID, nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(raw) != keyBytes {
		return keyID, wsID, nil, false
	}
	copy(keyID[:], raw[0:16])
	copy(wsID[:], raw[16:32])
	return keyID, wsID, raw[32:], true
}

func hashMatches(stored, secret []byte) bool {
	sum := sha256.Sum256(secret)
	return subtle.ConstantTimeCompare(stored, sum[:]) == 1
}

func isNoRows(err error) bool { return errors.Is(err, errNoRows) }
