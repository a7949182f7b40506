package wazapin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/httpclient"
)

const (
	// DefaultBaseURL is the API host the document's examples use.
	DefaultBaseURL = "https://api.wazapin.id"

	// PageSize is how many contacts one list request asks for.
	PageSize = 100

	// DefaultMaxResponseBytes bounds how much of a response body is read.
	DefaultMaxResponseBytes = httpclient.DefaultMaxResponseBytes

	// DefaultTimeout bounds a whole request when Config.HTTPClient is nil.
	DefaultTimeout = httpclient.DefaultTimeout
)

// Config says where and how the Client talks to Wazapin: BaseURL is the
// API root without the /v1 path (DefaultBaseURL when empty), APIKey is
// sent as the X-Api-Key header. The other fields are those every
// connector's client has.
type Config = httpclient.Config

// Client speaks the Wazapin Contacts API v1 wire protocol. It never
// retries and never sleeps. It is safe for concurrent use.
type Client struct {
	http *httpclient.Client
}

// New returns a Client for cfg, filling the defaults Config documents.
func New(cfg Config) *Client {
	return &Client{http: httpclient.New(cfg, httpclient.Remote{Name: "wazapin", DefaultBaseURL: DefaultBaseURL,
		SetHeaders: setHeaders, ErrorBody: errorBody, Decode: decodeAnswer})}
}

// setHeaders sends the key as X-Api-Key, and the Content-Type the
// document requires on every request.
func setHeaders(h http.Header, _, apiKey string) {
	h.Set("X-Api-Key", apiKey)
	h.Set("Content-Type", "application/json")
}

// decodeAnswer reads a 2xx body into out: nothing when out is nil, the
// whole body into a *json.RawMessage (for a caller that decodes it
// itself), else the "data" of the envelope (see decodeData).
func decodeAnswer(what string, raw []byte, out any) error {
	switch out := out.(type) {
	case nil:
		return nil
	case *json.RawMessage:
		*out = raw
		return nil
	}
	return decodeData(what, raw, out)
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

// errorBody reads the documented error body. Other 4xx answers are
// *RequestError, which carries Fields beside a connectors.RequestError.
func errorBody(status int, raw []byte) (code, msg string, err error) {
	var re remoteError
	_ = json.Unmarshal(raw, &re) // a body of another shape leaves re empty
	msg = connectors.BodyMessage(re.Error, raw, status)
	return re.Code, msg, &RequestError{RequestError: connectors.RequestError{Status: status, Code: re.Code, Message: msg}, Fields: re.Fields}
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
	return c.http.Do(ctx, httpclient.Request{Method: method, Path: p, In: in, Out: out})
}
