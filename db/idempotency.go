package db

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/crmhub/crmhub"
)

// idempotencyStale is how old a claim still 'running' must be before
// another request may take it over: its request (bounded by the HTTP
// deadline of 30 s) ran on a process that died.
const idempotencyStale = 2 * time.Minute

// IdempotencyService keeps the answers of mutation requests sent with an
// Idempotency-Key in PostgreSQL, so that a retry reaching any process is
// answered the same (crmhub.IdempotencyService).
type IdempotencyService struct {
	db *DB
}

var _ crmhub.IdempotencyService = (*IdempotencyService)(nil)

// NewIdempotencyService returns the service over db.
func NewIdempotencyService(db *DB) *IdempotencyService { return &IdempotencyService{db: db} }

// inKey runs fn for the caller's API key in its workspace.
func (s *IdempotencyService) inKey(ctx context.Context, fn func(context.Context, *tx, *crmhub.Principal) error) error {
	p := crmhub.FromContext(ctx)
	if p == nil {
		return crmhub.Errorf(crmhub.EUNAUTHENTICATED, "authentication required")
	}
	return s.db.inWorkspace(ctx, p.WorkspaceID, actorOf(p), false, func(ctx context.Context, t *tx) error {
		return fn(ctx, t, p)
	})
}

// Claim implements crmhub.IdempotencyService. One statement claims a new
// key, an expired one, or a stale claim of the same request; otherwise the
// stored row says what to answer.
func (s *IdempotencyService) Claim(ctx context.Context, key string, hash []byte) (*crmhub.StoredResponse, error) {
	var out *crmhub.StoredResponse
	err := s.inKey(ctx, func(ctx context.Context, t *tx, p *crmhub.Principal) error {
		var claimed bool
		err := t.NewRaw(`INSERT INTO idempotency_keys AS k (workspace_id, api_key_id, key, request_hash, state, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'running', ?, ?)
			ON CONFLICT (workspace_id, api_key_id, key) DO UPDATE
			SET request_hash = EXCLUDED.request_hash, state = 'running', status = NULL, content_type = NULL, body = NULL,
				created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at
			WHERE k.created_at < ? OR (k.state = 'running' AND k.updated_at < ? AND k.request_hash = EXCLUDED.request_hash)
			RETURNING true`,
			t.ws, p.APIKeyID, key, hash, t.now, t.now, t.now.Add(-crmhub.IdempotencyKeyTTL), t.now.Add(-idempotencyStale)).
			Scan(ctx, &claimed)
		if err == nil {
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("db: claim idempotency key: %w", err)
		}
		var row struct {
			RequestHash []byte  `bun:"request_hash"`
			State       string  `bun:"state"`
			Status      *int    `bun:"status"`
			ContentType *string `bun:"content_type"`
			Body        []byte  `bun:"body"`
		}
		err = t.NewRaw(`SELECT request_hash, state, status, content_type, body FROM idempotency_keys
			WHERE workspace_id = ? AND api_key_id = ? AND key = ?`, t.ws, p.APIKeyID, key).Scan(ctx, &row)
		if err != nil {
			return fmt.Errorf("db: read idempotency key: %w", err)
		}
		switch {
		case !bytes.Equal(row.RequestHash, hash):
			return crmhub.Errorf(crmhub.EIDEMPOTENCYREUSED, "this Idempotency-Key was used with another request")
		case row.State == "running":
			return crmhub.Errorf(crmhub.ECONFLICT, "a request with this Idempotency-Key is still running")
		}
		out = &crmhub.StoredResponse{Status: deref(row.Status), ContentType: deref(row.ContentType), Body: row.Body}
		return nil
	})
	return out, err
}

// Complete implements crmhub.IdempotencyService.
func (s *IdempotencyService) Complete(ctx context.Context, key string, resp crmhub.StoredResponse) error {
	err := s.inKey(ctx, func(ctx context.Context, t *tx, p *crmhub.Principal) error {
		_, err := t.NewRaw(`UPDATE idempotency_keys SET state = 'done', status = ?, content_type = ?, body = ?, updated_at = ?
			WHERE workspace_id = ? AND api_key_id = ? AND key = ?`,
			resp.Status, resp.ContentType, resp.Body, t.now, t.ws, p.APIKeyID, key).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("db: store idempotent answer: %w", err)
	}
	return nil
}

// Release implements crmhub.IdempotencyService.
func (s *IdempotencyService) Release(ctx context.Context, key string) error {
	err := s.inKey(ctx, func(ctx context.Context, t *tx, p *crmhub.Principal) error {
		_, err := t.NewRaw(`DELETE FROM idempotency_keys WHERE workspace_id = ? AND api_key_id = ? AND key = ? AND state = 'running'`,
			t.ws, p.APIKeyID, key).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("db: release idempotency key: %w", err)
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
