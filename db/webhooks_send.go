package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/riverqueue/river"
)

// statusGone is the answer (410 Gone) that disables an endpoint.
const statusGone = 410

// RegisterJobs adds the delivery worker and its queue to a River set.
func (s *WebhookService) RegisterJobs(workers *river.Workers, queues map[string]river.QueueConfig) {
	river.AddWorker(workers, &webhookWorker{s: s})
	queues[s.cfg.Queue] = river.QueueConfig{MaxWorkers: s.cfg.Workers}
}

// webhookWorker makes delivery attempts. The delivery row, not River's
// job, counts attempts and schedules retries: a failed attempt snoozes
// the job (which River does not count as an attempt) for the schedule's
// wait, so Retry-After can be honoured; a final outcome cancels it. River's
// own retries are left for errors of the database itself.
type webhookWorker struct {
	river.WorkerDefaults[webhookJobArgs]
	s *WebhookService
}

// Timeout leaves the attempt its sender's timeout plus time for the database.
func (w *webhookWorker) Timeout(*river.Job[webhookJobArgs]) time.Duration {
	return w.s.cfg.Sender.Timeout() + 5*time.Second
}

// Work makes one attempt.
func (w *webhookWorker) Work(ctx context.Context, job *river.Job[webhookJobArgs]) error {
	return w.s.deliver(ctx, job.Args.WorkspaceID, job.Args.DeliveryID)
}

// webhookSend is what an attempt needs, read in one short transaction so
// none stays open across the network call.
type webhookSend struct {
	url       string
	webhookID string
	body      []byte
	keys      [][]byte
	// cancel, when set, ends the job without an attempt.
	cancel error
}

// deliver makes one attempt of a delivery and records it. It returns nil
// when the delivery is done (or gone), river.JobSnooze to retry, and
// river.JobCancel when it has failed for good.
func (s *WebhookService) deliver(ctx context.Context, ws, id uuid.UUID) error {
	send, err := s.prepare(ctx, ws, id)
	if err != nil || send == nil {
		return err
	}
	if send.cancel != nil {
		s.outcomes.add(outcomeDisabled)
		return send.cancel
	}

	at := s.db.Now()
	res, retryAfter := s.cfg.Sender.Send(ctx, send.url, send.webhookID, send.body, send.keys, at)

	var outcome error
	var counted string // the attempt's outcome, counted once it is recorded
	err = s.db.inWorkspace(context.WithoutCancel(ctx), ws, "system", false, func(ctx context.Context, t *tx) error {
		var d webhookDeliveryRow
		err := t.NewSelect().Model(&d).Where("workspace_id = ? AND id = ?", ws, id).For("UPDATE").Scan(ctx)
		counted = ""
		if isNoRows(err) {
			return nil // deleted with its endpoint meanwhile
		} else if err != nil {
			return fmt.Errorf("db: reload webhook delivery: %w", err)
		}
		d.AttemptCount++
		attempt := &webhookAttemptRow{WorkspaceID: ws, DeliveryID: id, N: d.AttemptCount, At: at, StatusCode: res.StatusCode,
			LatencyMS: res.LatencyMS, ResponseSnippet: res.ResponseSnippet, Error: truncateString(res.Error, crmhub.MaxWebhookResponseSnippet)}
		if _, err := t.NewInsert().Model(attempt).Exec(ctx); err != nil {
			return fmt.Errorf("db: record webhook attempt: %w", err)
		}
		d.NextAttemptAt = nil
		switch wait, retry := s.cfg.Sender.RetryWait(d.AttemptCount, retryAfter, t.now); {
		case res.StatusCode >= 200 && res.StatusCode < 300:
			d.Status = string(crmhub.WebhookDelivered)
			counted = outcomeDelivered
		case res.StatusCode == statusGone:
			d.Status = string(crmhub.WebhookFailed)
			reason := fmt.Sprintf("the endpoint answered 410 Gone at %s", at.Format(time.RFC3339))
			_, err := t.NewUpdate().Model((*webhookEndpointRow)(nil)).
				Set("enabled = false, disabled_reason = ?, updated_at = ?", reason, t.now).
				Where("workspace_id = ? AND id = ?", ws, d.EndpointID).Exec(ctx)
			if err != nil {
				return fmt.Errorf("db: disable webhook endpoint: %w", err)
			}
			outcome = river.JobCancel(errors.New(reason))
			counted = outcomeDisabled
		case retry:
			d.Status = string(crmhub.WebhookRetrying)
			next := t.now.Add(wait)
			d.NextAttemptAt = &next
			outcome = river.JobSnooze(wait)
			counted = outcomeRetrying
		default:
			d.Status = string(crmhub.WebhookFailed)
			outcome = river.JobCancel(fmt.Errorf("webhook delivery failed after %d attempts", d.AttemptCount))
			counted = outcomeFailed
		}
		d.UpdatedAt = t.now
		_, err = t.NewUpdate().Model(&d).Column("attempt_count", "status", "next_attempt_at", "updated_at").WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return err
	}
	s.outcomes.add(counted)
	return outcome
}

// prepare loads what an attempt sends. It returns nil when there is
// nothing to do, and a send with cancel set (the delivery marked FAILED)
// when the endpoint is disabled.
func (s *WebhookService) prepare(ctx context.Context, ws, id uuid.UUID) (*webhookSend, error) {
	var send *webhookSend
	err := s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		var d webhookDeliveryRow
		err := t.NewSelect().Model(&d).Where("workspace_id = ? AND id = ?", ws, id).Scan(ctx)
		if isNoRows(err) {
			return nil
		} else if err != nil {
			return fmt.Errorf("db: load webhook delivery: %w", err)
		} else if d.final() {
			return nil
		}
		var ep webhookEndpointRow
		if err := t.NewSelect().Model(&ep).Where("workspace_id = ? AND id = ?", ws, d.EndpointID).Scan(ctx); err != nil {
			return fmt.Errorf("db: load webhook endpoint: %w", err)
		}
		send = &webhookSend{url: ep.URL, webhookID: d.WebhookID}
		if !ep.Enabled {
			send.cancel = river.JobCancel(errors.New("webhook endpoint disabled"))
			_, err := t.NewUpdate().Model(&d).Set("status = ?, next_attempt_at = NULL, updated_at = ?",
				string(crmhub.WebhookFailed), t.now).WherePK().Exec(ctx)
			return err
		}
		msg, err := webhookMessage(ctx, t, &d, &ep)
		if err != nil {
			return err
		}
		if send.body, err = json.Marshal(msg); err != nil {
			return fmt.Errorf("db: encode webhook body: %w", err)
		}
		aad := secretAAD(ws, ep.ID)
		key, err := s.cfg.Sealer.open(ep.Secret, aad)
		if err != nil {
			return err
		}
		send.keys = [][]byte{key}
		if ep.PreviousSecret != nil && ep.PreviousSecretExpiresAt != nil && t.now.Before(*ep.PreviousSecretExpiresAt) {
			old, err := s.cfg.Sealer.open(ep.PreviousSecret, aad)
			if err != nil {
				return err
			}
			send.keys = append(send.keys, old)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("db: prepare webhook delivery: %w", err)
	}
	return send, nil
}

// webhookMessage is the body of a delivery: its event, or a test message.
func webhookMessage(ctx context.Context, t *tx, d *webhookDeliveryRow, ep *webhookEndpointRow) (*crmhub.WebhookMessage, error) {
	if d.EventPosition == nil {
		gid := ep.domain().GlobalID()
		payload, _ := json.Marshal(map[string]string{"endpointId": gid,
			"message": "This is a test delivery from crmhub."})
		return &crmhub.WebhookMessage{ID: d.ID.String(), Type: d.EventType, OccurredAt: d.CreatedAt, SubjectID: gid,
			Actor: "system", Payload: payload}, nil
	}
	var ev eventRow
	err := t.NewSelect().Model(&ev).Where("workspace_id = ? AND position = ?", t.ws, *d.EventPosition).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: load event: %w", err)
	}
	return crmhub.NewWebhookMessage(ev.domain()), nil
}
