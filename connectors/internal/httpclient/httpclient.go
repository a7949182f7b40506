// Package httpclient is the part of every connector's wire client that
// does not depend on the CRM: the configuration and its defaults, building
// a JSON request, reading a bounded answer and turning an error answer
// into the typed errors of package connectors. What differs between the
// CRMs' APIs (credentials, the error body, the envelope of an answer,
// pacing) is a Remote's hooks.
package httpclient

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
	// DefaultMaxResponseBytes bounds how much of a response body is read.
	DefaultMaxResponseBytes = 8 << 20

	// DefaultTimeout bounds a whole request when Config.HTTPClient is nil.
	DefaultTimeout = 30 * time.Second
)

// Config says where and how a Client talks to its remote. The connectors
// whose clients need nothing else use it as their own Config.
type Config struct {
	// BaseURL is the API root; the Remote's DefaultBaseURL when empty.
	// Tests point it at a fake server.
	BaseURL string
	// APIKey is the key the remote issued; the Remote's SetHeaders says
	// how it is sent.
	APIKey string
	// HTTPClient sends the requests; when nil, a client with Timeout is
	// used. Its own Timeout, if any, bounds each request.
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

// Remote is what a connector tells the Client about its CRM's API.
type Remote struct {
	// Name starts every error message ("wazzup").
	Name string
	// DefaultBaseURL stands for an empty Config.BaseURL.
	DefaultBaseURL string
	// Prefix is the API's path under the base URL, put before every
	// request's path (and named in errors); a base URL that already ends
	// with it is taken as the host alone.
	Prefix string
	// SetHeaders sets the headers the CRM wants on a request to path (the
	// request's Path, without Prefix): its credentials at least. It runs
	// after the Accept, Content-Type (when there is a body) and
	// User-Agent headers are set. Required.
	SetHeaders func(h http.Header, path, apiKey string)
	// NewErrorBody returns an empty value of the CRM's error body, which
	// the body of an answer whose status is not 2xx is decoded into.
	// Required.
	NewErrorBody func() ErrorBody
	// Decode, when set, reads every 2xx body into a request's Out (nil
	// included), after the size check; its errors are returned as they
	// are. When nil, the body is decoded as JSON into Out, or left unread,
	// however long, when Out is nil.
	Decode func(what string, raw []byte, out any) error
	// Pace, when set, runs before each request is sent, once it is built;
	// its error is returned as it is and nothing is sent.
	Pace func(ctx context.Context) error
}

// ErrorBody is an error answer's body as a CRM documents it. The body is
// decoded into it leniently: one of another shape leaves it empty.
type ErrorBody interface {
	// Parts returns the remote's code and message; "" for those the body
	// lacks.
	Parts() (code, message string)
	// Err returns the error of an answer whose status connectors.StatusError
	// leaves (not 429, 401, 403 or 5xx): a *connectors.RequestError, or a
	// type that wraps one. msg is the answer's message: the body's, else
	// the raw body, else the status text.
	Err(status int, msg string) error
}

// Client sends the requests of one connector. It never retries. It is
// safe for concurrent use.
type Client struct {
	remote    Remote
	baseURL   string
	apiKey    string
	http      *http.Client
	maxBody   int64
	userAgent string
	now       func() time.Time
}

// New returns a Client for cfg and remote, filling the defaults Config
// documents.
func New(cfg Config, remote Remote) *Client {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if remote.Prefix != "" {
		base = strings.TrimSuffix(base, remote.Prefix)
	}
	if base == "" {
		base = remote.DefaultBaseURL
	}
	c := &Client{remote: remote, baseURL: base, apiKey: cfg.APIKey, http: cfg.HTTPClient,
		maxBody: cfg.MaxResponseBytes, userAgent: cfg.UserAgent, now: cfg.Now}
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

// Request describes one call: the route under the base URL and Prefix, its
// query, the value to send as JSON (nil for none), where to decode a 2xx
// body (nil to ignore it, see Remote.Decode) and extra headers.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	In     any
	Out    any
	Header http.Header
}

// Do sends r and turns the answer into either a decoded body or one of the
// typed errors of package connectors: a TransientError when no answer
// arrives or it cannot be read, and what connectors.StatusError and the
// Remote's ErrorBody makes of a status other than 2xx.
func (c *Client) Do(ctx context.Context, r Request) error {
	name := c.remote.Name
	what := r.Method + " " + c.remote.Prefix + r.Path
	var body io.Reader
	if r.In != nil {
		b, err := json.Marshal(r.In)
		if err != nil {
			return fmt.Errorf("%s: encoding %s: %w", name, what, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.baseURL + c.remote.Prefix + r.Path
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u, body)
	if err != nil {
		return fmt.Errorf("%s: building %s: %w", name, what, err)
	}
	c.setHeaders(req, r)
	if c.remote.Pace != nil {
		if err := c.remote.Pace(ctx); err != nil {
			return err
		}
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return &connectors.TransientError{Err: fmt.Errorf("%s: %s: %w", name, what, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return &connectors.TransientError{Status: resp.StatusCode, Err: fmt.Errorf("%s: reading %s: %w", name, what, err)}
	}
	tooLong := int64(len(raw)) > c.maxBody
	if tooLong {
		raw = raw[:c.maxBody]
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.statusError(what, resp, raw)
	}
	if r.Out == nil && c.remote.Decode == nil {
		return nil
	}
	if tooLong {
		return fmt.Errorf("%s: %s: response larger than %d bytes", name, what, c.maxBody)
	}
	if c.remote.Decode != nil {
		return c.remote.Decode(what, raw, r.Out)
	}
	if err := json.Unmarshal(raw, r.Out); err != nil {
		return fmt.Errorf("%s: decoding %s: %w", name, what, err)
	}
	return nil
}

// setHeaders sets r's own headers, then the common ones, then the
// remote's.
func (c *Client) setHeaders(req *http.Request, r Request) {
	for k, v := range r.Header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if r.In != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	c.remote.SetHeaders(req.Header, r.Path, c.apiKey)
}

// statusError maps a non-2xx answer to the error type the sync engine
// branches on.
func (c *Client) statusError(what string, resp *http.Response, raw []byte) error {
	body := c.remote.NewErrorBody()
	_ = json.Unmarshal(raw, body) // a body of another shape leaves it empty
	code, msg := body.Parts()
	msg = connectors.BodyMessage(msg, raw, resp.StatusCode)
	if err := connectors.StatusError(c.remote.Name, what, resp, code, msg, c.now); err != nil {
		return err
	}
	return body.Err(resp.StatusCode, msg)
}

// Bearer is a Remote.SetHeaders for a CRM that takes the key as a Bearer
// token.
func Bearer(h http.Header, _, apiKey string) { h.Set("Authorization", "Bearer "+apiKey) }

// PathID returns collection/id with id escaped as one path segment. It
// refuses an empty id, which would address the collection instead of a
// record.
func (c *Client) PathID(collection, id string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("%s: %s: empty id", c.remote.Name, collection)
	}
	return collection + "/" + url.PathEscape(id), nil
}

// DecodeID reads an id the CRM types as "string or number" from a JSON
// string, a JSON number (keeping its literal text) or null (""). name
// starts the error messages.
func DecodeID(name string, b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return "", errors.New(name + ": empty id")
	case string(b) == "null":
		return "", nil
	case b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return "", fmt.Errorf("%s: id %s is neither a string nor a number", name, b)
	}
	return string(n), nil
}
