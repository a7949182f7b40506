package wazapin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmhub/crmhub/connectors"
)

const (
	// DefaultBaseURL is the API host the document's examples use.
	DefaultBaseURL = "https://api.wazapin.id"

	// PageSize is how many contacts one list request asks for.
	PageSize = 100

	// DefaultMaxResponseBytes bounds how much of a response body is read.
	DefaultMaxResponseBytes = 8 << 20

	// DefaultTimeout bounds a whole request when Config.HTTPClient is nil.
	DefaultTimeout = 30 * time.Second
)

// Config says where and how the Client talks to Wazapin.
type Config struct {
	// BaseURL is the API root without the /v1 path; DefaultBaseURL when
	// empty. Tests point it at a wazapintest server.
	BaseURL string
	// APIKey is sent as the X-Api-Key header.
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
	// UserAgent is sent with every request when not empty.
	UserAgent string
	// Now is the clock used to turn a Retry-After date into a duration;
	// time.Now when nil.
	Now func() time.Time
}

// Client speaks the Wazapin Contacts API v1 wire protocol. It never
// retries and never sleeps. It is safe for concurrent use.
type Client struct {
	baseURL   string
	apiKey    string
	http      *http.Client
	maxBody   int64
	userAgent string
	now       func() time.Time
}

// New returns a Client for cfg, filling the defaults Config documents.
func New(cfg Config) *Client {
	c := &Client{
		baseURL:   strings.TrimRight(cfg.BaseURL, "/"),
		apiKey:    cfg.APIKey,
		http:      cfg.HTTPClient,
		maxBody:   cfg.MaxResponseBytes,
		userAgent: cfg.UserAgent,
		now:       cfg.Now,
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

// request describes one call: the route, its query, the value to send as
// JSON (nil for none) and where to decode the "data" of a 2xx body (nil
// to ignore it).
type request struct {
	method string
	path   string
	query  url.Values
	in     any
	out    any
}

// do sends r and turns the answer into either decoded data or one of the
// typed errors of package connectors.
func (c *Client) do(ctx context.Context, r request) error {
	raw, err := c.send(ctx, r)
	if err != nil || r.out == nil {
		return err
	}
	return decodeData(r.method+" "+r.path, raw, r.out)
}

// send performs r and returns the body of a 2xx answer.
func (c *Client) send(ctx context.Context, r request) ([]byte, error) {
	what := r.method + " " + r.path
	var body io.Reader
	if r.in != nil {
		b, err := json.Marshal(r.in)
		if err != nil {
			return nil, fmt.Errorf("wazapin: encoding %s: %w", what, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.baseURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("wazapin: building %s: %w", what, err)
	}
	req.Header.Set("X-Api-Key", c.apiKey)
	req.Header.Set("Content-Type", "application/json") // the document requires it on every request
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &connectors.TransientError{Err: fmt.Errorf("wazapin: %s: %w", what, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, &connectors.TransientError{Status: resp.StatusCode, Err: fmt.Errorf("wazapin: reading %s: %w", what, err)}
	}
	tooLong := int64(len(raw)) > c.maxBody
	if tooLong {
		raw = raw[:c.maxBody]
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.statusError(what, resp, raw)
	}
	if tooLong {
		return nil, fmt.Errorf("wazapin: %s: response larger than %d bytes", what, c.maxBody)
	}
	return raw, nil
}

// decodeData decodes the documented {"data": ...} envelope into out; a
// body without the envelope is decoded as the data itself.
func decodeData(what string, raw []byte, out any) error {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return fmt.Errorf("wazapin: decoding %s: empty body", what)
	}
	inner := raw
	if json.Unmarshal(raw, &env) == nil && len(env.Data) > 0 {
		inner = env.Data
	}
	if err := json.Unmarshal(inner, out); err != nil {
		return fmt.Errorf("wazapin: decoding %s: %w", what, err)
	}
	return nil
}

// remoteError is the documented error body, {"error": TEXT, "code": CODE},
// with the "fields" of a validation error when the remote names them.
type remoteError struct {
	Error  string   `json:"error"`
	Code   string   `json:"code"`
	Fields []string `json:"fields"`
}

// statusError maps a non-2xx answer to the error type the sync engine
// branches on. Other 4xx answers are *RequestError, which carries Fields
// beside a connectors.RequestError.
func (c *Client) statusError(what string, resp *http.Response, raw []byte) error {
	var re remoteError
	_ = json.Unmarshal(raw, &re) // a body of another shape leaves re empty
	msg := connectors.BodyMessage(re.Error, raw, resp.StatusCode)
	if err := connectors.StatusError("wazapin", what, resp, re.Code, msg, c.now); err != nil {
		return err
	}
	status := resp.StatusCode
	return &RequestError{RequestError: connectors.RequestError{Status: status, Code: re.Code, Message: msg}, Fields: re.Fields}
}

// errEmptyID is returned, without sending anything, for an empty path id,
// which would address the collection instead of a record.
var errEmptyID = errors.New("wazapin: empty id")

// contactPath returns /v1/contacts/{id} followed by the escaped segments.
func contactPath(id string, segments ...string) (string, error) {
	if strings.TrimSpace(id) == "" {
		return "", errEmptyID
	}
	p := "/v1/contacts/" + url.PathEscape(id)
	for _, s := range segments {
		p += "/" + url.PathEscape(s)
	}
	return p, nil
}

// onContact sends a request to a route of one contact.
func (c *Client) onContact(ctx context.Context, method, id string, in, out any, segments ...string) error {
	p, err := contactPath(id, segments...)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: method, path: p, in: in, out: out})
}
