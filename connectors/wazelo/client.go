package wazelo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmhub/crmhub/connectors"
)

const (
	// DefaultBaseURL is the documented API root, version included.
	DefaultBaseURL = "https://api.wazelo.in/v1"

	// MaxPageSize is the largest limit the client asks a list for.
	MaxPageSize = 100

	// DefaultMaxResponseBytes bounds how much of a response body is read.
	DefaultMaxResponseBytes = 8 << 20

	// DefaultTimeout bounds a whole request when Config.HTTPClient is nil.
	DefaultTimeout = 30 * time.Second
)

// Config says where and how the Client talks to Wazelo.
type Config struct {
	// BaseURL is the API root including the version path ("/v1");
	// DefaultBaseURL when empty. Tests point it at a wazelotest server.
	BaseURL string
	// APIKey is the Bearer key from Settings -> API Keys.
	APIKey string
	// HTTPClient sends the requests; when nil, a client with Timeout is
	// used.
	HTTPClient *http.Client
	// Timeout bounds each request when HTTPClient is nil; DefaultTimeout
	// when zero.
	Timeout time.Duration
	// MaxResponseBytes bounds the body read from one response;
	// DefaultMaxResponseBytes when zero.
	MaxResponseBytes int64
	// Now turns a Retry-After date into a duration; time.Now when nil.
	Now func() time.Time
}

// Client speaks the Wazelo wire protocol. It never retries and never
// sleeps. It is safe for concurrent use.
type Client struct {
	baseURL string
	apiKey  string
	http    *http.Client
	maxBody int64
	now     func() time.Time
}

// New returns a Client for cfg, filling the defaults Config documents.
func New(cfg Config) *Client {
	c := &Client{
		baseURL: strings.TrimRight(cfg.BaseURL, "/"),
		apiKey:  cfg.APIKey,
		http:    cfg.HTTPClient,
		maxBody: cfg.MaxResponseBytes,
		now:     cfg.Now,
	}
	if c.baseURL == "" {
		c.baseURL = DefaultBaseURL
	}
	if c.http == nil {
		timeout := cfg.Timeout
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		c.http = &http.Client{Timeout: timeout}
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Meta is the pagination block of a list answer.
type Meta struct {
	Page  int `json:"page"`
	Limit int `json:"limit"`
	Total int `json:"total"`
}

// envelope is the documented answer {success, data, meta}; data is decoded
// into the caller's value.
type envelope struct {
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Meta    *Meta           `json:"meta"`
}

// request describes one call: the route under the base URL, its query, the
// value to send as JSON (nil for none), where to decode the envelope's
// data (nil to ignore it) and extra headers.
type request struct {
	method string
	path   string
	query  url.Values
	in     any
	out    any
	header http.Header
}

// do sends r and returns the envelope's meta, or one of the typed errors of
// package connectors.
func (c *Client) do(ctx context.Context, r request) (*Meta, error) {
	what := r.method + " " + r.path
	var body io.Reader
	if r.in != nil {
		b, err := json.Marshal(r.in)
		if err != nil {
			return nil, fmt.Errorf("wazelo: encoding %s: %w", what, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.baseURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("wazelo: building %s: %w", what, err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &connectors.TransientError{Err: fmt.Errorf("wazelo: %s: %w", what, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, &connectors.TransientError{Status: resp.StatusCode, Err: fmt.Errorf("wazelo: reading %s: %w", what, err)}
	}
	tooLong := int64(len(raw)) > c.maxBody
	if tooLong {
		raw = raw[:c.maxBody]
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.statusError(what, resp, raw)
	}
	if tooLong {
		return nil, fmt.Errorf("wazelo: %s: response larger than %d bytes", what, c.maxBody)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		if r.out != nil {
			return nil, fmt.Errorf("wazelo: %s: empty answer", what)
		}
		return nil, nil
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("wazelo: decoding %s: %w", what, err)
	}
	if r.out != nil {
		if len(env.Data) == 0 || string(env.Data) == "null" {
			return nil, fmt.Errorf("wazelo: %s: answer without data", what)
		}
		if err := json.Unmarshal(env.Data, r.out); err != nil {
			return nil, fmt.Errorf("wazelo: decoding %s: %w", what, err)
		}
	}
	return env.Meta, nil
}

// remoteError is the documented error object of a failed request. errors
// is the field list of a 422, which the document mentions without showing.
type remoteError struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Status  int          `json:"status"`
	Errors  []FieldError `json:"errors"`
}

// FieldError is one entry of a VALIDATION_ERROR's errors array.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// errorBody is {"success": false, "error": {...}}. An errors array beside
// error rather than inside it is accepted too.
type errorBody struct {
	Error  remoteError  `json:"error"`
	Errors []FieldError `json:"errors"`
}

// statusError maps a non-2xx answer to the error the sync engine branches
// on: 429 RateLimitError, 401/403 AuthError, 5xx TransientError, any other
// status a RequestError, or a *ValidationError for a 422 naming fields.
func (c *Client) statusError(what string, resp *http.Response, raw []byte) error {
	var eb errorBody
	_ = json.Unmarshal(raw, &eb) // a body of another shape leaves it empty
	re := eb.Error
	if len(re.Errors) == 0 {
		re.Errors = eb.Errors
	}
	msg := connectors.BodyMessage(re.Message, raw, resp.StatusCode)
	if err := connectors.StatusError("wazelo", what, resp, re.Code, msg, c.now); err != nil {
		return err
	}
	status := resp.StatusCode
	code := re.Code
	if code == "" {
		code = codeForStatus(status)
	}
	rerr := &connectors.RequestError{Status: status, Code: code, Message: msg}
	if len(re.Errors) > 0 {
		return &ValidationError{RequestError: rerr, Fields: re.Errors}
	}
	return rerr
}

// pathID escapes one path segment and refuses an empty one, which would
// address the collection instead of a record.
func pathID(collection, id string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("wazelo: %s: empty id", collection)
	}
	return collection + "/" + url.PathEscape(id), nil
}
