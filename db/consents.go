package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

var _ crmhub.ConsentService = (*ConsentService)(nil)

// clockSkew is how far in the future a caller-stated time may lie before it
// is refused: clocks of other systems drift.
const clockSkew = 5 * time.Minute

// ConsentService implements crmhub.ConsentService.
type ConsentService struct{ db *DB }

// NewConsentService returns the service over db.
func NewConsentService(db *DB) *ConsentService { return &ConsentService{db: db} }

type consentRow struct {
	bun.BaseModel `bun:"table:consents"`

	WorkspaceID uuid.UUID `bun:"workspace_id,pk,type:uuid"`
	ContactID   uuid.UUID `bun:"contact_id,pk,type:uuid"`
	Channel     string    `bun:"channel,pk"`
	Status      string    `bun:"status"`
	Source      *string   `bun:"source"`
	Evidence    *string   `bun:"evidence"`
	At          time.Time `bun:"at"`
	RecordedAt  time.Time `bun:"recorded_at"`
}

type consentHistoryRow struct {
	bun.BaseModel `bun:"table:consent_history"`

	WorkspaceID uuid.UUID `bun:"workspace_id,pk,type:uuid"`
	ID          uuid.UUID `bun:"id,pk,type:uuid"`
	ContactID   uuid.UUID `bun:"contact_id,type:uuid"`
	Channel     string    `bun:"channel"`
	Status      string    `bun:"status"`
	Source      *string   `bun:"source"`
	Evidence    *string   `bun:"evidence"`
	At          time.Time `bun:"at"`
	RecordedAt  time.Time `bun:"recorded_at"`
}

func (r *consentRow) domain() *crmhub.Consent {
	return &crmhub.Consent{ContactID: r.ContactID, Channel: crmhub.Channel(r.Channel), Status: crmhub.ConsentStatus(r.Status),
		Source: r.Source, Evidence: r.Evidence, At: r.At, RecordedAt: r.RecordedAt}
}

type suppressionRow struct {
	bun.BaseModel `bun:"table:suppressions"`

	WorkspaceID uuid.UUID  `bun:"workspace_id,pk,type:uuid"`
	ID          uuid.UUID  `bun:"id,pk,type:uuid"`
	ContactID   uuid.UUID  `bun:"contact_id,type:uuid"`
	Channel     string     `bun:"channel"`
	Reason      string     `bun:"reason"`
	CreatedAt   time.Time  `bun:"created_at"`
	ExpiresAt   *time.Time `bun:"expires_at"`
	LiftedAt    *time.Time `bun:"lifted_at"`
}

func (r *suppressionRow) domain() *crmhub.Suppression {
	return &crmhub.Suppression{ID: r.ID, ContactID: r.ContactID, Channel: crmhub.Channel(r.Channel), Reason: r.Reason,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, LiftedAt: r.LiftedAt}
}

// SetConsent records a consent change. The history keeps every call; the
// current state moves only to a change at least as recent as the one it
// holds, so late-arriving old records cannot overwrite newer ones.
func (s *ConsentService) SetConsent(ctx context.Context, contactID uuid.UUID, in crmhub.ConsentInput) (*crmhub.Consent, error) {
	if !in.Channel.Valid() {
		return nil, crmhub.Invalid("channel", "unknown channel %q", in.Channel)
	}
	if !slices.Contains(crmhub.ConsentStatuses, in.Status) {
		return nil, crmhub.Invalid("status", "unknown consent status %q", in.Status)
	}
	source, err := crmhub.OptionalText(in.Source, "source", crmhub.MaxConsentSourceLength)
	if err != nil {
		return nil, err
	}
	evidence, err := crmhub.OptionalText(in.Evidence, "evidence", crmhub.MaxConsentEvidenceLength)
	if err != nil {
		return nil, err
	}
	var out *crmhub.Consent
	err = s.db.write(ctx, crmhub.ScopeContactsWrite, func(ctx context.Context, t *tx) error {
		at := t.now
		if in.At != nil {
			if in.At.After(t.now.Add(clockSkew)) {
				return crmhub.Invalid("at", "a consent cannot be given in the future")
			}
			at = in.At.UTC().Truncate(time.Microsecond)
		}
		target, err := liveContact(ctx, t, contactID, "contactId")
		if err != nil {
			return err
		}
		h := consentHistoryRow{WorkspaceID: t.ws, ID: newID(), ContactID: target, Channel: string(in.Channel),
			Status: string(in.Status), Source: source, Evidence: evidence, At: at, RecordedAt: t.now}
		if _, err := t.NewInsert().Model(&h).Exec(ctx); err != nil {
			return fmt.Errorf("db: record consent: %w", err)
		}
		row := consentRow{WorkspaceID: t.ws, ContactID: target, Channel: h.Channel, Status: h.Status,
			Source: source, Evidence: evidence, At: at, RecordedAt: t.now}
		var prev consentRow
		err = t.NewSelect().Model(&prev).Where("workspace_id = ? AND contact_id = ? AND channel = ?", t.ws, target, h.Channel).
			For("UPDATE").Scan(ctx)
		current := true
		switch {
		case isNoRows(err):
			_, err = t.NewInsert().Model(&row).Exec(ctx)
		case err == nil && !prev.At.After(at):
			_, err = t.NewUpdate().Model(&row).Column("status", "source", "evidence", "at", "recorded_at").WherePK().Exec(ctx)
		case err == nil:
			row, current = prev, false // an older record: history only
		}
		if err != nil {
			return fmt.Errorf("db: set consent: %w", err)
		}
		out = row.domain()
		if current {
			cid := crmhub.GlobalID(crmhub.KindContact, target)
			t.emit(crmhub.EventConsentChanged, cid, crmhub.ConsentChangedPayload{ContactID: cid,
				Channel: crmhub.Channel(row.Channel), Status: crmhub.ConsentStatus(row.Status),
				PreviousStatus: crmhub.ConsentStatus(prev.Status), Source: row.Source, At: row.At})
		}
		return nil
	})
	return out, err
}

// SuppressContact stops messages to a contact on a channel.
func (s *ConsentService) SuppressContact(ctx context.Context, contactID uuid.UUID, in crmhub.SuppressionInput) (*crmhub.Suppression, error) {
	if !in.Channel.Valid() {
		return nil, crmhub.Invalid("channel", "unknown channel %q", in.Channel)
	}
	reason := strings.TrimSpace(in.Reason)
	if reason == "" || utf8.RuneCountInString(reason) > crmhub.MaxSuppressionReason {
		return nil, crmhub.Invalid("reason", "reason must have 1 to %d characters", crmhub.MaxSuppressionReason)
	}
	var row suppressionRow
	err := s.db.write(ctx, crmhub.ScopeContactsWrite, func(ctx context.Context, t *tx) error {
		if in.ExpiresAt != nil && !in.ExpiresAt.After(t.now) {
			return crmhub.Invalid("expiresAt", "expiresAt must lie in the future")
		}
		target, err := liveContact(ctx, t, contactID, "contactId")
		if err != nil {
			return err
		}
		row = suppressionRow{WorkspaceID: t.ws, ID: newID(), ContactID: target, Channel: string(in.Channel),
			Reason: reason, CreatedAt: t.now, ExpiresAt: in.ExpiresAt}
		if _, err := t.NewInsert().Model(&row).Exec(ctx); err != nil {
			return fmt.Errorf("db: suppress: %w", err)
		}
		emitSuppression(t, &row, "suppressed")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return row.domain(), nil
}

// Suppression returns one suppression.
func (s *ConsentService) Suppression(ctx context.Context, id uuid.UUID) (*crmhub.Suppression, error) {
	var row suppressionRow
	err := s.db.read(ctx, crmhub.ScopeContactsRead, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).Scan(ctx)
	})
	if err != nil {
		return nil, notFound(err, crmhub.KindSuppression, "get suppression")
	}
	return row.domain(), nil
}

// LiftSuppression ends a suppression; lifting it twice keeps the first time.
func (s *ConsentService) LiftSuppression(ctx context.Context, id uuid.UUID) (*crmhub.Suppression, error) {
	var row suppressionRow
	err := s.db.write(ctx, crmhub.ScopeContactsWrite, func(ctx context.Context, t *tx) error {
		err := t.NewUpdate().Model(&row).Set("lifted_at = coalesce(lifted_at, ?)", t.now).
			Where("workspace_id = ? AND id = ?", t.ws, id).Returning("*").Scan(ctx)
		if err != nil {
			return notFound(err, crmhub.KindSuppression, "lift suppression")
		}
		emitSuppression(t, &row, "lifted")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return row.domain(), nil
}

func emitSuppression(t *tx, r *suppressionRow, change string) {
	cid := crmhub.GlobalID(crmhub.KindContact, r.ContactID)
	t.emit(crmhub.EventSuppressionChanged, cid, crmhub.SuppressionChangedPayload{ContactID: cid, ID: r.domain().GlobalID(),
		Channel: crmhub.Channel(r.Channel), Reason: r.Reason, ExpiresAt: r.ExpiresAt, Change: change})
}

// ConsentsByContact returns each contact's current consents by channel.
func (s *ConsentService) ConsentsByContact(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*crmhub.Consent, error) {
	var rows []consentRow
	err := s.db.read(ctx, crmhub.ScopeContactsRead, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model(&rows).Where("workspace_id = ? AND contact_id = ANY(?)", t.ws, pgdialect.Array(ids)).
			Order("contact_id", "channel").Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("db: consents by contact: %w", err)
	}
	out := make(map[uuid.UUID][]*crmhub.Consent, len(ids))
	for i := range rows {
		out[rows[i].ContactID] = append(out[rows[i].ContactID], rows[i].domain())
	}
	return out, nil
}

// ConsentHistory returns each key's changes, newest first, at most
// MaxConsentHistory per key; one statement for all keys.
func (s *ConsentService) ConsentHistory(ctx context.Context, keys []crmhub.ConsentHistoryKey) (map[crmhub.ConsentHistoryKey][]*crmhub.Consent, error) {
	ids := make([]uuid.UUID, 0, len(keys))
	for _, k := range keys {
		ids = append(ids, k.ContactID)
	}
	var rows []consentHistoryRow
	err := s.db.read(ctx, crmhub.ScopeContactsRead, func(ctx context.Context, t *tx) error {
		inner := t.NewSelect().Model((*consentHistoryRow)(nil)).Column("*").
			ColumnExpr("row_number() OVER (PARTITION BY contact_id, channel ORDER BY at DESC, id DESC) AS rn").
			Where("workspace_id = ? AND contact_id = ANY(?)", t.ws, pgdialect.Array(ids))
		return t.NewSelect().TableExpr("(?) AS h", inner).
			Column("workspace_id", "id", "contact_id", "channel", "status", "source", "evidence", "at", "recorded_at").
			Where("rn <= ?", crmhub.MaxConsentHistory).OrderExpr("contact_id, at DESC, id DESC").Scan(ctx, &rows)
	})
	if err != nil {
		return nil, fmt.Errorf("db: consent history: %w", err)
	}
	out := make(map[crmhub.ConsentHistoryKey][]*crmhub.Consent, len(keys))
	for _, k := range keys {
		list := []*crmhub.Consent{}
		for i := range rows {
			r := &rows[i]
			if r.ContactID == k.ContactID && (k.Channel == "" || string(k.Channel) == r.Channel) && len(list) < crmhub.MaxConsentHistory {
				c := consentRow{ContactID: r.ContactID, Channel: r.Channel, Status: r.Status, Source: r.Source,
					Evidence: r.Evidence, At: r.At, RecordedAt: r.RecordedAt}
				list = append(list, c.domain())
			}
		}
		out[k] = list
	}
	return out, nil
}

// SuppressionsByContact returns each contact's suppressions, newest first,
// lifted and expired ones included (at most 100 per contact).
func (s *ConsentService) SuppressionsByContact(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*crmhub.Suppression, error) {
	var rows []suppressionRow
	err := s.db.read(ctx, crmhub.ScopeContactsRead, func(ctx context.Context, t *tx) error {
		inner := t.NewSelect().Model((*suppressionRow)(nil)).Column("*").
			ColumnExpr("row_number() OVER (PARTITION BY contact_id ORDER BY created_at DESC, id DESC) AS rn").
			Where("workspace_id = ? AND contact_id = ANY(?)", t.ws, pgdialect.Array(ids))
		return t.NewSelect().TableExpr("(?) AS s", inner).
			Column("workspace_id", "id", "contact_id", "channel", "reason", "created_at", "expires_at", "lifted_at").
			Where("rn <= 100").OrderExpr("contact_id, created_at DESC, id DESC").Scan(ctx, &rows)
	})
	if err != nil {
		return nil, fmt.Errorf("db: suppressions by contact: %w", err)
	}
	out := make(map[uuid.UUID][]*crmhub.Suppression, len(ids))
	for i := range rows {
		out[rows[i].ContactID] = append(out[rows[i].ContactID], rows[i].domain())
	}
	return out, nil
}

// channelBlocked reports why a contact may not be messaged on a channel
// now: an active suppression or an opt-out. "" means it may.
func channelBlocked(ctx context.Context, t *tx, contactID uuid.UUID, ch crmhub.Channel) (string, error) {
	var reason string
	err := t.NewRaw(`SELECT coalesce(
		(SELECT 'suppressed: ' || reason FROM suppressions WHERE workspace_id = ? AND contact_id = ? AND channel = ?
			AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC LIMIT 1),
		(SELECT 'opted out' FROM consents WHERE workspace_id = ? AND contact_id = ? AND channel = ? AND status = ?),
		'')`, t.ws, contactID, string(ch), t.now, t.ws, contactID, string(ch), string(crmhub.ConsentOptedOut)).Scan(ctx, &reason)
	if err != nil {
		return "", fmt.Errorf("db: check suppression: %w", err)
	}
	return reason, nil
}

// liveContact follows a merge redirect to the contact an id names today, or
// returns ENOTFOUND naming field.
func liveContact(ctx context.Context, t *tx, id uuid.UUID, field string) (uuid.UUID, error) {
	resolved, err := resolveContactIDs(ctx, t, []uuid.UUID{id})
	if err != nil {
		return uuid.Nil, err
	}
	target, ok := resolved[id]
	if !ok {
		return uuid.Nil, &crmhub.Error{Code: crmhub.ENOTFOUND, Field: field, Message: "contact not found"}
	}
	return target, nil
}
