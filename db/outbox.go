package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

// Delivery timing.
const (
	// deliveryLease is how long a claimed message is left alone by other
	// workers while one attempt is in flight. A worker that dies mid-send
	// releases it by simply not coming back.
	deliveryLease = 2 * time.Minute
	// retryBase and retryMax shape the exponential backoff of failed attempts.
	retryBase = 5 * time.Second
	retryMax  = time.Hour
	// deliveryExpiry is how long a message may stay QUEUED before it is
	// failed with DELIVERY_EXPIRED, so a dead channel is visible, not silent.
	deliveryExpiry = 72 * time.Hour
)

// ErrDeliveryExpired is the error code of a message the channel never took.
const ErrDeliveryExpired = "DELIVERY_EXPIRED"

// deliver makes one delivery attempt of a queued message and returns the
// message as it then stands (nil if it was not due or not queued). The
// message is claimed in one short transaction and the result stored in
// another, so no transaction stays open across the network call.
func (s *ConversationService) deliver(ctx context.Context, ws, id uuid.UUID) (*crmhub.Message, error) {
	var out crmhub.OutboundMessage
	claimed := false
	err := s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		var row messageRow
		err := t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ? AND status = 'QUEUED' AND next_attempt_at <= ?", ws, id, t.now).
			For("UPDATE SKIP LOCKED").Scan(ctx)
		if isNoRows(err) {
			return nil
		} else if err != nil {
			return fmt.Errorf("db: claim message: %w", err)
		}
		if t.now.Sub(row.CreatedAt) > deliveryExpiry {
			code := ErrDeliveryExpired
			return setMessageStatus(ctx, t, &row, crmhub.MessageFailed, &code, nil)
		}
		var conv conversationRow
		if err := t.NewSelect().Model(&conv).Where("workspace_id = ? AND id = ?", ws, row.ConversationID).Scan(ctx); err != nil {
			return fmt.Errorf("db: load conversation: %w", err)
		}
		out = crmhub.OutboundMessage{WorkspaceID: ws, Message: row.domain(), Channel: crmhub.Channel(conv.Channel), ChatID: conv.ChatID,
			ConnectionID: conv.ConnectionID, RemoteChannelID: conv.RemoteChannelID}
		if row.ReplyToID != nil {
			var ext *string
			err := t.NewSelect().Model((*messageRow)(nil)).Column("external_id").
				Where("workspace_id = ? AND id = ?", ws, *row.ReplyToID).Scan(ctx, &ext)
			if err != nil && !isNoRows(err) {
				return fmt.Errorf("db: load quoted message: %w", err)
			}
			out.ReplyToExtID = ext
		}
		lease := t.now.Add(deliveryLease)
		_, err = t.NewUpdate().Model(&row).Set("attempts = attempts + 1, next_attempt_at = ?", lease).WherePK().Exec(ctx)
		claimed = err == nil
		return err
	})
	if err != nil || !claimed {
		return nil, err
	}

	res, sendErr := s.channel.Send(ctx, out)

	var row messageRow
	err = s.db.inWorkspace(context.WithoutCancel(ctx), ws, "system", false, func(ctx context.Context, t *tx) error {
		if err := t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ?", ws, id).For("UPDATE").Scan(ctx); err != nil {
			return fmt.Errorf("db: reload message: %w", err)
		}
		var refused *crmhub.SendError
		switch {
		case sendErr == nil:
			ext := res.ExternalID
			return setMessageStatus(ctx, t, &row, crmhub.MessageSent, nil, &ext)
		case errors.As(sendErr, &refused):
			code := refused.Code
			return setMessageStatus(ctx, t, &row, crmhub.MessageFailed, &code, nil)
		case row.Status == string(crmhub.MessageQueued):
			next := t.now.Add(backoff(row.Attempts))
			row.NextAttemptAt = &next
			_, err := t.NewUpdate().Model(&row).Column("next_attempt_at").WherePK().Exec(ctx)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return row.domain(), sendErr
}

// backoff is the wait before attempt n+1: exponential from retryBase, capped
// at retryMax, with ±10% jitter so retries of one outage spread out.
func backoff(attempts int) time.Duration {
	d := retryBase
	for i := 1; i < attempts && d < retryMax; i++ {
		d *= 2
	}
	d = min(d, retryMax)
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

// Outbox retries queued messages: a background loop (see loop) whose
// bounded RunOnce tests call directly.
type Outbox struct {
	loop
	svc   *ConversationService
	batch int
}

// NewOutbox returns an outbox that looks for due messages every interval.
func NewOutbox(svc *ConversationService, interval time.Duration, log *slog.Logger) *Outbox {
	o := &Outbox{svc: svc, batch: 100}
	o.init("outbox", interval, log, func(ctx context.Context) (bool, error) {
		_, err := o.RunOnce(ctx)
		return false, err
	})
	return o
}

// RunOnce attempts delivery of up to one batch of due messages, in all
// workspaces, and returns how many it attempted.
func (o *Outbox) RunOnce(ctx context.Context) (int, error) {
	var due []struct {
		WorkspaceID uuid.UUID `bun:"workspace_id,type:uuid"`
		ID          uuid.UUID `bun:"id,type:uuid"`
	}
	if err := o.svc.db.Bun.NewRaw("SELECT * FROM queued_messages(?, ?)", o.svc.db.Now(), o.batch).Scan(ctx, &due); err != nil {
		return 0, fmt.Errorf("db: list queued messages: %w", err)
	}
	for _, m := range due {
		if _, err := o.svc.deliver(ctx, m.WorkspaceID, m.ID); err != nil {
			o.log.Warn("message delivery failed; will retry", "message", crmhub.GlobalID(crmhub.KindMessage, m.ID), "err", err)
		}
	}
	return len(due), nil
}
