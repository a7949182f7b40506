package wazzup

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
	// DefaultBaseURL is the production API host both documents use.
	DefaultBaseURL = "https://api.wazzup24.com"

	// MaxBatch is the most records one write request may carry: the v3
	// contacts limit of 100 entities per request, applied to every batch.
	MaxBatch = 100

	// PageSize is the most records one list request returns.
	PageSize = 100

	// MaxReplaceUsers bounds ReplaceUsers, which cannot be split into
	// batches because each PUT replaces the whole list.
	MaxReplaceUsers = 1000

	// DefaultMaxResponseBytes bounds how much of a response body is read.
	DefaultMaxResponseBytes = 8 << 20

	// DefaultTimeout bounds a whole request when Config.HTTPClient is nil.
	DefaultTimeout = 30 * time.Second
)

// ErrBatchTooLarge is wrapped by the error a write method returns, without
// sending anything, when its batch exceeds the documented limit.
var ErrBatchTooLarge = errors.New("batch exceeds the remote limit")

// Config says where and how the Client talks to Wazzup.
type Config struct {
	// BaseURL is the API root without a trailing path; DefaultBaseURL when
	// empty. Tests point it at a wazzuptest server.
	BaseURL string
	// APIKey is the integration key from the Wazzup personal account.
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

// Client speaks the Wazzup wire protocol. It is safe for concurrent use.
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

// ID is an identifier the documentation types as "String or number". It
// decodes from either JSON form, keeping a number's literal text, and is
// sent as a JSON string.
type ID string

// UnmarshalJSON accepts a JSON string, a JSON number or null.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return errors.New("wazzup: empty id")
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
	case string(b) == "null":
		*id = ""
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("wazzup: id %s is neither a string nor a number", b)
		}
		*id = ID(n)
	}
	return nil
}

// String returns the id as text.
func (id ID) String() string { return string(id) }

// request describes one call: the route, its query, the value to send as
// JSON (nil for none) and where to decode a 2xx body (nil to ignore it).
type request struct {
	method string
	path   string
	query  url.Values
	in     any
	out    any
}

// do sends r and turns the answer into either a decoded body or one of the
// typed errors of package connectors.
func (c *Client) do(ctx context.Context, r request) error {
	what := r.method + " " + r.path
	var body io.Reader
	if r.in != nil {
		b, err := json.Marshal(r.in)
		if err != nil {
			return fmt.Errorf("wazzup: encoding %s: %w", what, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.baseURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return fmt.Errorf("wazzup: building %s: %w", what, err)
	}
	req.Header.Set("Authorization", authScheme(r.path)+" "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return &connectors.TransientError{Err: fmt.Errorf("wazzup: %s: %w", what, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return &connectors.TransientError{Status: resp.StatusCode, Err: fmt.Errorf("wazzup: reading %s: %w", what, err)}
	}
	tooLong := int64(len(raw)) > c.maxBody
	if tooLong {
		raw = raw[:c.maxBody]
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.statusError(what, resp, raw)
	}
	if r.out == nil {
		return nil
	}
	if tooLong {
		return fmt.Errorf("wazzup: %s: response larger than %d bytes", what, c.maxBody)
	}
	if err := json.Unmarshal(raw, r.out); err != nil {
		return fmt.Errorf("wazzup: decoding %s: %w", what, err)
	}
	return nil
}

// authScheme is the scheme each document shows: Bearer for v3, Basic for v2.
func authScheme(path string) string {
	if strings.HasPrefix(path, "/v2/") {
		return "Basic"
	}
	return "Bearer"
}

// remoteError is the documented error body:
// {"error": CODE, "description": TEXT, "data": ...}.
type remoteError struct {
	Error       string          `json:"error"`
	Description string          `json:"description"`
	Data        json.RawMessage `json:"data"`
}

// invalidItem is one entry of an INVALID_CONTACTS_DATA "data" array.
type invalidItem struct {
	Index  int      `json:"index"`
	Fields []string `json:"fields"`
}

// statusError maps a non-2xx answer to the error type the sync engine
// branches on.
func (c *Client) statusError(what string, resp *http.Response, raw []byte) error {
	var re remoteError
	_ = json.Unmarshal(raw, &re) // a body of another shape leaves re empty
	msg := connectors.BodyMessage(re.Description, raw, resp.StatusCode)
	if err := connectors.StatusError("wazzup", what, resp, re.Error, msg, c.now); err != nil {
		return err
	}
	status := resp.StatusCode
	if items := batchItems(re); items != nil {
		return &BatchError{Status: status, Code: re.Error, Description: re.Description, Items: items}
	}
	return &connectors.RequestError{Status: status, Code: re.Error, Message: msg}
}

// batchItems returns one ItemError per entry of a per-index "data" array,
// or nil when the body carries none.
func batchItems(re remoteError) []connectors.ItemError {
	if len(re.Data) == 0 || re.Data[0] != '[' {
		return nil
	}
	var entries []invalidItem
	if err := json.Unmarshal(re.Data, &entries); err != nil || len(entries) == 0 {
		return nil
	}
	items := make([]connectors.ItemError, len(entries))
	for i, e := range entries {
		items[i] = connectors.ItemError{Index: e.Index, Code: re.Error, Fields: e.Fields, Message: re.Description}
	}
	return items
}

// checkBatch refuses a batch larger than limit before anything is sent.
func checkBatch(what string, n, limit int) error {
	if n > limit {
		return fmt.Errorf("wazzup: %s: %d records, limit %d: %w", what, n, limit, ErrBatchTooLarge)
	}
	return nil
}

// getByID fetches one record of collection; IsNotFound reports a missing
// one.
func getByID[T any](ctx context.Context, c *Client, collection, id string) (T, error) {
	var out T
	p, err := pathID(collection, id)
	if err == nil {
		err = c.do(ctx, request{method: "GET", path: p, out: &out})
	}
	return out, err
}

// deleteByID deletes one record of collection; IsNotFound reports a
// missing one.
func (c *Client) deleteByID(ctx context.Context, collection, id string) error {
	p, err := pathID(collection, id)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: "DELETE", path: p})
}

// pathID escapes one path segment and refuses an empty one, which would
// address the collection instead of a record.
func pathID(collection, id string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("wazzup: %s: empty id", collection)
	}
	return collection + "/" + url.PathEscape(id), nil
}
