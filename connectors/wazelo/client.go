package wazelo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/httpclient"
)

// DefaultBaseURL is the documented API root, version included.
const DefaultBaseURL = "https://api.wazelo.in/v1"

// Config says where and how the Client talks to Wazelo: BaseURL is the API
// root including the version path ("/v1"; DefaultBaseURL when empty),
// APIKey the Bearer key from Settings -> API Keys. The other fields are
// those every connector's client has.
type Config = httpclient.Config

// Client speaks the Wazelo wire protocol. It never retries and never
// sleeps. It is safe for concurrent use.
type Client struct {
	http *httpclient.Client
}

// New returns a Client for cfg, filling the defaults Config documents.
func New(cfg Config) *Client { return &Client{http: httpclient.New(cfg, api)} }

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

// api describes the Wazelo API to the shared HTTP client.
var api = httpclient.Remote{Name: "wazelo", DefaultBaseURL: DefaultBaseURL,
	SetHeaders: httpclient.Bearer, NewErrorBody: func() httpclient.ErrorBody { return new(errorEnvelope) }, Decode: decodeEnvelope}

// answer is where do has the envelope decoded: its data into data (nil
// to ignore it), its meta into meta.
type answer struct {
	data any
	meta *Meta
}

// do sends r and returns the envelope's meta, or one of the typed errors of
// package connectors.
func (c *Client) do(ctx context.Context, r httpclient.Request) (*Meta, error) {
	a := &answer{data: r.Out}
	r.Out = a
	err := c.http.Do(ctx, r)
	return a.meta, err
}

// decodeEnvelope reads a 2xx body into out, an *answer: an empty body is
// an answer without meta (an error when data is wanted), any other must
// be the envelope, with data when data is wanted.
func decodeEnvelope(what string, raw []byte, out any) error {
	a := out.(*answer)
	if len(bytes.TrimSpace(raw)) == 0 {
		if a.data != nil {
			return fmt.Errorf("wazelo: %s: empty answer", what)
		}
		return nil
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("wazelo: decoding %s: %w", what, err)
	}
	if a.data != nil {
		if len(env.Data) == 0 || string(env.Data) == "null" {
			return fmt.Errorf("wazelo: %s: answer without data", what)
		}
		if err := json.Unmarshal(env.Data, a.data); err != nil {
			return fmt.Errorf("wazelo: decoding %s: %w", what, err)
		}
	}
	a.meta = env.Meta
	return nil
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

// errorEnvelope is {"success": false, "error": {...}}. An errors array beside
// error rather than inside it is accepted too.
type errorEnvelope struct {
	Error  remoteError  `json:"error"`
	Errors []FieldError `json:"errors"`
}

// Parts returns the error object's code and message.
func (eb *errorEnvelope) Parts() (string, string) { return eb.Error.Code, eb.Error.Message }

// Err is a RequestError, with the table's code when the body gives none,
// or a *ValidationError for a 422 naming fields.
func (eb *errorEnvelope) Err(status int, msg string) error {
	re := eb.Error
	if len(re.Errors) == 0 {
		re.Errors = eb.Errors
	}
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
