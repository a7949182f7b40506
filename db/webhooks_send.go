package db

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/internal/safehttp"
	"github.com/google/uuid"
	"github.com/riverqueue/river"
)

// maxRetryAfter is the longest Retry-After honoured; a longer one is
// ignored in favour of the schedule.
const maxRetryAfter = 24 * time.Hour

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

// Timeout leaves the attempt its HTTP timeout plus time for the database.
func (w *webhookWorker) Timeout(*river.Job[webhookJobArgs]) time.Duration {
	return w.s.cfg.Timeout + 30*time.Second
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
		return send.cancel
	}

	at := s.db.Now()
	res := s.client.post(ctx, send, at)

	var outcome error
	err = s.db.inWorkspace(context.WithoutCancel(ctx), ws, "system", false, func(ctx context.Context, t *tx) error {
		var d webhookDeliveryRow
		err := t.NewSelect().Model(&d).Where("workspace_id = ? AND id = ?", ws, id).For("UPDATE").Scan(ctx)
		if isNoRows(err) {
			return nil // deleted with its endpoint meanwhile
		} else if err != nil {
			return fmt.Errorf("db: reload webhook delivery: %w", err)
		}
		d.AttemptCount++
		attempt := &webhookAttemptRow{WorkspaceID: ws, DeliveryID: id, N: d.AttemptCount, At: at, StatusCode: res.status,
			LatencyMS: int(res.latency.Milliseconds()), ResponseSnippet: res.snippet, Error: res.err}
		if _, err := t.NewInsert().Model(attempt).Exec(ctx); err != nil {
			return fmt.Errorf("db: record webhook attempt: %w", err)
		}
		d.NextAttemptAt = nil
		switch wait, retry := webhookRetryWait(s.cfg.RetrySchedule, d.AttemptCount, res.retryAfter, t.now, rand.Float64()); {
		case res.status >= 200 && res.status < 300:
			d.Status = string(crmhub.WebhookDelivered)
		case res.status == http.StatusGone:
			d.Status = string(crmhub.WebhookFailed)
			reason := fmt.Sprintf("the endpoint answered 410 Gone at %s", at.Format(time.RFC3339))
			_, err := t.NewUpdate().Model((*webhookEndpointRow)(nil)).
				Set("enabled = false, disabled_reason = ?, updated_at = ?", reason, t.now).
				Where("workspace_id = ? AND id = ?", ws, d.EndpointID).Exec(ctx)
			if err != nil {
				return fmt.Errorf("db: disable webhook endpoint: %w", err)
			}
			outcome = river.JobCancel(errors.New(reason))
		case retry:
			d.Status = string(crmhub.WebhookRetrying)
			next := t.now.Add(wait)
			d.NextAttemptAt = &next
			outcome = river.JobSnooze(wait)
		default:
			d.Status = string(crmhub.WebhookFailed)
			outcome = river.JobCancel(fmt.Errorf("webhook delivery failed after %d attempts", d.AttemptCount))
		}
		d.UpdatedAt = t.now
		_, err = t.NewUpdate().Model(&d).Column("attempt_count", "status", "next_attempt_at", "updated_at").WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return err
	}
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

// webhookSignature signs per Standard Webhooks: "v1," + base64 of
// HMAC-SHA256(key, id + "." + timestamp + "." + body).
func webhookSignature(key []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// webhookRetryWait is the wait before the next attempt after `failed`
// failed attempts: the schedule's step with ±10% jitter (jitter is a
// uniform draw in [0, 1)), or Retry-After when that asks for longer (up to
// maxRetryAfter). It returns false when the schedule is exhausted.
func webhookRetryWait(schedule []time.Duration, failed int, retryAfter string, now time.Time, jitter float64) (time.Duration, bool) {
	if failed < 1 || failed > len(schedule) {
		return 0, false
	}
	d := schedule[failed-1]
	d += time.Duration((jitter*0.2 - 0.1) * float64(d))
	if ra, ok := safehttp.ParseRetryAfter(retryAfter, now); ok && ra <= maxRetryAfter && ra > d {
		d = ra
	}
	return d, true
}

// webhookHTTP posts deliveries.
type webhookHTTP struct {
	client  *http.Client
	timeout time.Duration
}

// attemptResult is what one POST came to.
type attemptResult struct {
	status     int
	latency    time.Duration
	snippet    string
	err        string
	retryAfter string
}

// newWebhookHTTP returns the delivery client: see safehttp.NewClient.
func newWebhookHTTP(timeout time.Duration, allowPrivate bool) webhookHTTP {
	return webhookHTTP{timeout: timeout, client: safehttp.NewClient(timeout, allowPrivate)}
}

// post makes one signed POST at time `at` and reports its result.
func (h webhookHTTP) post(ctx context.Context, send *webhookSend, at time.Time) attemptResult {
	ts := at.Unix()
	sigs := make([]string, len(send.keys))
	for i, k := range send.keys {
		sigs[i] = webhookSignature(k, send.webhookID, ts, send.body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, send.url, bytes.NewReader(send.body))
	if err != nil {
		return attemptResult{err: truncateString(err.Error(), crmhub.MaxWebhookResponseSnippet)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "crmhub-webhooks/1")
	req.Header.Set("webhook-id", send.webhookID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", strings.Join(sigs, " "))
	start := time.Now()
	resp, err := h.client.Do(req)
	if err != nil {
		res := attemptResult{latency: time.Since(start), err: err.Error()}
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			res.err = fmt.Sprintf("timed out after %s", h.timeout)
		}
		res.err = truncateString(res.err, crmhub.MaxWebhookResponseSnippet)
		return res
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, crmhub.MaxWebhookResponseSnippet))
	res := attemptResult{status: resp.StatusCode, latency: time.Since(start), snippet: cleanSnippet(b),
		retryAfter: resp.Header.Get("Retry-After")}
	if err != nil {
		res.err = truncateString("reading the answer: "+err.Error(), crmhub.MaxWebhookResponseSnippet)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return res
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// cleanSnippet makes a response's start storable as text: valid UTF-8
// (a character cut at the limit is dropped) without NUL bytes.
func cleanSnippet(b []byte) string {
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), ""), "\x00", "")
}
