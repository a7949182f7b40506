package wazelotest

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
	DefaultAPIKey = "wzl_test_key"

	// DefaultRequestLog is how many requests Requests keeps when
	// Options.RequestLog is zero.
	DefaultRequestLog = 10000
)

// Routes, as http.ServeMux patterns relative to the /v1 root; Calls
// counts requests by them.
const (
	RouteListContacts  = "GET /v1/contacts"
	RouteCreateContact = "POST /v1/contacts"
	RouteGetContact    = "GET /v1/contacts/{id}"
	RouteUpdateContact = "PATCH /v1/contacts/{id}"
	RouteDeleteContact = "DELETE /v1/contacts/{id}"
	RouteSendMessage   = "POST /v1/messages"
)

// Options configure a Fake. The zero value serves every route with
// DefaultAPIKey and injects nothing.
type Options struct {
	// APIKey is the only key accepted; DefaultAPIKey when empty.
	APIKey string
	// ReadOnlyKey, when set, is a second key whose writes are answered
	// 403 FORBIDDEN, as a key scoped read-only is.
	ReadOnlyKey string
	// WebhookSecret signs the webhooks the Fake builds;
	// DefaultWebhookSecret when empty.
	WebhookSecret string

	// RateLimitEvery answers every Nth request (all routes counted
	// together) with 429 and RetryAfter; 0 disables.
	RateLimitEvery int
	// RetryAfter is the Retry-After header of the 429s RateLimitEvery
	// injects: seconds or an HTTP date; "" sends no header.
	RetryAfter string
	// FailEvery answers every Nth request with 500 INTERNAL_ERROR; 0
	// disables.
	FailEvery int
	// Inject decides per request, after the queue of InjectNext: it gets
	// the route and the 1-based number of the request among all, and
	// returns the failure to answer or nil. It is called concurrently.
	Inject func(route string, n int) *Fault

	// AssignIDs makes POST /contacts ignore the id the caller asks for and
	// give the contact one of its own, as a remote that does not take
	// caller-chosen ids would (the document does not say which it does).
	AssignIDs bool

	// RefuseMessage, when it returns a fault, refuses a message that
	// passed every other check with it (any documented error).
	RefuseMessage func(m Message) *Fault

	// Now is the clock of timestamps and of the 24-hour window;
	// time.Now when nil.
	Now func() time.Time

	// RequestLog bounds how many of the latest requests Requests keeps;
	// DefaultRequestLog when zero.
	RequestLog int

	// Contacts seed the state, in order.
	Contacts []Contact
}

// Fault is a failure a Fake answers instead of serving a request.
type Fault struct {
	// Status is the HTTP status; 500 when zero.
	Status int
	// RetryAfter is sent as the Retry-After header when not empty.
	RetryAfter string
	// Code and Message form the error body; when empty they are the
	// document's code and a description for Status.
	Code    string
	Message string
}

// Request records one request the Fake received.
type Request struct {
	Route    string // the Route* pattern, "" when none matched
	Method   string
	Path     string
	RawQuery string
	// Auth is the Authorization header's scheme ("Bearer"), "" when absent.
	Auth string
	// Body is the request body as received.
	Body   []byte
	Status int
}

// faults is the embedded request counter of a Fake.
type faults = fakeserver.Faults[Fault]

// Fake is an in-memory Wazelo API. It is safe for concurrent use; every
// accessor returns copies.
type Fake struct {
	opts Options
	mux  *http.ServeMux

	*faults // InjectNext, Calls, CallCounts, Total
	log     *fakeserver.Log[Request]

	mu       sync.Mutex
	contacts map[string]Contact
	order    []string // contact ids in creation order
	seq      int      // last generated id number
	messages []Message
	inbound  map[string]time.Time // phone digits -> last inbound message
}

// New returns a Fake seeded from opts. It serves the API under /v1, so its
// base URL is the server's URL + "/v1".
func New(opts Options) *Fake {
	if opts.APIKey == "" {
		opts.APIKey = DefaultAPIKey
	}
	if opts.WebhookSecret == "" {
		opts.WebhookSecret = DefaultWebhookSecret
	}
	if opts.RequestLog <= 0 {
		opts.RequestLog = DefaultRequestLog
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f := &Fake{
		opts:     opts,
		mux:      http.NewServeMux(),
		faults:   newFaults(opts),
		log:      fakeserver.NewLog[Request](opts.RequestLog),
		contacts: map[string]Contact{},
		inbound:  map[string]time.Time{},
	}
	f.PutContacts(opts.Contacts...)
	routes := map[string]http.HandlerFunc{
		RouteListContacts:  f.listContacts,
		RouteCreateContact: f.createContact,
		RouteGetContact:    f.getContact,
		RouteUpdateContact: f.updateContact,
		RouteDeleteContact: f.deleteContact,
		RouteSendMessage:   f.sendMessage,
	}
	for pattern, h := range routes {
		f.mux.Handle(pattern, h)
	}
	return f
}

// ServeHTTP records the request, applies injected failures and
// authentication, then serves the route. Unknown routes are 404 NOT_FOUND.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, route := f.mux.Handler(r)
	body := readBody(r)
	rec := fakeserver.NewStatusWriter(w)
	scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	fault := fakeserver.Begin(f.faults, route)
	defer f.record(Request{Route: route, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Auth: scheme, Body: body}, rec)

	switch {
	case fault != nil:
		writeFault(rec, *fault)
	case route == "":
		writeError(rec, http.StatusNotFound, "NOT_FOUND", "The requested resource doesn't exist.", nil)
	case !strings.EqualFold(scheme, "Bearer") || !f.knownKey(key):
		writeError(rec, http.StatusUnauthorized, "UNAUTHORIZED", "Missing or invalid API key.", nil)
	case r.Method != http.MethodGet && f.opts.ReadOnlyKey != "" && equal(key, f.opts.ReadOnlyKey):
		writeError(rec, http.StatusForbidden, "FORBIDDEN", "Your API key doesn't have permission for this action.", nil)
	default:
		f.mux.ServeHTTP(rec, withBody(r, body))
	}
}

// record logs req with the status rec answered.
func (f *Fake) record(req Request, rec *fakeserver.StatusWriter) {
	req.Status = rec.Status
	f.log.Add(req)
}

func (f *Fake) knownKey(key string) bool {
	return equal(key, f.opts.APIKey) || (f.opts.ReadOnlyKey != "" && equal(key, f.opts.ReadOnlyKey))
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// newFaults returns the request counts and failure picking opts ask for.
func newFaults(opts Options) *fakeserver.Faults[Fault] {
	return fakeserver.NewFaults(fakeserver.Policy[Fault]{Inject: opts.Inject,
		RateLimitEvery: opts.RateLimitEvery, RateLimited: Fault{Status: http.StatusTooManyRequests, RetryAfter: opts.RetryAfter},
		FailEvery: opts.FailEvery, Failed: Fault{Status: http.StatusInternalServerError}}, false)
}

// Requests returns the latest requests received (up to
// Options.RequestLog), in the order they were answered.
func (f *Fake) Requests() []Request { return f.log.All() }

// APIKey returns the key the Fake accepts.
func (f *Fake) APIKey() string { return f.opts.APIKey }

// ErrorBody is the documented error answer.
type ErrorBody struct {
	Success bool        `json:"success"`
	Error   ErrorObject `json:"error"`
}

// ErrorObject is the error of an ErrorBody; Errors lists the fields of a
// 422 VALIDATION_ERROR.
type ErrorObject struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Status  int          `json:"status"`
	Errors  []FieldError `json:"errors,omitempty"`
}

// FieldError is one entry of a VALIDATION_ERROR's errors array.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// statusCodes are the document's codes and descriptions per status.
var statusCodes = map[int][2]string{
	400: {"BAD_REQUEST", "Missing or invalid request parameters"},
	401: {"UNAUTHORIZED", "Missing or invalid API key"},
	403: {"FORBIDDEN", "Your API key doesn't have permission for this action"},
	404: {"NOT_FOUND", "The requested resource doesn't exist"},
	409: {"CONFLICT", "Resource already exists"},
	422: {"VALIDATION_ERROR", "Request body failed validation"},
	429: {"RATE_LIMITED", "Too many requests — back off and retry after the Retry-After header"},
	500: {"INTERNAL_ERROR", "Something went wrong on our side — contact support if this persists"},
}

func writeFault(w http.ResponseWriter, fault Fault) {
	if fault.Status == 0 {
		fault.Status = http.StatusInternalServerError
	}
	def := statusCodes[fault.Status]
	if fault.Code == "" {
		fault.Code = def[0]
	}
	if fault.Message == "" {
		fault.Message = def[1]
	}
	if fault.RetryAfter != "" {
		w.Header().Set("Retry-After", fault.RetryAfter)
	}
	writeError(w, fault.Status, fault.Code, fault.Message, nil)
}

func writeError(w http.ResponseWriter, status int, code, msg string, fields []FieldError) {
	writeJSON(w, status, ErrorBody{Error: ErrorObject{Code: code, Message: msg, Status: status, Errors: fields}})
}

// validationError answers 422 with the fields at fault.
func validationError(w http.ResponseWriter, fields []FieldError) {
	writeError(w, http.StatusUnprocessableEntity, "VALIDATION_ERROR", statusCodes[422][1], fields)
}

func badRequest(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusBadRequest, "BAD_REQUEST", msg, nil)
}

// Meta is the pagination block of a list answer.
type Meta struct {
	Page  int `json:"page"`
	Limit int `json:"limit"`
	Total int `json:"total"`
}

// envelope is the documented success answer.
type envelope struct {
	Success bool  `json:"success"`
	Data    any   `json:"data"`
	Meta    *Meta `json:"meta,omitempty"`
}

func writeData(w http.ResponseWriter, status int, data any, meta *Meta) {
	writeJSON(w, status, envelope{Success: true, Data: data, Meta: meta})
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
