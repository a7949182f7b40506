package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// HookRegistrar registers and removes a connection's hook URL at its CRM;
// connectors/inbound.Registrar is one. It is given to the HookLoop so
// that this package knows no connector. Register and Unregister return
// crmhub.ErrNoHookAPI for a CRM without such an API, and a
// *crmhub.HookError for a refusal or an unreachable CRM.
type HookRegistrar interface {
	Register(ctx context.Context, call crmhub.HookCall) (remoteID string, err error)
	Unregister(ctx context.Context, call crmhub.HookCall) error
}

// Timing of the registration work.
const (
	// hookLease is how long a claimed registration is left to the process
	// that claimed it; a process that dies leaves it due again after it.
	hookLease = 2 * time.Minute
	// hookBackoffBase and hookBackoffMax bound the wait before a failed
	// attempt is retried: the base doubled per failure, at most the max.
	hookBackoffBase = 30 * time.Second
	hookBackoffMax  = time.Hour
	// maxRemovalAttempts is when the removal of a deleted connection's
	// registration is given up (about two days of hourly attempts): the
	// CRM account is likely gone. It is logged as an error.
	maxRemovalAttempts = 50
	// hookBatch bounds the registrations one pass works.
	hookBatch = 20
)

// Notes shown on a connection whose hooks the hub does not register.
const (
	noteNoPublicURL = "CRMHUB_PUBLIC_URL is not set, so the hub does not register its hook URL: give the CRM this " +
		"connection's webhookPath under the server's address, and set the secret with setConnectionWebhookSecret"
	noteNoHookAPI = "this CRM has no API to register webhooks: enter the connection's webhookPath under the " +
		"server's address in the CRM's webhook settings, and set its secret with setConnectionWebhookSecret"
	noteInternal = "the hub could not finish the registration; it is retried"
)

// initialHook is the hook state of a new connection, or of one whose
// registration must be looked at again: PENDING and due now when the hub
// registers, MANUAL with the reason otherwise.
func (s *ConnectionService) initialHook(r *connectionRow, now time.Time) {
	r.HookUpdatedAt = &now
	if s.cfg.PublicURL == "" {
		note := noteNoPublicURL
		r.HookStatus, r.HookNote, r.HookDueAt = string(crmhub.HookManual), &note, nil
		return
	}
	r.HookStatus, r.HookNote, r.HookDueAt = string(crmhub.HookPending), nil, &now
}

// hookColumns are the columns initialHook sets.
var hookColumns = []string{"hook_status", "hook_note", "hook_due_at", "hook_updated_at"}

// rehook says what an update of a connection (old, as it was; row, as it
// will be) means for its registration, and returns the hook columns to
// write, none when it means nothing: enabling registers, disabling
// removes, a new API key registers again with it, and a new base URL
// (another account, perhaps) removes the registration at the old address
// with the old settings and registers at the new one.
func (s *ConnectionService) rehook(ctx context.Context, t *tx, old, row *connectionRow, rekeyed bool) ([]string, error) {
	moved := old.HookURL != nil && old.BaseURL != row.BaseURL
	if s.cfg.PublicURL == "" || (old.Enabled == row.Enabled && !moved && !(rekeyed && old.HookURL != nil)) {
		return nil, nil
	}
	cols := hookColumns
	if moved {
		if err := queueRemoval(ctx, t, old); err != nil {
			return nil, err
		}
		row.HookURL, row.HookRemoteID = nil, nil
		cols = slices.Concat(cols, []string{"hook_url", "hook_remote_id"})
	}
	s.initialHook(row, t.now)
	return cols, nil
}

// wakeHooks asks the registration loop of this process, if any, for a
// pass now instead of at its next tick.
func (s *ConnectionService) wakeHooks() {
	if w := s.hookWake.Load(); w != nil {
		(*w)()
	}
}

// hookRemovalRow is a deleted connection's registration still to be
// removed at its CRM.
type hookRemovalRow struct {
	bun.BaseModel `bun:"table:hook_removals"`

	WorkspaceID  uuid.UUID      `bun:"workspace_id,pk,type:uuid"`
	ID           uuid.UUID      `bun:"id,pk,type:uuid"`
	ConnectionID uuid.UUID      `bun:"connection_id,type:uuid"`
	Kind         string         `bun:"kind"`
	BaseURL      string         `bun:"base_url"`
	Options      map[string]any `bun:"options,type:jsonb"`
	APIKey       []byte         `bun:"api_key"`
	HookURL      string         `bun:"hook_url"`
	RemoteID     *string        `bun:"remote_id"`
	Attempts     int            `bun:"attempts"`
	Note         *string        `bun:"note"`
	DueAt        time.Time      `bun:"due_at"`
	CreatedAt    time.Time      `bun:"created_at"`
}

// queueRemoval keeps what removing a deleted connection's registration
// needs, when a registration may exist at the CRM (a hook URL was set).
func queueRemoval(ctx context.Context, t *tx, row *connectionRow) error {
	if row.HookURL == nil {
		return nil
	}
	rm := &hookRemovalRow{WorkspaceID: t.ws, ID: newID(), ConnectionID: row.ID, Kind: row.Kind, BaseURL: row.BaseURL,
		Options: row.Options, APIKey: row.APIKey, HookURL: *row.HookURL, RemoteID: row.HookRemoteID, DueAt: t.now,
		CreatedAt: t.now}
	if rm.Options == nil {
		rm.Options = map[string]any{}
	}
	if _, err := t.NewInsert().Model(rm).Exec(ctx); err != nil {
		return fmt.Errorf("db: queue the hook's removal: %w", err)
	}
	return nil
}

// HookLoop registers connections' hook URLs at their CRMs and removes
// them: a background loop (see loop) working what is due, the first
// attempt as soon as a connection is created, enabled, disabled or
// deleted in this process (the service wakes it), and failed attempts
// again with a growing wait. Several processes may run it: each
// registration is claimed by one conditional UPDATE.
type HookLoop struct {
	loop
	s   *ConnectionService
	reg HookRegistrar
}

// HookLoop returns the registration loop of the service's connections,
// working through reg every interval (and when woken).
func (s *ConnectionService) HookLoop(reg HookRegistrar, interval time.Duration, log *slog.Logger) *HookLoop {
	l := &HookLoop{s: s, reg: reg}
	l.init("hook registration", interval, log, func(ctx context.Context) (bool, error) {
		n, err := l.RunOnce(ctx)
		return n == hookBatch, err
	})
	wake := l.Wake
	s.hookWake.Store(&wake)
	return l
}

// RunOnce works the registrations and removals due now (at most
// hookBatch of each) and returns how many it looked at.
func (l *HookLoop) RunOnce(ctx context.Context) (int, error) {
	var due []struct {
		WorkspaceID  uuid.UUID  `bun:"workspace_id"`
		ConnectionID uuid.UUID  `bun:"connection_id"`
		RemovalID    *uuid.UUID `bun:"removal_id"`
	}
	if err := l.s.db.Bun.NewRaw("SELECT * FROM hooks_due(?, ?)", l.s.db.Now(), hookBatch).Scan(ctx, &due); err != nil {
		return 0, fmt.Errorf("db: find due hook registrations: %w", err)
	}
	for _, d := range due {
		var err error
		if d.RemovalID != nil {
			err = l.remove(ctx, d.WorkspaceID, *d.RemovalID)
		} else {
			err = l.reconcile(ctx, d.WorkspaceID, d.ConnectionID)
		}
		if err != nil {
			l.log.Error("hook registration", "workspace", d.WorkspaceID,
				"connection", crmhub.GlobalID(crmhub.KindConnection, d.ConnectionID), "err", err)
		}
	}
	return len(due), nil
}

// hookClaim is what a claimed registration starts from.
type hookClaim struct {
	Lease    time.Time `bun:"hook_due_at"`
	HookURL  *string   `bun:"hook_url"`
	RemoteID *string   `bun:"hook_remote_id"`
	Attempts int       `bun:"hook_attempts"`
	Secret   []byte    `bun:"webhook_secret"`
}

// hookOutcome is what an attempt leaves on the connection.
type hookOutcome struct {
	status   crmhub.HookStatus
	note     *string
	url      *string
	remoteID *string
	attempts int
	next     *time.Time
	// clearSecret forgets the webhook secret (after a removal, so that
	// enabling again registers a fresh one).
	clearSecret bool
}

// reconcile claims a connection's due registration and brings the CRM in
// line with it: registered while enabled, removed while disabled.
func (l *HookLoop) reconcile(ctx context.Context, ws, id uuid.UUID) error {
	claim, ok, err := l.claim(ctx, ws, id)
	if err != nil || !ok {
		return err
	}
	if l.s.cfg.PublicURL == "" {
		note := noteNoPublicURL
		return l.finish(ctx, ws, id, claim, hookOutcome{status: crmhub.HookManual, note: &note, url: claim.HookURL, remoteID: claim.RemoteID})
	}
	conn, key, err := l.s.Open(ctx, ws, id)
	if err != nil {
		return l.failed(ctx, ws, id, claim, err)
	}
	call := crmhub.HookCall{Kind: conn.Kind, BaseURL: conn.BaseURL, APIKey: key, Options: conn.Options,
		URL: l.s.cfg.PublicURL + crmhub.HookPath(id), RemoteID: deref(claim.RemoteID)}
	if !conn.Enabled {
		return l.unregister(ctx, ws, id, claim, call)
	}
	fresh := len(claim.Secret) == 0
	if !fresh {
		secret, err := l.s.cfg.Sealer.open(claim.Secret, webhookSecretAAD(ws, id))
		if err != nil {
			return l.failed(ctx, ws, id, claim, err)
		}
		call.Secret = string(secret)
	} else if call.Secret, err = l.s.storeFreshSecret(ctx, ws, id, call.URL); err != nil {
		return l.failed(ctx, ws, id, claim, err)
	}
	remoteID, err := l.reg.Register(ctx, call)
	if errors.Is(err, crmhub.ErrNoHookAPI) {
		// Set up by hand: a secret made for the registration is forgotten,
		// one the owner set stays.
		note := noteNoHookAPI
		return l.finish(ctx, ws, id, claim, hookOutcome{status: crmhub.HookManual, note: &note, clearSecret: fresh})
	} else if err != nil {
		claim.HookURL = &call.URL
		return l.failed(ctx, ws, id, claim, err)
	}
	return l.finish(ctx, ws, id, claim, hookOutcome{status: crmhub.HookRegistered, url: &call.URL, remoteID: optional(remoteID)})
}

// unregister removes a disabled connection's registration, if it has one.
func (l *HookLoop) unregister(ctx context.Context, ws, id uuid.UUID, claim hookClaim, call crmhub.HookCall) error {
	if claim.HookURL == nil {
		return l.finish(ctx, ws, id, claim, hookOutcome{status: crmhub.HookUnregistered})
	}
	call.URL = *claim.HookURL
	err := l.reg.Unregister(ctx, call)
	if errors.Is(err, crmhub.ErrNoHookAPI) {
		note := noteNoHookAPI
		return l.finish(ctx, ws, id, claim, hookOutcome{status: crmhub.HookManual, note: &note})
	} else if err != nil {
		return l.failed(ctx, ws, id, claim, err)
	}
	return l.finish(ctx, ws, id, claim, hookOutcome{status: crmhub.HookUnregistered, clearSecret: true})
}

// claim takes a due registration for this process for hookLease; ok is
// false when it is not due (any more).
func (l *HookLoop) claim(ctx context.Context, ws, id uuid.UUID) (claim hookClaim, ok bool, err error) {
	err = l.s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		lease := t.now.Add(hookLease)
		err := t.NewRaw(`UPDATE connections SET hook_due_at = ? WHERE workspace_id = ? AND id = ?
				AND hook_due_at IS NOT NULL AND hook_due_at <= ?
			RETURNING hook_due_at, hook_url, hook_remote_id, hook_attempts, webhook_secret`, lease, t.ws, id, t.now).
			Scan(ctx, &claim)
		if isNoRows(err) {
			return nil
		}
		ok = err == nil
		return err
	})
	if err != nil {
		return claim, false, fmt.Errorf("db: claim a hook registration: %w", err)
	}
	return claim, ok, nil
}

// failed records a failed attempt, to be retried after the backoff or
// the wait the CRM asked for.
func (l *HookLoop) failed(ctx context.Context, ws, id uuid.UUID, claim hookClaim, cause error) error {
	attempts := claim.Attempts + 1
	next := l.s.db.Now().Add(hookBackoff(attempts, cause))
	out := hookOutcome{status: crmhub.HookFailed, note: ptrTo(hookNote(cause)), url: claim.HookURL, remoteID: claim.RemoteID,
		attempts: attempts, next: &next}
	if err := l.finish(ctx, ws, id, claim, out); err != nil {
		return err
	}
	var he *crmhub.HookError
	if !errors.As(cause, &he) {
		return cause // the hub's own failure: logged
	}
	return nil
}

// finish stores an attempt's outcome. The status and next attempt are
// only set while the claim still holds: a change of the connection in the
// meantime (disabled again, say) has made it due at once, and that stays.
func (l *HookLoop) finish(ctx context.Context, ws, id uuid.UUID, claim hookClaim, out hookOutcome) error {
	err := l.s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		q := t.NewUpdate().Model((*connectionRow)(nil)).
			Set("hook_status = CASE WHEN hook_due_at = ? THEN ? ELSE hook_status END", claim.Lease, string(out.status)).
			Set("hook_due_at = CASE WHEN hook_due_at = ? THEN ?::timestamptz ELSE hook_due_at END", claim.Lease, out.next).
			Set("hook_note = ?, hook_url = ?, hook_remote_id = ?, hook_attempts = ?, hook_updated_at = ?",
				out.note, out.url, out.remoteID, out.attempts, t.now).
			Where("workspace_id = ? AND id = ?", t.ws, id)
		if out.clearSecret {
			q.Set("webhook_secret = NULL")
		}
		_, err := q.Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("db: record a hook registration: %w", err)
	}
	return nil
}

// storeFreshSecret gives a connection a new webhook secret, and the URL
// about to be registered, before the registration: the CRM may call the
// URL while registering (Wazzup's test request) and must find them.
func (s *ConnectionService) storeFreshSecret(ctx context.Context, ws, id uuid.UUID, hookURL string) (string, error) {
	secret := newWebhookToken()
	err := s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		_, err := t.NewUpdate().Model((*connectionRow)(nil)).
			Set("webhook_secret = ?, hook_url = ?", s.cfg.Sealer.seal([]byte(secret), webhookSecretAAD(t.ws, id)), hookURL).
			Where("workspace_id = ? AND id = ?", t.ws, id).Exec(ctx)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("db: store a fresh webhook secret: %w", err)
	}
	return secret, nil
}

// remove works a deleted connection's due removal: deleted once the CRM
// confirms, retried otherwise, given up after maxRemovalAttempts.
func (l *HookLoop) remove(ctx context.Context, ws, id uuid.UUID) error {
	var rm hookRemovalRow
	err := l.s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		err := t.NewRaw(`UPDATE hook_removals SET due_at = ? WHERE workspace_id = ? AND id = ? AND due_at <= ? RETURNING *`,
			t.now.Add(hookLease), t.ws, id, t.now).Scan(ctx, &rm)
		if isNoRows(err) {
			return nil
		}
		return err
	})
	if err != nil || rm.ID == uuid.Nil {
		return err
	}
	key, err := l.s.cfg.Sealer.open(rm.APIKey, apiKeyAAD(ws, rm.ConnectionID))
	if err == nil {
		err = l.reg.Unregister(ctx, crmhub.HookCall{Kind: crmhub.ConnectorKind(rm.Kind), BaseURL: rm.BaseURL, APIKey: string(key),
			Options: rm.Options, URL: rm.HookURL, RemoteID: deref(rm.RemoteID)})
	}
	done := err == nil || errors.Is(err, crmhub.ErrNoHookAPI) || rm.Attempts+1 >= maxRemovalAttempts
	werr := l.s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		if done {
			_, err := t.NewDelete().Model((*hookRemovalRow)(nil)).Where("workspace_id = ? AND id = ?", t.ws, id).Exec(ctx)
			return err
		}
		_, err := t.NewUpdate().Model((*hookRemovalRow)(nil)).Where("workspace_id = ? AND id = ?", t.ws, id).Set("attempts = attempts + 1, note = ?, due_at = ?", hookNote(err),
			t.now.Add(hookBackoff(rm.Attempts+1, err))).Exec(ctx)
		return err
	})
	if werr != nil {
		return fmt.Errorf("db: record a hook removal: %w", werr)
	}
	if err != nil && done {
		return fmt.Errorf("db: gave up removing the webhook of deleted %s after %d attempts: %w",
			crmhub.GlobalID(crmhub.KindConnection, rm.ConnectionID), rm.Attempts+1, err)
	}
	return nil
}

// hookBackoff is the wait before attempt n+1 after n failures: what the
// CRM asked for, else hookBackoffBase doubled per failure up to
// hookBackoffMax.
func hookBackoff(n int, cause error) time.Duration {
	var he *crmhub.HookError
	if errors.As(cause, &he) && he.RetryAfter > 0 {
		return min(he.RetryAfter, hookBackoffMax)
	}
	d := hookBackoffBase
	for i := 1; i < n && d < hookBackoffMax; i++ {
		d *= 2
	}
	return min(d, hookBackoffMax)
}

// hookNote is the note of a failure: the CRM's answer in words, or a
// plain word for a failure of the hub itself (logged with its detail).
func hookNote(err error) string {
	var he *crmhub.HookError
	if errors.As(err, &he) {
		return he.Note
	}
	return noteInternal
}

func optional(s string) *string {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	return &s
}

func ptrTo[T any](v T) *T { return &v }
