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
	"sync/atomic"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/httpclient"
)

// DefaultBaseURL is the API host the document's examples use.
const DefaultBaseURL = "https://api.wazapin.id"

// Config says where and how the Client talks to Wazapin: BaseURL is the
// API root without the /v1 path (DefaultBaseURL when empty), APIKey is
// sent as the X-Api-Key header. The other fields are those every
// connector's client has.
type Config = httpclient.Config

// Client speaks the Wazapin Contacts API v1 wire protocol. It never
// retries and never sleeps. It is safe for concurrent use.
type Client struct {
	http *httpclient.Client
	// legacy is set once the deployment turned out to lack
	// /v1/contacts/resolve: resolves go to the /lookup alias.
	legacy atomic.Bool
}

// New returns a Client for cfg, filling the defaults Config documents.
func New(cfg Config) *Client { return &Client{http: httpclient.New(cfg, api)} }

// api describes the Wazapin API to the shared HTTP client.
var api = httpclient.Remote{Name: "wazapin", DefaultBaseURL: DefaultBaseURL,
	SetHeaders: setHeaders, NewErrorBody: func() httpclient.ErrorBody { return new(remoteError) }, Decode: decodeAnswer}

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

// Parts returns the body's code and its "error" text.
func (re *remoteError) Parts() (string, string) { return re.Code, re.Error }

// Err is a *RequestError, which carries Fields beside a
// connectors.RequestError.
func (re *remoteError) Err(status int, msg string) error {
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
	return c.http.Do(ctx, httpclient.Request{Method: method, Path: p, In: in, Out: out})
}
