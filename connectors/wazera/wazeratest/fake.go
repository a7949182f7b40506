package wazeratest

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmhub/crmhub/connectors/internal/fakeserver"
)

const (
	// DefaultAPIKey is the key a Fake accepts when Options.APIKey is empty.
	DefaultAPIKey = "wazera-test-key"

	// DefaultRequestLog is how many requests Requests keeps when
	// Options.RequestLog is zero.
	DefaultRequestLog = 10000
)

// Routes, as http.ServeMux patterns; Calls counts requests by them.
const (
	RouteListContacts  = "GET /api/v1/contacts"
	RouteCreateContact = "POST /api/v1/contacts"
	RouteGetContact    = "GET /api/v1/contacts/{id}"
	RouteUpdateContact = "PUT /api/v1/contacts/{id}"
	RouteDeleteContact = "DELETE /api/v1/contacts/{id}"
	RouteSendMessage   = "POST /api/v1/messages/send"
)

// PlanLimits are the documented requests per minute of each plan.
var PlanLimits = map[string]int{"starter": 100, "professional": 500, "enterprise": 2000}

// Options configure a Fake. The zero value serves every route with
// DefaultAPIKey, enforces no rate limit and injects nothing.
type Options struct {
	// APIKey is the only key accepted; DefaultAPIKey when empty.
	APIKey string

	// Plan, when set ("starter", "professional", "enterprise"), answers
	// 429 RATE_LIMITED with a Retry-After to a request that would be
	// more than the plan's requests in the last 60 seconds.
	Plan string
	// Now is the clock of the plan's rate limit and of the records'
	// timestamps; time.Now when nil.
	Now func() time.Time

	// RateLimitEvery answers every Nth request (all routes counted
	// together) with 429 and RetryAfter; 0 disables.
	RateLimitEvery int
	// RetryAfter is the Retry-After header of the 429s RateLimitEvery
	// injects: seconds or an HTTP date; "" sends no header.
	RetryAfter string
	// FailEvery answers every Nth request with 500 SERVER_ERROR; 0
	// disables.
	FailEvery int
	// Inject decides per request, after the queue of InjectNext: it gets
	// the route and the 1-based number of the request among all, and
	// returns the failure to answer or nil. It is called concurrently.
	Inject func(route string, n int) *Fault

	// Latency delays every answer, or until the client gives up.
	Latency time.Duration

	// WhatsAppAccounts are the whatsapp_account_id values messages may be
	// sent from; [1] (the document's example) when empty.
	WhatsAppAccounts []int64
	// RefuseMessage, when it returns a code, refuses a message that passed
	// every other check: 422 with that code.
	RefuseMessage func(m Message) string

	// RequestLog bounds how many of the latest requests Requests keeps;
	// DefaultRequestLog when zero.
	RequestLog int

	// HookClient sends Deliver's webhooks; http.DefaultClient when nil.
	HookClient *http.Client

	// Contacts seed the state; a zero ID is assigned.
	Contacts []Contact
}

// Fault is a failure a Fake answers instead of serving a request.
type Fault struct {
	// Status is the HTTP status; 500 when zero.
	Status int
	// RetryAfter is sent as the Retry-After header when not empty.
	RetryAfter string
	// Code and Message form the documented error body; when empty they
	// default to those of the status.
	Code    string
	Message string
}

// Request records one request the Fake received.
type Request struct {
	Route    string // the Route* pattern, "" when none matched
	Method   string
	Path     string
	RawQuery string
	// Authorization is the header as sent.
	Authorization string
	// Body is the request body as sent (bounded by maxBody).
	Body []byte
	// Status is the answer's HTTP status, 0 when the client gave up
	// during Options.Latency.
	Status int
	// At is the time of the request on Options.Now.
	At time.Time
}

// faults is the embedded request counter of a Fake.
type faults = fakeserver.Faults[Fault]

// Fake is an in-memory Wazera API. It is an http.Handler, safe for
// concurrent use; every accessor returns copies.
type Fake struct {
	opts Options
	mux  *http.ServeMux
	now  func() time.Time

	*faults // InjectNext, Calls, CallCounts, Total
	log     *fakeserver.Log[Request]

	mu     sync.Mutex
	window []time.Time // starts of the requests the plan counted, last 60s

	contacts  map[int64]Contact
	nextID    int64
	messages  []Message
	nextMsgID int64

	webhooks   map[int64]Webhook
	nextHookID int64
}

// New returns a Fake seeded from opts.
func New(opts Options) *Fake {
	if opts.APIKey == "" {
		opts.APIKey = DefaultAPIKey
	}
	if opts.RequestLog <= 0 {
		opts.RequestLog = DefaultRequestLog
	}
	if len(opts.WhatsAppAccounts) == 0 {
		opts.WhatsAppAccounts = []int64{1}
	}
	f := &Fake{
		opts:      opts,
		mux:       http.NewServeMux(),
		now:       opts.Now,
		faults:    newFaults(opts),
		log:       fakeserver.NewLog[Request](opts.RequestLog),
		contacts:  map[int64]Contact{},
		nextID:    1,
		nextMsgID: 1,
	}
	if f.now == nil {
		f.now = time.Now
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
	f.routeWebhooks()
	return f
}

// ServeHTTP records the request, applies latency, injected failures,
// authentication and the plan's rate limit, then serves the route.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, route := f.mux.Handler(r)
	body := readBody(r)
	rec := fakeserver.NewStatusWriter(w)
	at := f.now()
	fault := fakeserver.Begin(f.faults, route)
	defer func() {
		f.log.Add(Request{Route: route, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			Authorization: r.Header.Get("Authorization"), Body: body, Status: rec.Status, At: at})
	}()

	if !fakeserver.Delay(r, f.opts.Latency) {
		rec.Status = 0 // nobody is listening any more
		return
	}
	if fault != nil {
		writeFault(rec, *fault)
		return
	}
	if !f.authorized(r.Header.Get("Authorization")) {
		writeError(rec, http.StatusUnauthorized, "UNAUTHORIZED", "Unauthenticated.", nil)
		return
	}
	if wait, ok := f.admit(at); !ok {
		secs := int((wait + time.Second - 1) / time.Second)
		writeFault(rec, Fault{Status: http.StatusTooManyRequests, RetryAfter: strconv.Itoa(max(secs, 1))})
		return
	}
	if route == "" {
		writeError(rec, http.StatusNotFound, "NOT_FOUND", "The route "+r.URL.Path+" could not be found.", nil)
		return
	}
	r.Body = bodyReader(body)
	f.mux.ServeHTTP(rec, r)
}

// newFaults returns the request counts and failure picking opts ask
// for; requests of no route count under "".
func newFaults(opts Options) *fakeserver.Faults[Fault] {
	return fakeserver.NewFaults(fakeserver.Policy[Fault]{Inject: opts.Inject,
		RateLimitEvery: opts.RateLimitEvery, RateLimited: Fault{Status: http.StatusTooManyRequests, RetryAfter: opts.RetryAfter},
		FailEvery: opts.FailEvery, Failed: Fault{Status: http.StatusInternalServerError}}, true)
}

// admit applies the plan's limit to a request at t: it counts the request
// and returns true, or returns how long until one would be admitted.
func (f *Fake) admit(t time.Time) (time.Duration, bool) {
	limit, ok := PlanLimits[strings.ToLower(f.opts.Plan)]
	if !ok {
		return 0, true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cut := 0
	for cut < len(f.window) && !f.window[cut].After(t.Add(-time.Minute)) {
		cut++
	}
	f.window = f.window[cut:]
	if len(f.window) >= limit {
		return f.window[0].Add(time.Minute).Sub(t), false
	}
	f.window = append(f.window, t)
	return 0, true
}

func (f *Fake) authorized(header string) bool {
	scheme, key, _ := strings.Cut(header, " ")
	return strings.EqualFold(scheme, "Bearer") &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(key)), []byte(f.opts.APIKey)) == 1
}

// APIKey returns the key the fake accepts.
func (f *Fake) APIKey() string { return f.opts.APIKey }

// Requests returns the latest requests received (up to
// Options.RequestLog), in the order they were answered.
func (f *Fake) Requests() []Request { return f.log.All() }

// ErrorBody is the documented error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the "error" object of ErrorBody. Details maps field
// names to their messages for a 422, and is {} otherwise, as in the
// document's example.
type ErrorDetail struct {
	Code    string              `json:"code"`
	Message string              `json:"message"`
	Details map[string][]string `json:"details"`
}

// statusCodes are the codes the fake answers for each status.
var statusCodes = map[int][2]string{
	http.StatusBadRequest:          {"BAD_REQUEST", "The request could not be understood."},
	http.StatusUnauthorized:        {"UNAUTHORIZED", "Unauthenticated."},
	http.StatusForbidden:           {"FORBIDDEN", "This action is unauthorized."},
	http.StatusNotFound:            {"NOT_FOUND", "Not found."},
	http.StatusUnprocessableEntity: {"VALIDATION_ERROR", "The given data was invalid."},
	http.StatusTooManyRequests:     {"RATE_LIMITED", "Too many requests."},
	http.StatusInternalServerError: {"SERVER_ERROR", "Server error."},
}

func writeFault(w http.ResponseWriter, fault Fault) {
	if fault.Status == 0 {
		fault.Status = http.StatusInternalServerError
	}
	def, ok := statusCodes[fault.Status]
	if !ok {
		def = [2]string{"SERVER_ERROR", http.StatusText(fault.Status)}
	}
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

func writeError(w http.ResponseWriter, status int, code, msg string, details map[string][]string) {
	if details == nil {
		details = map[string][]string{}
	}
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: msg, Details: details}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// notFound answers a request for a record that does not exist.
func notFound(w http.ResponseWriter, what string) {
	writeError(w, http.StatusNotFound, "NOT_FOUND", what+" not found.", nil)
}
