package wazera

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/httpclient"
	"github.com/crmhub/crmhub/connectors/internal/wait"
)

// apiPrefix is the path of the API under the base URL.
const apiPrefix = "/api/v1"

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

// HTTPConfig is the part of Config that every connector's client has.
type HTTPConfig = httpclient.Config

// Config says where and how the Client talks to Wazera. In HTTPConfig,
// BaseURL is the account's host ("https://your-domain.com"), with or
// without the "/api/v1" the document appends; APIKey is a key from
// Dashboard -> Settings -> API Keys; Now is the clock of the limiter too.
type Config struct {
	HTTPConfig
	// Plan sets the client-side rate limit; PlanStarter when empty.
	Plan Plan
	// Limiter, when set, paces the requests instead of the plan's own
	// limiter: clients of one account can share it.
	Limiter *rate.Limiter
	// Sleep waits d or until ctx is done, for the limiter; a timer when
	// nil. Tests pass a fake that advances their clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client speaks the Wazera wire protocol. It is safe for concurrent use.
// It never retries: the only waiting it does is pacing requests under
// the plan's rate limit, which the context cancels.
type Client struct {
	http    *httpclient.Client
	limiter *rate.Limiter
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
}

// New returns a Client for cfg, filling the defaults Config documents.
func New(cfg Config) *Client {
	c := &Client{limiter: cfg.Limiter, now: cfg.Now, sleep: cfg.Sleep}
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
		c.sleep = wait.Sleep
	}
	hc := cfg.HTTPConfig
	hc.Now = c.now
	c.http = httpclient.New(hc, httpclient.Remote{Name: "wazera", Prefix: apiPrefix, SetHeaders: httpclient.Bearer,
		NewErrorBody: func() httpclient.ErrorBody { return new(errorEnvelope) }, Pace: c.pace})
	return c
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
	s, err := httpclient.DecodeID("wazera", b)
	if err == nil {
		*id = ID(s)
	}
	return err
}

// MarshalJSON sends an integer id as a JSON number, as Wazera's own ids
// are, and any other id as a string.
func (id ID) MarshalJSON() ([]byte, error) {
	if _, err := strconv.ParseInt(string(id), 10, 64); err == nil {
		return []byte(id), nil
	}
	return json.Marshal(string(id))
}

// errorEnvelope is the documented error response:
// {"error": {"code", "message", "details"}}.
type errorEnvelope struct {
	Error struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Details json.RawMessage `json:"details"`
	} `json:"error"`
}

// Parts returns the error's code and message.
func (eb *errorEnvelope) Parts() (string, string) { return eb.Error.Code, eb.Error.Message }

// Err is a *RemoteError, which is a *connectors.RequestError carrying the
// body's details too.
func (eb *errorEnvelope) Err(status int, msg string) error {
	return &RemoteError{
		RequestError: &connectors.RequestError{Status: status, Code: eb.Error.Code, Message: msg},
		Fields:       detailFields(eb.Error.Details),
	}
}
