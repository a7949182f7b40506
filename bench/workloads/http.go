package workloads

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
)

// Helpers the workloads share.

// fetchBody sends one request and returns the body of a 200 answer
// without GraphQL errors.
func fetchBody(ctx context.Context, request func(string, map[string]any) (*http.Request, error), query string,
	vars map[string]any) ([]byte, error) {
	req, err := request(query, vars)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	var e struct{ Errors []any }
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &e) != nil || len(e.Errors) > 0 {
		return nil, fmt.Errorf("HTTP %d: %.500s", res.StatusCode, body)
	}
	return body, nil
}

// sameJSON compares two JSON documents as decoded values.
func sameJSON(a, b []byte) error {
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		return err
	}
	if !reflect.DeepEqual(va, vb) {
		return fmt.Errorf("\nwant %.2000s\ngot  %.2000s", a, b)
	}
	return nil
}
