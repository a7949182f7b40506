package resolver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/crmhub/crmhub"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Limits of one GraphQL-over-HTTP request.
const (
	// maxBodyBytes bounds a request body; 100 upserted contacts with
	// generous custom fields stay far below it.
	maxBodyBytes = 1 << 20
	// bodyReadTimeout is how long a client may take to send its body: a
	// client trickling bytes holds a connection and a goroutine.
	bodyReadTimeout = 15 * time.Second
	// requestTimeout is the deadline of one query or mutation over HTTP.
	requestTimeout = 30 * time.Second
	// maxJSONDepth bounds how deeply a request body (and so its variables)
	// may nest; decoding and coercing deeper values costs time and memory
	// out of proportion to their size.
	maxJSONDepth = 32
)

const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// httpTransport serves GraphQL over HTTP (GET and POST) in place of gqlgen's
// transports, which echo an undecodable body back in the error, answer a
// non-GraphQL request with errors that carry no code, and put a "data"
// entry in answers to requests that never executed. Here every request
// that is not a GraphQL request ends before parsing with HTTP 400 (415 for
// the media type, 413 for a body over 1 MiB, declared or not) and code
// BAD_REQUEST; the body is read within bodyReadTimeout and nests at most
// maxJSONDepth; and the operation runs under requestTimeout.
type httpTransport struct {
	// limits, when set, charges each request to its API key's budget and
	// writes the RateLimit-* headers.
	limits *rateLimits
	// idem, when set, keeps the answers of mutations sent with an
	// Idempotency-Key (see idempotent).
	idem crmhub.IdempotencyService
	log  *slog.Logger
}

var _ graphql.Transport = httpTransport{}

func (httpTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == "" && (r.Method == http.MethodGet || r.Method == http.MethodPost)
}

func (t httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctype := responseType(r.Header.Get("Accept"))
	start := graphql.Now()
	var params *graphql.RawParams
	var body []byte
	var err *requestError
	idemKey := r.Header.Get("Idempotency-Key")
	switch {
	case idemKey != "" && (r.Method != http.MethodPost || !crmhub.ValidIdempotencyKey(idemKey)):
		err = badRequest("Idempotency-Key must be 1 to %d visible ASCII characters, on a POST", crmhub.MaxIdempotencyKeyLength)
	case r.Method == http.MethodGet:
		params, err = getParams(r.URL.RawQuery)
	default:
		params, body, err = postParams(w, r)
	}
	if err == nil && params.Query == "" && !hasPersistedQuery(params) {
		err = badRequest("the request has no query: send the document in query, or its hash in extensions.persistedQuery")
	}
	if err != nil {
		if err.status == http.StatusRequestTimeout || err.status == http.StatusRequestEntityTooLarge {
			// The rest of the body is not worth reading.
			w.Header().Set("Connection", "close")
		}
		writeError(w, err.status, crmhub.EBADREQUEST, err.msg)
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	var charge *charged
	if t.limits != nil {
		ctx, charge = withCharge(ctx)
	}
	w.Header().Set("Content-Type", ctype)
	oc, errs := exec.CreateOperationContext(ctx, params)
	if charge != nil {
		chargeUncharged(ctx, t.limits, charge)
		if res := charge.res; res != nil {
			res.writeHeaders(w.Header())
			if !res.allowed {
				w.WriteHeader(http.StatusTooManyRequests)
				writeErrors(w, exec.DispatchError(graphql.WithOperationContext(ctx, oc), gqlerror.List{res.error()}))
				return
			}
		}
	}
	if errs != nil {
		status := http.StatusOK
		if errcode.GetErrorKind(errs) == errcode.KindProtocol && ctype == mediaGraphQLResponse {
			// A document that does not parse or validate, or variables
			// that do not coerce: the spec has 400 for the newer media
			// type and 200 for application/json, whose clients read the
			// errors of any answer they can parse.
			status = http.StatusBadRequest
		}
		w.WriteHeader(status)
		writeErrors(w, exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs))
		return
	}
	if r.Method == http.MethodGet && oc.Operation.Operation != ast.Query {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, crmhub.EBADREQUEST, "GET runs queries only; send mutations with POST")
		return
	}
	if idemKey != "" && t.idem != nil && oc.Operation.Operation == ast.Mutation {
		t.idempotent(ctx, w, idemKey, body, ctype, func() []byte { return execute(ctx, exec, oc) })
		return
	}
	w.Write(execute(ctx, exec, oc))
}

// execute runs an operation and returns its JSON answer.
func execute(ctx context.Context, exec graphql.GraphExecutor, oc *graphql.OperationContext) []byte {
	responses, ctx := exec.DispatchOperation(ctx, oc)
	resp := responses(ctx)
	if resp != nil && len(resp.Data) > 0 && len(resp.Errors) == 0 && len(resp.Extensions) == 0 &&
		resp.Label == "" && resp.Path == nil && resp.HasNext == nil {
		// Only data, which gqlgen wrote as compact JSON: json.Marshal
		// would scan and copy it all again (3% of a nested page's CPU).
		b := make([]byte, 0, len(resp.Data)+len(`{"data":}`))
		return append(append(append(b, `{"data":`...), resp.Data...), '}')
	}
	b, err := json.Marshal(resp)
	if err != nil {
		panic(fmt.Errorf("resolver: marshal response: %w", err))
	}
	return b
}

// idempotent runs a mutation sent with an Idempotency-Key at most once per
// API key and day: the first answer is stored (in PostgreSQL, so a retry
// may reach any process) and sent again, with Idempotent-Replayed: true,
// to a repeat of the same body; the key with another body is 422
// IDEMPOTENCY_KEY_REUSED, a repeat while the first runs is 409 CONFLICT.
func (t httpTransport) idempotent(ctx context.Context, w http.ResponseWriter, key string, body []byte, ctype string, run func() []byte) {
	sum := sha256.Sum256(body)
	stored, err := t.idem.Claim(ctx, key, sum[:])
	switch crmhub.ErrorCode(err) {
	case "":
	case crmhub.EIDEMPOTENCYREUSED:
		writeError(w, http.StatusUnprocessableEntity, crmhub.EIDEMPOTENCYREUSED, crmhub.ErrorMessage(err))
		return
	case crmhub.ECONFLICT:
		writeError(w, http.StatusConflict, crmhub.ECONFLICT, crmhub.ErrorMessage(err))
		return
	default:
		t.log.ErrorContext(ctx, "idempotency: claim", "err", err)
		writeError(w, http.StatusInternalServerError, crmhub.EINTERNAL, "internal error")
		return
	}
	if stored != nil {
		w.Header().Set("Content-Type", stored.ContentType)
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(stored.Status)
		w.Write(stored.Body)
		return
	}
	// Stored even when the client has gone (its retry gets it), and
	// before the answer leaves, so that a retry made as soon as it arrives
	// finds it.
	done := context.WithoutCancel(ctx)
	var answer []byte
	defer func() {
		if answer == nil { // the run panicked: let a retry run it again
			if err := t.idem.Release(done, key); err != nil {
				t.log.ErrorContext(ctx, "idempotency: release", "err", err)
			}
		}
	}()
	answer = run()
	if err := t.idem.Complete(done, key, crmhub.StoredResponse{Status: http.StatusOK, ContentType: ctype, Body: answer}); err != nil {
		t.log.ErrorContext(ctx, "idempotency: store the answer", "err", err)
	}
	w.Write(answer)
}

// hasPersistedQuery tells whether a request names its document by hash
// (the automatic persisted queries extension) instead of sending it.
func hasPersistedQuery(p *graphql.RawParams) bool {
	_, ok := p.Extensions["persistedQuery"]
	return ok
}

// requestError is a request that is not a GraphQL request.
type requestError struct {
	status int
	msg    string
}

func badRequest(format string, args ...any) *requestError {
	return &requestError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// postParams reads and checks a POST body. The checks that need no
// decoding (size, shape, depth) run first, so no cost grows faster than
// the body.
func postParams(w http.ResponseWriter, r *http.Request) (*graphql.RawParams, []byte, *requestError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != mediaJSON {
		return nil, nil, &requestError{http.StatusUnsupportedMediaType, "send the request as " + mediaJSON}
	}
	if r.ContentLength > maxBodyBytes {
		return nil, nil, &requestError{http.StatusRequestEntityTooLarge, "request body is larger than 1 MiB"}
	}
	rc := http.NewResponseController(w)
	deadline := rc.SetReadDeadline(time.Now().Add(bodyReadTimeout)) == nil
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if deadline {
		// Past the body, a deadline would cancel the request while it
		// runs (the server's background read would hit it).
		rc.SetReadDeadline(time.Time{})
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, nil, &requestError{http.StatusRequestEntityTooLarge, "request body is larger than 1 MiB"}
	case isTimeout(err):
		return nil, nil, &requestError{http.StatusRequestTimeout, "request body did not arrive in time"}
	case err != nil:
		return nil, nil, badRequest("request body could not be read")
	}
	if e := checkJSON(body, "request body"); e != nil {
		return nil, nil, e
	}
	if first := firstByte(body); first != '{' {
		if first == '[' {
			return nil, nil, badRequest("batched requests are not supported: send one operation per request")
		}
		return nil, nil, badRequest("request body must be a JSON object")
	}
	params := &graphql.RawParams{}
	if err := decodeJSON(body, params); err != nil {
		return nil, nil, badRequest("request body is not a GraphQL request: %s", jsonProblem(err))
	}
	return params, body, nil
}

// getParams reads a GET request's query string.
func getParams(rawQuery string) (*graphql.RawParams, *requestError) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, badRequest("malformed query string")
	}
	params := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
	for _, p := range []struct {
		name string
		into any
	}{{"variables", &params.Variables}, {"extensions", &params.Extensions}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		if e := checkJSON([]byte(v), p.name); e != nil {
			return nil, e
		}
		if err := decodeJSON([]byte(v), p.into); err != nil {
			return nil, badRequest("%s must be a JSON object", p.name)
		}
	}
	return params, nil
}

// checkJSON refuses text that is not JSON or nests deeper than
// maxJSONDepth, without decoding it.
func checkJSON(b []byte, what string) *requestError {
	if !json.Valid(b) {
		return badRequest("%s is not valid JSON", what)
	}
	if jsonDepth(b) > maxJSONDepth {
		return badRequest("%s nests deeper than %d levels", what, maxJSONDepth)
	}
	return nil
}

// jsonDepth is the deepest nesting of arrays and objects in valid JSON.
func jsonDepth(b []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			deepest = max(deepest, depth)
		case '}', ']':
			depth--
		}
	}
	return deepest
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func decodeJSON(b []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(into)
}

// jsonProblem says what was wrong with a body's shape without quoting it.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s must not be a JSON %s", te.Field, te.Value)
	}
	return "malformed request"
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// responseType picks the media type of the answer from Accept, as the
// GraphQL-over-HTTP spec says: application/json unless the client prefers
// application/graphql-response+json (or accepts nothing we know, when the
// newer type is the spec's default).
func responseType(accept string) string {
	if accept == "" {
		return mediaJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "*/*", "application/*", mediaJSON:
			return mediaJSON
		case mediaGraphQLResponse:
			return mediaGraphQLResponse
		}
	}
	return mediaGraphQLResponse
}

// writeErrors writes an answer to a request that did not execute: errors
// only, with no "data" entry (the spec: data is present only once
// execution started).
func writeErrors(w io.Writer, resp *graphql.Response) {
	b, err := json.Marshal(struct {
		Errors     gqlerror.List  `json:"errors"`
		Extensions map[string]any `json:"extensions,omitempty"`
	}{resp.Errors, resp.Extensions})
	if err != nil {
		panic(fmt.Errorf("resolver: marshal errors: %w", err))
	}
	w.Write(b)
}
