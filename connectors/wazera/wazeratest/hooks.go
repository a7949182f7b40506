package wazeratest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/crmhub/crmhub/connectors/internal/fakeserver"
)

// Routes of the outgoing webhooks. The document lists GET and POST; DELETE
// /webhooks/{id} is the REST reading the connector relies on to remove one.
const (
	RouteListWebhooks  = "GET /api/v1/webhooks"
	RouteCreateWebhook = "POST /api/v1/webhooks"
	RouteDeleteWebhook = "DELETE /api/v1/webhooks/{id}"
)

// Webhook is an outgoing webhook of the account. Secret is never listed.
type Webhook struct {
	ID        int64     `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Secret    string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// eventTypes are the documented event types a webhook may subscribe to.
var eventTypes = []string{EventMessageReceived, EventMessageSent, EventMessageDelivered, EventMessageRead,
	EventConversationCreated, EventConversationClosed, EventContactCreated, EventContactUpdated}

// routeWebhooks adds the webhook routes to the fake's mux.
func (f *Fake) routeWebhooks() {
	f.mux.HandleFunc(RouteListWebhooks, f.listWebhooks)
	f.mux.HandleFunc(RouteCreateWebhook, f.createWebhook)
	f.mux.HandleFunc(RouteDeleteWebhook, f.deleteWebhook)
}

// Webhooks returns the account's webhooks, oldest first, with their
// secrets.
func (f *Fake) Webhooks() []Webhook {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Webhook, 0, len(f.webhooks))
	for _, h := range f.webhooks {
		h.Events = slices.Clone(h.Events)
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (f *Fake) listWebhooks(w http.ResponseWriter, _ *http.Request) {
	writeData(w, http.StatusOK, f.Webhooks())
}

// createWebhook validates {url, events, secret} as the document's example
// shows them: url absolute http(s), events a non-empty list of documented
// types, secret a string.
func (f *Fake) createWebhook(w http.ResponseWriter, r *http.Request) {
	o := readObject(r)
	if o == nil {
		writeFault(w, Fault{Status: http.StatusBadRequest, Message: "The request body must be a JSON object."})
		return
	}
	var v invalid
	h := Webhook{}
	if s, set := v.strMax(o, "url", 2048, true); set {
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.fail("url", "must be a valid URL")
		}
		h.URL = s
	}
	if o.null("events") || json.Unmarshal(o["events"], &h.Events) != nil || len(h.Events) == 0 {
		v.fail("events", "must be a non-empty array")
	}
	for _, e := range h.Events {
		if !slices.Contains(eventTypes, e) {
			v.add("events", "The selected events is invalid.")
			break
		}
	}
	h.Secret, _ = v.strMax(o, "secret", 255, false)
	if !v.ok() {
		v.write(w)
		return
	}
	f.mu.Lock()
	if f.webhooks == nil {
		f.webhooks = map[int64]Webhook{}
	}
	f.nextHookID++
	h.ID, h.CreatedAt = f.nextHookID, f.now().UTC()
	f.webhooks[h.ID] = h
	f.mu.Unlock()
	writeData(w, http.StatusCreated, h)
}

func (f *Fake) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	f.mu.Lock()
	_, found := f.webhooks[id]
	delete(f.webhooks, id)
	f.mu.Unlock()
	if !ok || !found {
		notFound(w, "Webhook")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ErrNoWebhook is returned by Deliver when no webhook subscribes to the
// event.
var ErrNoWebhook = errors.New("wazeratest: no webhook subscribes to the event")

// Deliver posts e to every webhook subscribed to its type, signed with
// that webhook's secret as Wazera does, and returns the answers'
// statuses in the order of the webhooks.
func (f *Fake) Deliver(ctx context.Context, e Event) ([]int, error) {
	var statuses []int
	for _, h := range f.Webhooks() {
		if !slices.Contains(h.Events, e.Event) {
			continue
		}
		status, err := f.deliverTo(ctx, h, e)
		if err != nil {
			return statuses, err
		}
		statuses = append(statuses, status)
	}
	if statuses == nil {
		return nil, ErrNoWebhook
	}
	return statuses, nil
}

func (f *Fake) deliverTo(ctx context.Context, h Webhook, e Event) (int, error) {
	body, header, err := e.Signed(h.Secret)
	if err != nil {
		return 0, err
	}
	status, err := fakeserver.PostWebhook(ctx, f.opts.HookClient, h.URL, header, body)
	if err != nil {
		return 0, fmt.Errorf("wazeratest: delivering %s to webhook %d: %w", e.Event, h.ID, err)
	}
	return status, nil
}
