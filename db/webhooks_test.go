package db_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/internal/stdwebhook"
	"github.com/crmhub/crmhub/webhook"
	"github.com/crmhub/crmhub/webhook/webhooktest"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/rivertype"
)

// The event types of these tests, as webhook endpoints and bodies spell
// them.
const (
	contactCreated = string(crmhub.EventContactCreated)
	contactDeleted = string(crmhub.EventContactDeleted)
)

// webhookQueues numbers the River queue of each test, so that a test's
// River works only the deliveries of its own service.
var webhookQueues atomic.Int64

type webhookEnv struct {
	d    *db.DB
	svc  *db.WebhookService
	disp *db.WebhookDispatcher
}

// newWebhooks builds a webhook service with test defaults: the development
// sealer, a queue of its own and (unless cfg has one) a webhooktest sender,
// retries 10 ms apart, that allows private addresses when the service does.
func newWebhooks(t *testing.T, d *db.DB, cfg db.WebhookConfig) *webhookEnv {
	t.Helper()
	if cfg.Sealer == nil {
		cfg.Sealer = db.NewDevSealer()
	}
	if cfg.Sender == nil {
		cfg.Sender = webhooktest.NewSender(webhook.Config{AllowPrivate: cfg.AllowPrivate})
	}
	if cfg.Queue == "" {
		cfg.Queue = newQueueName()
	}
	svc, err := db.NewWebhookService(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &webhookEnv{d: d, svc: svc, disp: db.NewWebhookDispatcher(svc, 20*time.Millisecond)}
}

// wantOutcomes waits until the service has counted the attempts of want
// by outcome (DeliveryCounts); the other outcomes must stay at zero.
func (e *webhookEnv) wantOutcomes(t *testing.T, want map[string]uint64) {
	t.Helper()
	full := map[string]uint64{"delivered": 0, "retrying": 0, "failed": 0, "disabled": 0}
	maps.Copy(full, want)
	eventually(t, fmt.Sprintf("delivery outcomes %v are counted", full), func() bool {
		return maps.Equal(e.svc.DeliveryCounts(), full)
	})
}

func newQueueName() string { return fmt.Sprintf("wh_test_%d", webhookQueues.Add(1)) }

// run starts River with the service's worker (and the given middleware),
// and the dispatcher, until the test ends.
func (e *webhookEnv) run(t *testing.T, mw ...rivertype.Middleware) *webhookEnv {
	t.Helper()
	riv, err := db.NewRiver(e.d, db.RiverConfig{FetchPollInterval: 20 * time.Millisecond, TestOnly: true, Middleware: mw}, e.svc)
	if err != nil {
		t.Fatal(err)
	}
	if err := riv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.disp.Start(context.Background())
	t.Cleanup(func() {
		e.disp.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := riv.Stop(ctx); err != nil {
			t.Errorf("stop river: %v", err)
		}
	})
	return e
}

// hook registers rc as an endpoint of ctx's workspace for the event types
// and has it verify every request with the endpoint's secret.
func (e *webhookEnv) hook(t *testing.T, ctx context.Context, rc *receiver, types ...string) *crmhub.WebhookEndpoint {
	t.Helper()
	ep, secret, err := e.svc.CreateWebhookEndpoint(ctx, rc.URL, types, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc.SetSecrets(secret)
	return ep
}

// receiver is a webhook endpoint that verifies every request against the
// Standard Webhooks spec, independently of the code under test.
type receiver = webhooktest.Receiver[crmhub.WebhookMessage]

// received is one request a receiver got.
type received = webhooktest.Received[crmhub.WebhookMessage]

// newReceiver starts a receiver; answer (nil: 204) writes the answer to
// the n-th request, counting from 1. The clock may be a test's, so the
// timestamp is only checked to be unix seconds.
func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	return webhooktest.NewReceiver[crmhub.WebhookMessage](t, answer, webhooktest.Checks{})
}

// eventually polls a condition of the database until it holds or a
// deadline passes: background work is awaited, never slept on blindly.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// scanIn reads the one value of a query inside workspace ws into dst.
func scanIn(t *testing.T, d *db.DB, ws uuid.UUID, dst any, query string, args ...any) {
	t.Helper()
	inTenant(t, d, ws, func(tx pgx.Tx) error {
		if err := tx.QueryRow(context.Background(), query, args...).Scan(dst); err != nil {
			return fmt.Errorf("%s: %w", query, err)
		}
		return nil
	})
}

// countIn runs a count query inside workspace ws, as the service role.
func countIn(t *testing.T, d *db.DB, ws uuid.UUID, query string, args ...any) int {
	t.Helper()
	var n int
	scanIn(t, d, ws, &n, query, args...)
	return n
}

func newContacts(t *testing.T, ctx context.Context, svc *db.ContactService, prefix string, n int) []*crmhub.Contact {
	t.Helper()
	var out []*crmhub.Contact
	for i := range n {
		c, err := svc.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{
			{Type: crmhub.IdentityEmail, Value: fmt.Sprintf("%s%d@hooks.example", prefix, i)}}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if crmhub.ErrorCode(err) != code {
		t.Errorf("%s: err = %v, want %s", what, err, code)
	}
}

func wantInvalid(t *testing.T, what string, err error, field string) {
	t.Helper()
	e, ok := err.(*crmhub.Error)
	if !ok || e.Code != crmhub.EINVALID || e.Field != field {
		t.Errorf("%s: err = %v, want VALIDATION_ERROR on %q", what, err, field)
	}
}

// onlyDelivery returns the endpoint's one delivery once it is final.
func onlyDelivery(t *testing.T, svc *db.WebhookService, ctx context.Context, ep uuid.UUID) *crmhub.WebhookDelivery {
	t.Helper()
	var d *crmhub.WebhookDelivery
	eventually(t, "the delivery is final", func() bool {
		conn, err := svc.WebhookDeliveries(ctx, &ep, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(conn.Edges) != 1 {
			return false
		}
		d = conn.Edges[0].Node
		return d.Status == crmhub.WebhookDelivered || d.Status == crmhub.WebhookFailed
	})
	return d
}

func TestWebhookSecretIsShownOnceAndSealed(t *testing.T) {
	d := dbtest.Open(t, nil)
	e := newWebhooks(t, d, db.WebhookConfig{AllowPrivate: true})
	ctx, ws, _ := dbtest.Workspace(t, d)
	desc := "  orders  "
	ep, secret, err := e.svc.CreateWebhookEndpoint(ctx, "http://127.0.0.1:9/hook",
		[]string{contactDeleted, contactCreated, contactDeleted}, &desc)
	if err != nil {
		t.Fatal(err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if !strings.HasPrefix(secret, "whsec_") || err != nil || len(key) != 32 {
		t.Fatalf("secret %q is not whsec_ + base64 of 32 bytes", secret)
	}
	if !ep.Enabled || *ep.Description != "orders" || !slices.Equal(ep.Events, []string{contactCreated, contactDeleted}) ||
		!strings.HasPrefix(ep.GlobalID(), "wh_") {
		t.Fatalf("endpoint = %+v", ep)
	}

	// No read shows the secret again.
	got, err := e.svc.WebhookEndpoint(ctx, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.svc.WebhookEndpoints(ctx, 0, "")
	if err != nil || len(list.Edges) != 1 {
		t.Fatalf("list: %+v %v", list, err)
	}
	on := false
	updated, err := e.svc.UpdateWebhookEndpoint(ctx, ep.ID, crmhub.WebhookEndpointPatch{Enabled: &on})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{ep, got, list, updated} {
		b, _ := json.Marshal(v)
		if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte("whsec_")) || bytes.Contains(b, []byte(secret[6:])) {
			t.Fatalf("a read returns the secret: %s", b)
		}
	}

	// At rest it is sealed: neither the key nor its text is in the row.
	stored := func() []byte {
		tx, err := d.Pool.Begin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background())
		tx.Exec(context.Background(), "SELECT set_config('app.workspace_id', $1, true)", ws.ID.String())
		var b []byte
		if err := tx.QueryRow(context.Background(), "SELECT secret FROM webhook_endpoints WHERE id = $1", ep.ID).Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	sealed := stored()
	if len(sealed) <= len(key) || bytes.Contains(sealed, key) || bytes.Contains(sealed, []byte(secret[6:])) {
		t.Fatalf("stored secret %x holds the plaintext", sealed)
	}

	// Rotation hands out a new secret once, and stores it sealed too.
	s2, err := e.svc.RotateWebhookSecret(ctx, ep.ID, time.Hour)
	if err != nil || s2 == secret || !strings.HasPrefix(s2, "whsec_") {
		t.Fatalf("rotate: %q %v", s2, err)
	}
	if bytes.Equal(stored(), sealed) || bytes.Contains(stored(), []byte(s2[6:])) {
		t.Fatal("rotation did not store a new sealed secret")
	}
	if got, _ := e.svc.WebhookEndpoint(ctx, ep.ID); got.PreviousSecretExpiresAt == nil {
		t.Fatal("rotation with grace leaves no expiry of the old secret")
	}

	// Bad input.
	_, _, err = e.svc.CreateWebhookEndpoint(ctx, "http://127.0.0.1:9/", nil, nil)
	wantInvalid(t, "no events", err, "events")
	_, _, err = e.svc.CreateWebhookEndpoint(ctx, "http://127.0.0.1:9/", []string{"contact.created", "contact.exploded"}, nil)
	wantInvalid(t, "unknown event", err, "events[1]")
	long := strings.Repeat("d", crmhub.MaxWebhookDescriptionLength+1)
	_, _, err = e.svc.CreateWebhookEndpoint(ctx, "http://127.0.0.1:9/", []string{"contact.created"}, &long)
	wantInvalid(t, "long description", err, "description")
	_, err = e.svc.RotateWebhookSecret(ctx, ep.ID, -time.Second)
	wantInvalid(t, "negative grace", err, "grace")
	_, err = e.svc.RotateWebhookSecret(ctx, ep.ID, crmhub.MaxWebhookSecretGrace+time.Second)
	wantInvalid(t, "long grace", err, "grace")
	_, err = e.svc.RotateWebhookSecret(ctx, uuid.New(), 0)
	wantCode(t, "rotate unknown", err, crmhub.ENOTFOUND)

	// Scope.
	key2, _, err := db.NewAuthService(d).CreateAPIKey(ctx, "reader", []crmhub.Scope{crmhub.ScopeEventsRead})
	if err != nil {
		t.Fatal(err)
	}
	reader := crmhub.NewContext(context.Background(), &crmhub.Principal{WorkspaceID: ws.ID, APIKeyID: key2.ID, Scopes: key2.Scopes})
	_, _, err = e.svc.CreateWebhookEndpoint(reader, "http://127.0.0.1:9/", []string{"contact.created"}, nil)
	wantCode(t, "create without webhooks:manage", err, crmhub.EFORBIDDEN)
	_, err = e.svc.WebhookEndpoints(reader, 0, "")
	wantCode(t, "list without webhooks:manage", err, crmhub.EFORBIDDEN)
	_, err = e.svc.SendTestWebhook(reader, ep.ID)
	wantCode(t, "test without webhooks:manage", err, crmhub.EFORBIDDEN)
	_, err = e.svc.WebhookDeliveries(context.Background(), nil, 0, "")
	wantCode(t, "anonymous", err, crmhub.EUNAUTHENTICATED)
}

func TestSealer(t *testing.T) {
	key, err := db.ParseSecretKey(db.NewSecretKey())
	if err != nil {
		t.Fatal(err)
	}
	s, err := db.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	plain, aad := []byte("signing key"), []byte("row 1")
	sealed := db.SealerSeal(s, plain, aad)
	if bytes.Contains(sealed, plain) || bytes.Equal(sealed, db.SealerSeal(s, plain, aad)) {
		t.Fatal("sealing shows the plaintext or is deterministic")
	}
	if got, err := db.SealerOpen(s, sealed, aad); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := db.SealerOpen(s, sealed, []byte("row 2")); err == nil {
		t.Fatal("a value sealed for one row opens for another")
	}
	if _, err := db.SealerOpen(db.NewDevSealer(), sealed, aad); err == nil {
		t.Fatal("a value opens under another key")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := db.SealerOpen(s, tampered, aad); err == nil {
		t.Fatal("a tampered value opens")
	}
	for _, bad := range []string{"", "not base64!", base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		if _, err := db.ParseSecretKey(bad); err == nil {
			t.Errorf("ParseSecretKey(%q) accepted", bad)
		}
	}
	if _, err := db.NewSealer(make([]byte, 16)); err == nil {
		t.Error("NewSealer accepted a 16-byte key")
	}
	if _, err := db.NewWebhookService(nil, db.WebhookConfig{Sender: webhooktest.NewSender(webhook.Config{})}); err == nil {
		t.Error("NewWebhookService without a sealer")
	}
	if _, err := db.NewWebhookService(nil, db.WebhookConfig{Sealer: s}); err == nil {
		t.Error("NewWebhookService without a sender")
	}
}

func TestWebhookURLRules(t *testing.T) {
	d := dbtest.Open(t, nil)
	deny := newWebhooks(t, d, db.WebhookConfig{})
	ctx, _, _ := dbtest.Workspace(t, d)
	events := []string{contactCreated}
	for _, u := range []string{
		"ftp://example.com/hook", "http://", "example.com/hook", "/hook", "javascript:alert(1)",
		"https://example.com/" + strings.Repeat("a", crmhub.MaxWebhookURLLength),
		"http://127.0.0.1/hook", "http://127.0.0.1:8080/hook", "http://10.0.0.1/hook", "http://192.168.1.10/",
		"http://[::1]:80/", "http://169.254.169.254/latest/meta-data", "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/",
		"http://localhost/hook",
	} {
		_, _, err := deny.svc.CreateWebhookEndpoint(ctx, u, events, nil)
		wantInvalid(t, fmt.Sprintf("create %.60q", u), err, "url")
	}
	ep, _, err := deny.svc.CreateWebhookEndpoint(ctx, "https://93.184.216.34/hook", events, nil)
	if err != nil {
		t.Fatalf("public address refused: %v", err)
	}
	private := "http://10.0.0.1/hook"
	_, err = deny.svc.UpdateWebhookEndpoint(ctx, ep.ID, crmhub.WebhookEndpointPatch{URL: &private})
	wantInvalid(t, "update to a private address", err, "url")

	allow := newWebhooks(t, d, db.WebhookConfig{AllowPrivate: true})
	if _, _, err := allow.svc.CreateWebhookEndpoint(ctx, "http://127.0.0.1:8080/hook", events, nil); err != nil {
		t.Fatalf("loopback refused with AllowPrivate: %v", err)
	}
	if _, _, err := allow.svc.CreateWebhookEndpoint(ctx, "ftp://127.0.0.1/", events, nil); err == nil {
		t.Fatal("ftp accepted with AllowPrivate")
	}
}

func TestWebhookDeliveriesAreSignedAndMatchTheLog(t *testing.T) {
	d := dbtest.Open(t, nil)
	e := newWebhooks(t, d, db.WebhookConfig{AllowPrivate: true}).run(t)
	contacts := db.NewContactService(d)
	ctxA, wsA, _ := dbtest.Workspace(t, d)
	ctxB, _, _ := dbtest.Workspace(t, d)

	created, both, other := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	ep1, s1, err := e.svc.CreateWebhookEndpoint(ctxA, created.URL+"/created", []string{contactCreated}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep2, s2, err := e.svc.CreateWebhookEndpoint(ctxA, both.URL+"/both",
		[]string{contactCreated, contactDeleted}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, s3, err := e.svc.CreateWebhookEndpoint(ctxB, other.URL, []string{contactCreated}, nil)
	if err != nil {
		t.Fatal(err)
	}
	created.SetSecrets(s1)
	both.SetSecrets(s2)
	other.SetSecrets(s3)

	cs := newContacts(t, ctxA, contacts, "a", 5)
	for _, c := range cs[:2] {
		if err := contacts.DeleteContact(ctxA, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	newContacts(t, ctxB, contacts, "b", 1)

	log, err := db.NewEventService(d, nil).Events(ctxA, crmhub.EventFilter{}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*crmhub.Event{}
	for _, edge := range log.Edges {
		byID[edge.Node.ID.String()] = edge.Node
	}
	check := func(rc *receiver, n int, types ...string) {
		t.Helper()
		ids := map[string]bool{}
		events := map[string]bool{}
		for range n {
			r := rc.Next(t)
			ev := byID[r.Msg.ID]
			if ev == nil || !slices.Contains(types, r.Msg.Type) {
				t.Fatalf("delivered %s, not an event of workspace A of types %v", r.Body, types)
			}
			want, _ := json.Marshal(crmhub.NewWebhookMessage(ev))
			var a, b any
			json.Unmarshal(want, &a)
			json.Unmarshal(r.Body, &b)
			if fmt.Sprint(a) != fmt.Sprint(b) || r.Msg.Cursor == nil || *r.Msg.Cursor != ev.Cursor() {
				t.Fatalf("body %s, want %s", r.Body, want)
			}
			if ids[r.ID] || events[r.Msg.ID] {
				t.Fatalf("event %s delivered twice", r.Msg.ID)
			}
			ids[r.ID], events[r.Msg.ID] = true, true
		}
	}
	check(created, 5, contactCreated)
	check(both, 7, contactCreated, contactDeleted)
	r := other.Next(t)
	if r.Msg.Type != contactCreated || byID[r.Msg.ID] != nil {
		t.Fatalf("workspace B got %s", r.Body)
	}

	// Every delivery is recorded as delivered on the first attempt.
	eventually(t, "all deliveries of A are DELIVERED", func() bool {
		return countIn(t, d, wsA.ID, "SELECT count(*) FROM webhook_deliveries WHERE status = 'DELIVERED'") == 12
	})
	for _, ep := range []uuid.UUID{ep1.ID, ep2.ID} {
		conn, err := e.svc.WebhookDeliveries(ctxA, &ep, 100, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, edge := range conn.Edges {
			dl := edge.Node
			if dl.AttemptCount != 1 || len(dl.Attempts) != 1 || dl.Attempts[0].StatusCode != http.StatusNoContent ||
				dl.NextAttemptAt != nil || dl.EventID == nil || dl.EndpointID != ep {
				t.Fatalf("delivery %+v, attempts %+v", dl, dl.Attempts)
			}
		}
	}
	if n := created.Count() + both.Count(); n != 12 {
		t.Fatalf("receivers of A got %d requests, want 12", n)
	}
	if n := other.Count(); n != 1 {
		t.Fatalf("receiver of B got %d requests, want 1", n)
	}
}

func TestWebhookRetriesUntilDelivered(t *testing.T) {
	d := dbtest.Open(t, nil)
	e := newWebhooks(t, d, db.WebhookConfig{AllowPrivate: true}).run(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "boom: "+strings.Repeat("x", 2000))
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	ctx, _, _ := dbtest.Workspace(t, d)
	ep := e.hook(t, ctx, rc, contactCreated)
	newContacts(t, ctx, db.NewContactService(d), "r", 1)

	first, second := rc.Next(t), rc.Next(t)
	if first.ID != second.ID || !bytes.Equal(first.Body, second.Body) {
		t.Fatalf("retry changed the message: %s %s / %s %s", first.ID, first.Body, second.ID, second.Body)
	}
	dl := onlyDelivery(t, e.svc, ctx, ep.ID)
	if dl.Status != crmhub.WebhookDelivered || dl.AttemptCount != 2 || len(dl.Attempts) != 2 || dl.WebhookID != first.ID {
		t.Fatalf("delivery %+v", dl)
	}
	a1, a2 := dl.Attempts[0], dl.Attempts[1]
	if a1.StatusCode != 500 || !strings.HasPrefix(a1.ResponseSnippet, "boom: xx") || len(a1.ResponseSnippet) != crmhub.MaxWebhookResponseSnippet ||
		a2.StatusCode != 200 || a2.At.Before(a1.At) {
		t.Fatalf("attempts %+v %+v", a1, a2)
	}
	e.wantOutcomes(t, map[string]uint64{"retrying": 1, "delivered": 1})
}

func TestWebhookRetriesEnd(t *testing.T) {
	d := dbtest.Open(t, nil)
	e := newWebhooks(t, d, db.WebhookConfig{AllowPrivate: true, Sender: webhooktest.NewSender(webhook.Config{
		AllowPrivate: true, RetrySchedule: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}})}).run(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	ctx, _, _ := dbtest.Workspace(t, d)
	ep := e.hook(t, ctx, rc, contactCreated)
	newContacts(t, ctx, db.NewContactService(d), "f", 1)
	dl := onlyDelivery(t, e.svc, ctx, ep.ID)
	if dl.Status != crmhub.WebhookFailed || len(dl.Attempts) != 3 || dl.NextAttemptAt != nil {
		t.Fatalf("delivery %+v with %d attempts, want FAILED after 3", dl, len(dl.Attempts))
	}
	if n := rc.Count(); n != 3 {
		t.Fatalf("receiver got %d requests, want 3", n)
	}
	if got, _ := e.svc.WebhookEndpoint(ctx, ep.ID); !got.Enabled {
		t.Fatal("failed deliveries disabled the endpoint; only 410 does")
	}
	e.wantOutcomes(t, map[string]uint64{"retrying": 2, "failed": 1})
}

func TestWebhookTimeoutIsRetried(t *testing.T) {
	d := dbtest.Open(t, nil)
	e := newWebhooks(t, d, db.WebhookConfig{AllowPrivate: true,
		Sender: webhooktest.NewSender(webhook.Config{AllowPrivate: true, Timeout: 300 * time.Millisecond})}).run(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			select { // slower than the timeout: the sender hangs up
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	ctx, _, _ := dbtest.Workspace(t, d)
	ep := e.hook(t, ctx, rc, contactCreated)
	newContacts(t, ctx, db.NewContactService(d), "t", 1)
	first, second := rc.Next(t), rc.Next(t)
	if first.ID != second.ID {
		t.Fatalf("webhook-id changed on retry: %s, %s", first.ID, second.ID)
	}
	dl := onlyDelivery(t, e.svc, ctx, ep.ID)
	if dl.Status != crmhub.WebhookDelivered || len(dl.Attempts) != 2 {
		t.Fatalf("delivery %+v", dl)
	}
	a1 := dl.Attempts[0]
	if a1.StatusCode != 0 || !strings.Contains(a1.Error, "timed out") || a1.LatencyMS < 300 || a1.LatencyMS > 5000 {
		t.Fatalf("timed-out attempt recorded as %+v", a1)
	}
}

func TestWebhookGoneDisablesEndpoint(t *testing.T) {
	d := dbtest.Open(t, nil)
	e := newWebhooks(t, d, db.WebhookConfig{AllowPrivate: true}).run(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusGone)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	contacts := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	ep := e.hook(t, ctx, rc, contactCreated)
	newContacts(t, ctx, contacts, "g", 1)
	rc.Next(t)
	dl := onlyDelivery(t, e.svc, ctx, ep.ID)
	if dl.Status != crmhub.WebhookFailed || len(dl.Attempts) != 1 || dl.Attempts[0].StatusCode != http.StatusGone {
		t.Fatalf("delivery %+v", dl)
	}
	got, err := e.svc.WebhookEndpoint(ctx, ep.ID)
	if err != nil || got.Enabled || got.DisabledReason == nil || !strings.Contains(*got.DisabledReason, "410") {
		t.Fatalf("endpoint after 410: %+v %v", got, err)
	}

	// Disabled: new events make no deliveries, manual sends are refused.
	newContacts(t, ctx, contacts, "g2_", 1)
	if _, _, err := e.disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.SendTestWebhook(ctx, ep.ID)
	wantCode(t, "test to a disabled endpoint", err, crmhub.ECONFLICT)
	_, err = e.svc.ReplayWebhookDelivery(ctx, dl.ID)
	wantCode(t, "replay to a disabled endpoint", err, crmhub.ECONFLICT)
	if conn, _ := e.svc.WebhookDeliveries(ctx, &ep.ID, 10, ""); len(conn.Edges) != 1 {
		t.Fatalf("%d deliveries to a disabled endpoint, want the first only", len(conn.Edges))
	}

	// Enabled again, it gets what commits from then on, not what it missed.
	on := true
	got, err = e.svc.UpdateWebhookEndpoint(ctx, ep.ID, crmhub.WebhookEndpointPatch{Enabled: &on})
	if err != nil || !got.Enabled || got.DisabledReason != nil {
		t.Fatalf("enable: %+v %v", got, err)
	}
	later := newContacts(t, ctx, contacts, "g3_", 1)[0]
	if r := rc.Next(t); r.Msg.SubjectID != later.GlobalID() {
		t.Fatalf("re-enabled endpoint got %s, want the event of %s", r.Body, later.GlobalID())
	}
	if n := rc.Count(); n != 2 {
		t.Fatalf("receiver got %d requests, want 2", n)
	}
	e.wantOutcomes(t, map[string]uint64{"disabled": 1, "delivered": 1})
}

func TestWebhookSecretRotation(t *testing.T) {
	clock := dbtest.NewClock()
	d := dbtest.Open(t, clock)
	e := newWebhooks(t, d, db.WebhookConfig{AllowPrivate: true}).run(t)
	rc := newReceiver(t, nil)
	ctx, _, _ := dbtest.Workspace(t, d)
	ep, s1, err := e.svc.CreateWebhookEndpoint(ctx, rc.URL, []string{contactCreated}, nil)
	if err != nil {
		t.Fatal(err)
	}
	send := func() received {
		t.Helper()
		if _, err := e.svc.SendTestWebhook(ctx, ep.ID); err != nil {
			t.Fatal(err)
		}
		return rc.Next(t)
	}

	s2, err := e.svc.RotateWebhookSecret(ctx, ep.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rc.SetSecrets(s1, s2) // the receiver checks that each verifies
	if r := send(); len(strings.Fields(r.Signature)) != 2 || r.Timestamp != strconv.FormatInt(clock.Now().Unix(), 10) {
		t.Fatalf("during the grace period: signature %q, timestamp %s", r.Signature, r.Timestamp)
	}
	if got, _ := e.svc.WebhookEndpoint(ctx, ep.ID); got.PreviousSecretExpiresAt == nil || !got.PreviousSecretExpiresAt.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("old secret expires at %v, want in an hour", got.PreviousSecretExpiresAt)
	}

	clock.Advance(time.Hour + time.Second)
	rc.SetSecrets(s2)
	if r := send(); len(strings.Fields(r.Signature)) != 1 || stdwebhook.Verify(s1, r.ID, r.Timestamp, r.Body, r.Signature) {
		t.Fatalf("after the grace period the old secret still signs: %q", r.Signature)
	}

	s3, err := e.svc.RotateWebhookSecret(ctx, ep.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	rc.SetSecrets(s3)
	if r := send(); len(strings.Fields(r.Signature)) != 1 || stdwebhook.Verify(s2, r.ID, r.Timestamp, r.Body, r.Signature) {
		t.Fatalf("rotation without grace: the old secret still signs: %q", r.Signature)
	}
}

func TestWebhookReplayAndTestMessage(t *testing.T) {
	d := dbtest.Open(t, nil)
	e := newWebhooks(t, d, db.WebhookConfig{AllowPrivate: true}).run(t)
	rc := newReceiver(t, nil)
	ctx, _, _ := dbtest.Workspace(t, d)
	ep := e.hook(t, ctx, rc, contactCreated)
	c := newContacts(t, ctx, db.NewContactService(d), "p", 1)[0]
	first := rc.Next(t)
	orig := onlyDelivery(t, e.svc, ctx, ep.ID)
	if first.Msg.SubjectID != c.GlobalID() || orig.WebhookID != first.ID || orig.EventID == nil || orig.EventID.String() != first.Msg.ID {
		t.Fatalf("first delivery %+v of %s", orig, first.Body)
	}

	replay, err := e.svc.ReplayWebhookDelivery(ctx, orig.ID)
	if err != nil {
		t.Fatal(err)
	}
	if replay.ID == orig.ID || replay.ReplayOf == nil || *replay.ReplayOf != orig.ID || replay.WebhookID != orig.WebhookID ||
		replay.Status != crmhub.WebhookPending {
		t.Fatalf("replay %+v of %+v", replay, orig)
	}
	again := rc.Next(t)
	if again.ID != first.ID || again.Msg.ID != first.Msg.ID || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("replay sent %s %s, want %s %s", again.ID, again.Body, first.ID, first.Body)
	}

	test, err := e.svc.SendTestWebhook(ctx, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := rc.Next(t)
	if r.Msg.Type != crmhub.WebhookTestEvent || r.ID != test.WebhookID || r.Msg.SubjectID != ep.GlobalID() || r.Msg.Cursor != nil ||
		test.EventID != nil || test.EventType != crmhub.WebhookTestEvent {
		t.Fatalf("test delivery %+v sent %s", test, r.Body)
	}

	// Newest first, paged, each with its attempt.
	eventually(t, "three deliveries are DELIVERED", func() bool {
		conn, err := e.svc.WebhookDeliveries(ctx, nil, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, edge := range conn.Edges {
			if edge.Node.Status != crmhub.WebhookDelivered {
				return false
			}
		}
		return len(conn.Edges) == 3
	})
	var seen []uuid.UUID
	after := ""
	for {
		conn, err := e.svc.WebhookDeliveries(ctx, &ep.ID, 1, after)
		if err != nil {
			t.Fatal(err)
		}
		for _, edge := range conn.Edges {
			if len(edge.Node.Attempts) != 1 {
				t.Fatalf("delivery %+v has %d attempts", edge.Node, len(edge.Node.Attempts))
			}
			seen = append(seen, edge.Node.ID)
		}
		if !conn.PageInfo.HasNextPage {
			break
		}
		after = *conn.PageInfo.EndCursor
	}
	if !slices.Equal(seen, []uuid.UUID{test.ID, replay.ID, orig.ID}) {
		t.Fatalf("pages list %v, want test, replay, original", seen)
	}
	if got, err := e.svc.WebhookDelivery(ctx, test.ID); err != nil || got.Status != crmhub.WebhookDelivered {
		t.Fatalf("WebhookDelivery: %+v %v", got, err)
	}
	_, err = e.svc.WebhookDeliveries(ctx, nil, 10, "bogus")
	wantInvalid(t, "malformed cursor", err, "after")
	_, err = e.svc.ReplayWebhookDelivery(ctx, uuid.New())
	wantCode(t, "replay unknown", err, crmhub.ENOTFOUND)
	_, err = e.svc.SendTestWebhook(ctx, uuid.New())
	wantCode(t, "test unknown", err, crmhub.ENOTFOUND)
}

func TestWebhookWorkspaceIsolation(t *testing.T) {
	d := dbtest.Open(t, nil)
	e := newWebhooks(t, d, db.WebhookConfig{AllowPrivate: true})
	ctxA, _, _ := dbtest.Workspace(t, d)
	ctxB, _, _ := dbtest.Workspace(t, d)
	ep, _, err := e.svc.CreateWebhookEndpoint(ctxA, "http://127.0.0.1:9/a", []string{contactCreated}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dl, err := e.svc.SendTestWebhook(ctxA, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	url, on := "http://127.0.0.1:9/b", false
	_, err = e.svc.WebhookEndpoint(ctxB, ep.ID)
	wantCode(t, "get", err, crmhub.ENOTFOUND)
	_, err = e.svc.UpdateWebhookEndpoint(ctxB, ep.ID, crmhub.WebhookEndpointPatch{URL: &url, Enabled: &on})
	wantCode(t, "update", err, crmhub.ENOTFOUND)
	_, err = e.svc.RotateWebhookSecret(ctxB, ep.ID, 0)
	wantCode(t, "rotate", err, crmhub.ENOTFOUND)
	_, err = e.svc.SendTestWebhook(ctxB, ep.ID)
	wantCode(t, "send test", err, crmhub.ENOTFOUND)
	_, err = e.svc.WebhookDeliveries(ctxB, &ep.ID, 0, "")
	wantCode(t, "list deliveries", err, crmhub.ENOTFOUND)
	_, err = e.svc.WebhookDelivery(ctxB, dl.ID)
	wantCode(t, "get delivery", err, crmhub.ENOTFOUND)
	_, err = e.svc.ReplayWebhookDelivery(ctxB, dl.ID)
	wantCode(t, "replay", err, crmhub.ENOTFOUND)
	_, err = e.svc.DeleteWebhookEndpoint(ctxB, ep.ID)
	wantCode(t, "delete", err, crmhub.ENOTFOUND)
	if eps, err := e.svc.WebhookEndpoints(ctxB, 0, ""); err != nil || len(eps.Edges) != 0 {
		t.Fatalf("B lists %d endpoints (%v)", len(eps.Edges), err)
	}
	if ds, err := e.svc.WebhookDeliveries(ctxB, nil, 0, ""); err != nil || len(ds.Edges) != 0 {
		t.Fatalf("B lists %d deliveries (%v)", len(ds.Edges), err)
	}

	got, err := e.svc.WebhookEndpoint(ctxA, ep.ID)
	if err != nil || got.URL != ep.URL || !got.Enabled {
		t.Fatalf("A's endpoint after B's attempts: %+v %v", got, err)
	}
	if _, err := e.svc.DeleteWebhookEndpoint(ctxA, ep.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.WebhookDelivery(ctxA, dl.ID)
	wantCode(t, "delivery of a deleted endpoint", err, crmhub.ENOTFOUND)
}

// TestWebhookDispatchExactlyOnce makes 1,000 concurrent writes, dispatches
// them with two dispatchers at once and again, and then delivers them to a
// receiver that verifies every signature: each event once.
func TestWebhookDispatchExactlyOnce(t *testing.T) {
	d := dbtest.Open(t, nil)
	e := newWebhooks(t, d, db.WebhookConfig{AllowPrivate: true})
	contacts := db.NewContactService(d)
	ctx, ws, _ := dbtest.Workspace(t, d)
	rc := newReceiver(t, nil)
	e.hook(t, ctx, rc, contactCreated)
	if _, _, err := e.svc.CreateWebhookEndpoint(ctx, rc.URL, []string{contactDeleted}, nil); err != nil {
		t.Fatal(err)
	}

	const writers, each = 10, 100
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				_, err := contacts.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{
					{Type: crmhub.IdentityEmail, Value: fmt.Sprintf("w%d_%d@hooks.example", w, i)}}})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	drain := func(disp *db.WebhookDispatcher) error {
		for {
			n, more, err := disp.RunOnce(context.Background())
			if err != nil || (n == 0 && !more) {
				return err
			}
		}
	}
	second := db.NewWebhookDispatcher(e.svc, time.Second)
	var dispErrs [2]error
	wg.Go(func() { dispErrs[0] = drain(e.disp) })
	wg.Go(func() { dispErrs[1] = drain(second) })
	wg.Wait()
	if dispErrs[0] != nil || dispErrs[1] != nil {
		t.Fatal(dispErrs)
	}
	const total = writers * each
	counts := func() (int, int, int) {
		return countIn(t, d, ws.ID, "SELECT count(*) FROM webhook_deliveries"),
			countIn(t, d, ws.ID, "SELECT count(DISTINCT event_position) FROM webhook_deliveries"),
			countIn(t, d, ws.ID, "SELECT count(*) FROM river_job WHERE args->>'workspace_id' = $1", ws.ID.String())
	}
	if all, distinct, jobs := counts(); all != total || distinct != total || jobs != total {
		t.Fatalf("after dispatch: %d deliveries of %d events with %d jobs, want %d of each", all, distinct, jobs, total)
	}
	if err := drain(e.disp); err != nil {
		t.Fatal(err)
	}
	if all, _, jobs := counts(); all != total || jobs != total {
		t.Fatalf("dispatching again made %d deliveries and %d jobs, want %d", all, jobs, total)
	}

	e.run(t)
	ids, events := map[string]bool{}, map[string]bool{}
	for range total {
		r := rc.Next(t)
		if ids[r.ID] || events[r.Msg.ID] || r.Msg.Type != contactCreated {
			t.Fatalf("duplicate or unexpected delivery %s %s", r.ID, r.Body)
		}
		ids[r.ID], events[r.Msg.ID] = true, true
	}
	eventually(t, "every delivery is DELIVERED", func() bool {
		return countIn(t, d, ws.ID, "SELECT count(*) FROM webhook_deliveries WHERE status = 'DELIVERED'") == total
	})
	if n := rc.Count(); n != total {
		t.Fatalf("receiver got %d requests, want %d", n, total)
	}
}

// TestWebhookDialRefusesPrivateAddress checks the address at connection
// time: an endpoint saved while private addresses were allowed (or whose
// name now resolves elsewhere) is not reached once they are not.
func TestWebhookDialRefusesPrivateAddress(t *testing.T) {
	d := dbtest.Open(t, nil)
	queue := newQueueName()
	allow := newWebhooks(t, d, db.WebhookConfig{AllowPrivate: true, Queue: queue})
	newWebhooks(t, d, db.WebhookConfig{Queue: queue}).run(t) // works the queue, refusing private addresses
	rc := newReceiver(t, nil)
	ctx, _, _ := dbtest.Workspace(t, d)
	ep := allow.hook(t, ctx, rc, contactCreated)
	if _, err := allow.svc.SendTestWebhook(ctx, ep.ID); err != nil {
		t.Fatal(err)
	}
	dl := onlyDelivery(t, allow.svc, ctx, ep.ID)
	if dl.Status != crmhub.WebhookFailed || len(dl.Attempts) != 4 {
		t.Fatalf("delivery %+v with %d attempts, want FAILED after 4", dl, len(dl.Attempts))
	}
	for _, a := range dl.Attempts {
		if a.StatusCode != 0 || !strings.Contains(a.Error, "not allowed") {
			t.Fatalf("attempt %+v, want refused by the dialer", a)
		}
	}
	if n := rc.Count(); n != 0 {
		t.Fatalf("receiver on a loopback address got %d requests", n)
	}
}
