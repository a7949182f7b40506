package wazzuptest

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/crmhub/crmhub/connectors/internal/fakeserver"
)

const (
	// DefaultAPIKey is the key a Fake accepts when Options.APIKey is empty.
	DefaultAPIKey = "wazzup-test-key"

	// DefaultRequestLog is how many requests Requests keeps when
	// Options.RequestLog is zero.
	DefaultRequestLog = 10000
)

// Routes, as http.ServeMux patterns; Calls counts requests by them.
const (
	RouteUpsertContacts     = "POST /v3/contacts"
	RouteListContacts       = "GET /v3/contacts"
	RouteGetContact         = "GET /v3/contacts/{id}"
	RouteDeleteContact      = "DELETE /v3/contacts/{id}"
	RouteBulkDeleteContacts = "PATCH /v3/contacts/bulk_delete"
	RouteUpsertDeals        = "PATCH /v2/deals"
	RouteListDeals          = "GET /v2/deals"
	RouteGetDeal            = "GET /v2/deals/{id}"
	RouteDeleteDeal         = "DELETE /v2/deals/{id}"
	RouteListUsers          = "GET /v2/users"
	RouteGetUser            = "GET /v2/users/{id}"
	RouteUpsertUsers        = "PATCH /v2/users"
	RouteReplaceUsers       = "PUT /v2/users"
	RouteDeleteUser         = "DELETE /v2/users/{id}"
	RouteSendMessage        = "POST /v2/send_message"
	RouteListChannels       = "GET /v2/channels"
	RouteIframe             = "POST /v2/iframe"
)

// WriteRoutes are the routes that change the fake's state; Writes counts
// requests to them.
var WriteRoutes = []string{RouteUpsertContacts, RouteDeleteContact, RouteBulkDeleteContacts, RouteUpsertDeals,
	RouteDeleteDeal, RouteUpsertUsers, RouteReplaceUsers, RouteDeleteUser, RouteSendMessage}

// Writes returns how many write requests (WriteRoutes) the fake received,
// failed ones included.
func (f *Fake) Writes() int { return f.Sum(WriteRoutes...) }

// Options configure a Fake. The zero value serves every route with
// DefaultAPIKey and injects nothing.
type Options struct {
	// APIKey is the only key accepted; DefaultAPIKey when empty.
	APIKey string

	// RateLimitEvery answers every Nth request (all routes counted
	// together) with 429 and RetryAfter; 0 disables.
	RateLimitEvery int
	// RetryAfter is the Retry-After header of the 429s RateLimitEvery
	// injects: seconds or an HTTP date; "" sends no header.
	RetryAfter string
	// FailEvery answers every Nth request with 500 UNKNOWN_ERROR; 0
	// disables.
	FailEvery int
	// Inject decides per request, after the queue of InjectNext: it gets
	// the route and the 1-based number of the request among all, and
	// returns the failure to answer or nil to serve the request. It is
	// called from concurrent requests.
	Inject func(route string, n int) *Fault

	// Latency delays every answer, or until the client gives up.
	Latency time.Duration

	// ContactLimit is the most contacts one POST /v3/contacts takes before
	// TOO_MACH_ENTITIES; the documented 100 when zero. A test lowers it to
	// see a client use the limit the error names.
	ContactLimit int

	// RequireKnownUsers refuses a contact or deal whose responsibleUserId
	// is not a stored user.
	RequireKnownUsers bool
	// RefuseMessage, when it returns a code, refuses a send_message that
	// passed every other check with that documented code.
	RefuseMessage func(m Message) string

	// RequestLog bounds how many of the latest requests Requests keeps,
	// so a long-running fake does not grow without end;
	// DefaultRequestLog when zero.
	RequestLog int

	// HookClient sends the webhooks' test request and SendWebhook's
	// deliveries; http.DefaultClient when nil.
	HookClient *http.Client

	// Contacts, Deals, Users and Channels seed the state.
	Contacts []Contact
	Deals    []Deal
	Users    []User
	Channels []Channel
}

// Fault is a failure a Fake answers instead of serving a request.
type Fault struct {
	// Status is the HTTP status; 500 when zero.
	Status int
	// RetryAfter is sent as the Retry-After header when not empty.
	RetryAfter string
	// Code and Description form the body; when empty they default to
	// TOO_MANY_REQUESTS for 429 and UNKNOWN_ERROR otherwise.
	Code        string
	Description string
}

// Request records one request the Fake received.
type Request struct {
	Route    string // the Route* pattern, "" when none matched
	Method   string
	Path     string
	RawQuery string
	// AuthScheme is the scheme of the Authorization header ("Bearer",
	// "Basic", ...), "" when absent.
	AuthScheme string
	// Status is the answer's HTTP status, 0 when the client gave up
	// during Options.Latency.
	Status int
}

// faults is the embedded request counter of a Fake.
type faults = fakeserver.Faults[Fault]

// Fake is an in-memory Wazzup API. It is safe for concurrent use; every
// accessor returns copies.
type Fake struct {
	opts Options
	mux  *http.ServeMux

	*faults // InjectNext, Calls, CallCounts, Total
	log     *fakeserver.Log[Request]

	mu       sync.Mutex
	contacts table[string, Contact]
	deals    table[int64, Deal]
	users    []User // in the order they were first added
	channels []Channel
	messages []Message
	iframes  []Iframe
	// webhooksURL is where webhooks go, "" while they are off.
	webhooksURL string
}

// New returns a Fake seeded from opts.
func New(opts Options) *Fake {
	if opts.APIKey == "" {
		opts.APIKey = DefaultAPIKey
	}
	if opts.RequestLog <= 0 {
		opts.RequestLog = DefaultRequestLog
	}
	f := &Fake{
		opts:   opts,
		mux:    http.NewServeMux(),
		faults: newFaults(opts),
		log:    fakeserver.NewLog[Request](opts.RequestLog),
	}
	f.PutContacts(opts.Contacts...)
	f.PutDeals(opts.Deals...)
	f.PutUsers(opts.Users...)
	f.SetChannels(opts.Channels...)

	routes := map[string]http.HandlerFunc{
		RouteUpsertContacts:     f.upsertContacts,
		RouteListContacts:       f.listContacts,
		RouteGetContact:         f.getContact,
		RouteDeleteContact:      f.deleteContact,
		RouteBulkDeleteContacts: f.bulkDeleteContacts,
		RouteUpsertDeals:        f.upsertDeals,
		RouteListDeals:          f.listDeals,
		RouteGetDeal:            f.getDeal,
		RouteDeleteDeal:         f.deleteDeal,
		RouteListUsers:          f.listUsers,
		RouteGetUser:            f.getUser,
		RouteUpsertUsers:        f.writeUsers(false),
		RouteReplaceUsers:       f.writeUsers(true),
		RouteDeleteUser:         f.deleteUser,
		RouteSendMessage:        f.sendMessage,
		RouteListChannels:       f.listChannels,
		RouteIframe:             f.iframe,
	}
	for pattern, h := range routes {
		f.mux.Handle(pattern, h)
	}
	f.routeWebhooks()
	return f
}

// ServeHTTP records the request, applies latency, injected failures and
// authentication, then serves the route.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, route := f.mux.Handler(r)
	rec := fakeserver.NewStatusWriter(w)
	scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	fault := fakeserver.Begin(f.faults, route)
	defer func() {
		f.log.Add(Request{Route: route, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			AuthScheme: scheme, Status: rec.Status})
	}()

	if !fakeserver.Delay(r, f.opts.Latency) {
		rec.Status = 0 // nobody is listening any more
		return
	}
	if fault != nil {
		writeFault(rec, *fault)
		return
	}
	if route != "" && !f.authorized(scheme, key) {
		writeError(rec, http.StatusUnauthorized, "UNAUTHORIZED", "Wrong or missing API key.", nil)
		return
	}
	f.mux.ServeHTTP(rec, r)
}

// newFaults returns the request counts and failure picking opts ask for.
func newFaults(opts Options) *fakeserver.Faults[Fault] {
	return fakeserver.NewFaults(fakeserver.Policy[Fault]{Inject: opts.Inject,
		RateLimitEvery: opts.RateLimitEvery, RateLimited: Fault{Status: http.StatusTooManyRequests, RetryAfter: opts.RetryAfter},
		FailEvery: opts.FailEvery, Failed: Fault{Status: http.StatusInternalServerError}}, false)
}

func (f *Fake) authorized(scheme, key string) bool {
	if !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "Basic") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(key), []byte(f.opts.APIKey)) == 1
}

// Requests returns the latest requests received (up to
// Options.RequestLog), in the order they were answered.
func (f *Fake) Requests() []Request { return f.log.All() }

// errorBody is the documented error shape.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"description"`
	Data        any    `json:"data,omitempty"`
}

func writeFault(w http.ResponseWriter, fault Fault) {
	if fault.Status == 0 {
		fault.Status = http.StatusInternalServerError
	}
	code, desc := fault.Code, fault.Description
	if code == "" && fault.Status == http.StatusTooManyRequests {
		code, desc = "TOO_MANY_REQUESTS", "Too many requests."
	} else if code == "" {
		code, desc = "UNKNOWN_ERROR", messageErrors["UNKNOWN_ERROR"]
	}
	if fault.RetryAfter != "" {
		w.Header().Set("Retry-After", fault.RetryAfter)
	}
	writeError(w, fault.Status, code, desc, nil)
}

func writeError(w http.ResponseWriter, status int, code, desc string, data any) {
	writeJSON(w, status, errorBody{Error: code, Description: desc, Data: data})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// notFound answers a GET or DELETE of a record that does not exist.
func notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "NOT_FOUND", "Not found.", nil)
}

// validationError answers a malformed query or body.
func validationError(w http.ResponseWriter, desc string, data any) {
	writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", desc, data)
}
