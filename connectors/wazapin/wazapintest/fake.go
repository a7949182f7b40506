package wazapintest

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crmhub/crmhub/connectors/internal/fakeserver"
)

const (
	// DefaultAPIKey is the key a Fake accepts when Options.APIKey is empty.
	DefaultAPIKey = "wazapin-test-key"

	// DefaultRequestLog is how many requests Requests keeps when
	// Options.RequestLog is zero.
	DefaultRequestLog = 10000

	// DefaultPageSize and MaxPageSize bound GET /v1/contacts?limit=.
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Routes, as http.ServeMux patterns; Calls counts requests by them.
const (
	RouteCreateContact     = "POST /v1/contacts"
	RouteListContacts      = "GET /v1/contacts"
	RouteGetContact        = "GET /v1/contacts/{contactID}"
	RouteUpdateContact     = "PATCH /v1/contacts/{contactID}"
	RouteDeleteContact     = "DELETE /v1/contacts/{contactID}"
	RouteGetByPhone        = "GET /v1/contacts/phone/{phone}"
	RouteResolve           = "POST /v1/contacts/resolve"
	RouteLookup            = "POST /v1/contacts/lookup"
	RouteIdentities        = "GET /v1/contacts/{contactID}/identities"
	RouteListNotes         = "GET /v1/contacts/{contactID}/notes"
	RouteCreateNote        = "POST /v1/contacts/{contactID}/notes"
	RouteListTags          = "GET /v1/contacts/{contactID}/tags"
	RouteAssignTag         = "POST /v1/contacts/{contactID}/tags"
	RoutePutConsent        = "PUT /v1/contacts/{contactID}/consent/{channel}"
	RouteListConsents      = "GET /v1/contacts/{contactID}/consents"
	RouteListSuppressions  = "GET /v1/contacts/{contactID}/suppressions"
	RouteUpsertSuppression = "POST /v1/contacts/{contactID}/suppressions"
)

// WriteRoutes are the routes that change the fake's state (resolve and
// lookup only read); Writes counts requests to them.
var WriteRoutes = []string{RouteCreateContact, RouteUpdateContact, RouteDeleteContact, RouteCreateNote, RouteAssignTag,
	RoutePutConsent, RouteUpsertSuppression}

// Writes returns how many write requests (WriteRoutes) the fake received,
// failed ones included.
func (f *Fake) Writes() int { return f.Sum(WriteRoutes...) }

// Error codes the fake answers in {"error": TEXT, "code": CODE}. The
// document shows not_found and conflict; the others are the fake's
// reading.
const (
	CodeNotFound         = "not_found"
	CodeConflict         = "conflict"
	CodeUnauthorized     = "unauthorized"
	CodeValidation       = "validation_error"
	CodeInvalidRequest   = "invalid_request"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeRateLimited      = "rate_limited"
	CodeInternal         = "internal_error"
)

// Options configure a Fake. The zero value serves every route with
// DefaultAPIKey and injects nothing.
type Options struct {
	// APIKey is the only X-Api-Key accepted; DefaultAPIKey when empty.
	APIKey string

	// RateLimitEvery answers every Nth request (all routes counted
	// together) with 429 and RetryAfter; 0 disables.
	RateLimitEvery int
	// RetryAfter is the Retry-After header of the 429s RateLimitEvery
	// injects: seconds or an HTTP date; "" sends no header.
	RetryAfter string
	// FailEvery answers every Nth request with 500; 0 disables.
	FailEvery int
	// Inject decides per request, after the queue of InjectNext: it gets
	// the route and the 1-based number of the request among all, and
	// returns the failure to answer or nil to serve the request. It is
	// called from concurrent requests.
	Inject func(route string, n int) *Fault

	// Latency delays every answer, or until the client gives up.
	Latency time.Duration

	// Now is the clock of created_at and similar fields; time.Now when nil.
	Now func() time.Time

	// RequestLog bounds how many of the latest requests Requests keeps;
	// DefaultRequestLog when zero.
	RequestLog int

	// LegacyLookup plays a deployment older than POST /v1/contacts/resolve:
	// that route answers the plain 404 of an unknown path, and only the
	// /lookup compatibility alias resolves.
	LegacyLookup bool

	// Contacts seed the state; an empty ID is assigned.
	Contacts []Contact
}

// Fault is a failure a Fake answers instead of serving a request.
type Fault struct {
	// Status is the HTTP status; 500 when zero.
	Status int
	// RetryAfter is sent as the Retry-After header when not empty.
	RetryAfter string
	// Code and Message form the body; when empty they default to
	// rate_limited for 429 and internal_error otherwise.
	Code    string
	Message string
}

// Request records one request the Fake received.
type Request struct {
	Route    string // the Route* pattern, "" when none matched
	Method   string
	Path     string
	RawQuery string
	// APIKey tells whether an X-Api-Key header was sent (its value is
	// never kept).
	APIKey bool
	// Body is the request body as received (bounded by maxBody).
	Body []byte
	// Status is the answer's HTTP status, 0 when the client gave up
	// during Options.Latency.
	Status int
}

// faults is the embedded request counter of a Fake.
type faults = fakeserver.Faults[Fault]

// Fake is an in-memory Wazapin Contacts API. It is safe for concurrent
// use; every accessor returns copies.
type Fake struct {
	opts Options
	mux  *http.ServeMux
	subs map[string]http.HandlerFunc // GET routes under routeGetSub
	now  func() time.Time

	*faults // InjectNext, Calls, CallCounts, Total
	log     *fakeserver.Log[Request]

	mu       sync.Mutex
	seq      int // last number used in a generated id
	contacts map[string]*Contact
}

// New returns a Fake seeded from opts. It is an http.Handler.
func New(opts Options) *Fake {
	if opts.APIKey == "" {
		opts.APIKey = DefaultAPIKey
	}
	if opts.RequestLog <= 0 {
		opts.RequestLog = DefaultRequestLog
	}
	f := &Fake{opts: opts, mux: http.NewServeMux(), now: opts.Now, faults: newFaults(opts),
		log: fakeserver.NewLog[Request](opts.RequestLog), contacts: map[string]*Contact{}}
	if f.now == nil {
		f.now = time.Now
	}
	f.PutContacts(opts.Contacts...)
	routes := map[string]http.HandlerFunc{
		RouteCreateContact:     f.createContact,
		RouteListContacts:      f.listContacts,
		RouteGetContact:        f.withContact(f.getContact),
		RouteUpdateContact:     f.withContact(withBody(f.updateContact)),
		RouteDeleteContact:     f.withContact(f.deleteContact),
		RouteResolve:           f.resolve,
		RouteLookup:            f.resolve,
		RouteCreateNote:        f.withContact(withBody(f.createNote)),
		RouteAssignTag:         f.withContact(withBody(f.assignTag)),
		RoutePutConsent:        f.withContact(withBody(f.putConsent)),
		RouteUpsertSuppression: f.withContact(withBody(f.upsertSuppression)),
		routeGetSub:            f.getSub,
	}
	f.subs = map[string]http.HandlerFunc{
		RouteGetByPhone:       f.getByPhone,
		RouteIdentities:       f.withContact(f.listIdentities),
		RouteListNotes:        f.withContact(f.listNotes),
		RouteListTags:         f.withContact(f.listTags),
		RouteListConsents:     f.withContact(f.listConsents),
		RouteListSuppressions: f.withContact(f.listSuppressions),
	}
	if opts.LegacyLookup {
		routes[RouteResolve] = http.NotFound
	}
	for pattern, h := range routes {
		f.mux.Handle(pattern, h)
	}
	return f
}

// ServeHTTP records the request, applies latency, injected failures,
// authentication and the Content-Type rule, then serves the route.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := f.route(r)
	rec := fakeserver.NewStatusWriter(w)
	body, berr := readBody(r)
	fault := fakeserver.Begin(f.faults, route)
	defer func() {
		f.log.Add(Request{Route: route, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			APIKey: r.Header.Get("X-Api-Key") != "", Body: body, Status: rec.Status})
	}()

	if !fakeserver.Delay(r, f.opts.Latency) {
		rec.Status = 0 // nobody is listening any more
		return
	}
	switch {
	case fault != nil:
		writeFault(rec, *fault)
	case route == "":
		writeError(rec, http.StatusNotFound, CodeNotFound, "route not found")
	case !f.authorized(r.Header.Get("X-Api-Key")):
		writeError(rec, http.StatusUnauthorized, CodeUnauthorized, "missing or invalid API key")
	case berr != nil:
		writeError(rec, http.StatusRequestEntityTooLarge, CodeInvalidRequest, berr.Error())
	case len(body) > 0 && !isJSON(r.Header.Get("Content-Type")):
		writeError(rec, http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type must be application/json")
	default:
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mux.ServeHTTP(rec, r)
	}
}

// routeGetSub is the one mux pattern of the GET routes two segments below
// /v1/contacts, since GET /v1/contacts/phone/{phone} and GET
// /v1/contacts/{contactID}/identities overlap as patterns.
const routeGetSub = "GET /v1/contacts/{contactID}/{sub}"

// route returns the Route* constant r matches, "" for none.
func (f *Fake) route(r *http.Request) string {
	_, pattern := f.mux.Handler(r)
	if pattern != routeGetSub {
		return pattern
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/contacts/"), "/")
	if len(segs) == 2 && segs[0] == "phone" {
		return RouteGetByPhone
	}
	if len(segs) == 2 {
		if name := "GET /v1/contacts/{contactID}/" + segs[1]; f.subs[name] != nil {
			return name
		}
	}
	return ""
}

// getSub serves the routes under routeGetSub.
func (f *Fake) getSub(w http.ResponseWriter, r *http.Request) {
	route := f.route(r)
	if route == RouteGetByPhone {
		r.SetPathValue("phone", r.PathValue("sub"))
	}
	f.subs[route](w, r)
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// newFaults returns the request counts and failure picking opts ask for.
func newFaults(opts Options) *fakeserver.Faults[Fault] {
	return fakeserver.NewFaults(fakeserver.Policy[Fault]{Inject: opts.Inject,
		RateLimitEvery: opts.RateLimitEvery, RateLimited: Fault{Status: http.StatusTooManyRequests, RetryAfter: opts.RetryAfter},
		FailEvery: opts.FailEvery, Failed: Fault{Status: http.StatusInternalServerError}}, false)
}

func (f *Fake) authorized(key string) bool {
	return key != "" && subtle.ConstantTimeCompare([]byte(key), []byte(f.opts.APIKey)) == 1
}

// Requests returns the latest requests received (up to
// Options.RequestLog), in the order they were answered.
func (f *Fake) Requests() []Request {
	reqs := f.log.All()
	out := make([]Request, len(reqs))
	for i, r := range reqs {
		r.Body = slices.Clone(r.Body)
		out[i] = r
	}
	return out
}

// nextID returns a new id with prefix; ids sort in creation order.
// The caller holds f.mu.
func (f *Fake) nextID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s_%08d", prefix, f.seq)
}

// errorBody is the documented error shape, plus the names of the invalid
// fields of a validation_error.
type errorBody struct {
	Error  string   `json:"error"`
	Code   string   `json:"code"`
	Fields []string `json:"fields,omitempty"`
}

func writeFault(w http.ResponseWriter, fault Fault) {
	if fault.Status == 0 {
		fault.Status = http.StatusInternalServerError
	}
	code, msg := fault.Code, fault.Message
	if code == "" && fault.Status == http.StatusTooManyRequests {
		code, msg = CodeRateLimited, "rate limit exceeded"
	} else if code == "" {
		code, msg = CodeInternal, "internal server error"
	}
	if fault.RetryAfter != "" {
		w.Header().Set("Retry-After", fault.RetryAfter)
	}
	writeError(w, fault.Status, code, msg)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: msg, Code: code})
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
