package wazera

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/crmhub/crmhub/connectors"
)

const (
	// DefaultMaxResponseBytes bounds how much of a response body is read.
	DefaultMaxResponseBytes = 8 << 20

	// DefaultTimeout bounds a whole request when Config.HTTPClient is nil.
	DefaultTimeout = 30 * time.Second

	// apiPrefix is the path of the API under the base URL.
	apiPrefix = "/api/v1"
)

// Plan is a Wazera subscription plan; it decides the rate limit.
type Plan string

// The plans of the document's "Rate Limits" section.
const (
	PlanStarter      Plan = "starter"
	PlanProfessional Plan = "professional"
	PlanEnterprise   Plan = "enterprise"
)

// planLimits are the documented requests per minute.
var planLimits = map[Plan]int{PlanStarter: 100, PlanProfessional: 500, PlanEnterprise: 2000}

// ParsePlan reads a plan name as the document spells it, in any case; ""
// is the lowest plan, Starter.
func ParsePlan(s string) (Plan, error) {
	p := Plan(strings.ToLower(strings.TrimSpace(s)))
	if p == "" {
		return PlanStarter, nil
	}
	if _, ok := planLimits[p]; !ok {
		return "", fmt.Errorf("wazera: unknown plan %q (want starter, professional or enterprise)", s)
	}
	return p, nil
}

// PerMinute returns the plan's documented requests per minute.
func (p Plan) PerMinute() int { return planLimits[p] }

// NewLimiter returns a limiter that never lets more than perMinute
// requests start in any 60-second window, whatever the remote's window
// (fixed or sliding): a burst of a tenth of the limit, refilled at the rate
// that keeps burst plus a minute's refill at perMinute.
func NewLimiter(perMinute int) *rate.Limiter {
	perMinute = max(perMinute, 1)
	burst := max(perMinute/10, 1)
	refill := max(perMinute-burst, 1)
	return rate.NewLimiter(rate.Limit(float64(refill)/60), burst)
}

// Config says where and how the Client talks to Wazera.
type Config struct {
	// BaseURL is the account's host ("https://your-domain.com"), with or
	// without the "/api/v1" the document appends.
	BaseURL string
	// APIKey is a key from Dashboard -> Settings -> API Keys.
	APIKey string
	// HTTPClient sends the requests; when nil, a client with Timeout.
	HTTPClient *http.Client
	// Timeout bounds each request when HTTPClient is nil; DefaultTimeout
	// when zero.
	Timeout time.Duration
	// MaxResponseBytes bounds the body read from one response;
	// DefaultMaxResponseBytes when zero.
	MaxResponseBytes int64
	// Plan sets the client-side rate limit; PlanStarter when empty.
	Plan Plan
	// Limiter, when set, paces the requests instead of the plan's own
	// limiter: clients of one account can share it.
	Limiter *rate.Limiter
	// Now is the clock of the limiter and of Retry-After dates; time.Now
	// when nil.
	Now func() time.Time
	// Sleep waits d or until ctx is done, for the limiter; a timer when
	// nil. Tests pass a fake that advances their clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client speaks the Wazera wire protocol. It is safe for concurrent use.
// It never retries: the only waiting it does is pacing requests under
// the plan's rate limit, which the context cancels.
type Client struct {
	baseURL string
	apiKey  string
	http    *http.Client
	maxBody int64
	limiter *rate.Limiter
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
}

// New returns a Client for cfg, filling the defaults Config documents.
func New(cfg Config) *Client {
	base := strings.TrimRight(cfg.BaseURL, "/")
	base = strings.TrimSuffix(base, apiPrefix)
	c := &Client{
		baseURL: base,
		apiKey:  cfg.APIKey,
		http:    cfg.HTTPClient,
		maxBody: cfg.MaxResponseBytes,
		limiter: cfg.Limiter,
		now:     cfg.Now,
		sleep:   cfg.Sleep,
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
	if c.limiter == nil {
		plan := cfg.Plan
		if plan == "" {
			plan = PlanStarter
		}
		c.limiter = NewLimiter(plan.PerMinute())
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	return c
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pace waits for the limiter's permission to send one request.
func (c *Client) pace(ctx context.Context) error {
	now := c.now()
	r := c.limiter.ReserveN(now, 1)
	if !r.OK() {
		return errors.New("wazera: rate limiter refuses every request")
	}
	if d := r.DelayFrom(now); d > 0 {
		if err := c.sleep(ctx, d); err != nil {
			r.CancelAt(c.now())
			return fmt.Errorf("wazera: waiting for the rate limit: %w", err)
		}
	}
	return nil
}

// ID is a Wazera record id. The document never shows one; it is read
// from a JSON number or string and kept as text.
type ID string

// UnmarshalJSON accepts a JSON string, a JSON number or null.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return errors.New("wazera: empty id")
	case string(b) == "null":
		*id = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("wazera: id %s is neither a string nor a number", b)
		}
		*id = ID(n)
	}
	return nil
}

// MarshalJSON sends an integer id as a JSON number, as Wazera's own ids
// are, and any other id as a string.
func (id ID) MarshalJSON() ([]byte, error) {
	if _, err := strconv.ParseInt(string(id), 10, 64); err == nil {
		return []byte(id), nil
	}
	return json.Marshal(string(id))
}

// request describes one call: the route under /api/v1, its query, the
// value to send as JSON (nil for none) and where to decode a 2xx body
// (nil to ignore it).
type request struct {
	method string
	path   string
	query  url.Values
	in     any
	out    any
}

// do paces, sends r and turns the answer into either a decoded body or
// one of the typed errors of package connectors.
func (c *Client) do(ctx context.Context, r request) error {
	what := r.method + " " + apiPrefix + r.path
	var body io.Reader
	if r.in != nil {
		b, err := json.Marshal(r.in)
		if err != nil {
			return fmt.Errorf("wazera: encoding %s: %w", what, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.baseURL + apiPrefix + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return fmt.Errorf("wazera: building %s: %w", what, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := c.pace(ctx); err != nil {
		return err
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return &connectors.TransientError{Err: fmt.Errorf("wazera: %s: %w", what, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return &connectors.TransientError{Status: resp.StatusCode, Err: fmt.Errorf("wazera: reading %s: %w", what, err)}
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
		return fmt.Errorf("wazera: %s: response larger than %d bytes", what, c.maxBody)
	}
	if err := json.Unmarshal(raw, r.out); err != nil {
		return fmt.Errorf("wazera: decoding %s: %w", what, err)
	}
	return nil
}

// errorBody is the documented error response:
// {"error": {"code", "message", "details"}}.
type errorBody struct {
	Error struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Details json.RawMessage `json:"details"`
	} `json:"error"`
}

// statusError maps a non-2xx answer to the error type the sync engine
// branches on. A 4xx other than 401, 403 and 429 is a *RemoteError, which
// is a *connectors.RequestError carrying the body's details too.
func (c *Client) statusError(what string, resp *http.Response, raw []byte) error {
	var eb errorBody
	_ = json.Unmarshal(raw, &eb) // a body of another shape leaves eb empty
	code := eb.Error.Code
	msg := connectors.BodyMessage(eb.Error.Message, raw, resp.StatusCode)
	if err := connectors.StatusError("wazera", what, resp, code, msg, c.now); err != nil {
		return err
	}
	status := resp.StatusCode
	return &RemoteError{
		RequestError: &connectors.RequestError{Status: status, Code: code, Message: msg},
		Fields:       detailFields(eb.Error.Details),
	}
}
