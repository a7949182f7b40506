package wazzup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/httpclient"
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
)

// ErrBatchTooLarge is wrapped by the error a write method returns, without
// sending anything, when its batch exceeds the documented limit.
var ErrBatchTooLarge = errors.New("batch exceeds the remote limit")

// Config says where and how the Client talks to Wazzup: BaseURL is the API
// root without a trailing path (DefaultBaseURL when empty), APIKey the
// integration key from the Wazzup personal account. The other fields are
// those every connector's client has.
type Config = httpclient.Config

// Client speaks the Wazzup wire protocol. It is safe for concurrent use.
type Client struct {
	http *httpclient.Client
}

// New returns a Client for cfg, filling the defaults Config documents.
func New(cfg Config) *Client { return &Client{http: httpclient.New(cfg, api)} }

// ID is an identifier the documentation types as "String or number". It
// decodes from either JSON form, keeping a number's literal text, and is
// sent as a JSON string.
type ID string

// UnmarshalJSON accepts a JSON string, a JSON number or null.
func (id *ID) UnmarshalJSON(b []byte) error {
	s, err := httpclient.DecodeID("wazzup", b)
	if err == nil {
		*id = ID(s)
	}
	return err
}

// String returns the id as text.
func (id ID) String() string { return string(id) }

// api describes the Wazzup API to the shared HTTP client.
var api = httpclient.Remote{Name: "wazzup", DefaultBaseURL: DefaultBaseURL,
	SetHeaders: setHeaders, NewErrorBody: func() httpclient.ErrorBody { return new(remoteError) }}

// setHeaders sends the key with the scheme each document shows: Bearer
// for v3, Basic for v2.
func setHeaders(h http.Header, path, apiKey string) {
	scheme := "Bearer"
	if strings.HasPrefix(path, "/v2/") {
		scheme = "Basic"
	}
	h.Set("Authorization", scheme+" "+apiKey)
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

// Parts returns the body's code and description.
func (re *remoteError) Parts() (string, string) { return re.Error, re.Description }

// Err is a *BatchError when the body has a per-index "data" array, a
// *TooManyEntitiesError for TOO_MACH_ENTITIES, else a
// *connectors.RequestError.
func (re *remoteError) Err(status int, msg string) error {
	if items := batchItems(*re); items != nil {
		return &BatchError{Status: status, Code: re.Error, Description: re.Description, Items: items}
	}
	base := &connectors.RequestError{Status: status, Code: re.Error, Message: msg}
	if re.Error == CodeTooManyEntities {
		tm := &TooManyEntitiesError{RequestError: base}
		var data struct{ Count, Limit int }
		if json.Unmarshal(re.Data, &data) == nil {
			tm.Count, tm.Limit = data.Count, data.Limit
		}
		return tm
	}
	return base
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
	p, err := c.http.PathID(collection, id)
	if err == nil {
		err = c.http.Do(ctx, httpclient.Request{Method: "GET", Path: p, Out: &out})
	}
	return out, err
}

// deleteByID deletes one record of collection; IsNotFound reports a
// missing one.
func (c *Client) deleteByID(ctx context.Context, collection, id string) error {
	p, err := c.http.PathID(collection, id)
	if err != nil {
		return err
	}
	return c.http.Do(ctx, httpclient.Request{Method: "DELETE", Path: p})
}
