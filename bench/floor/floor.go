// Package floor is the benchmarks' raw-SQL floor: a minimal HTTP handler
// that answers the benchmark queries with the ideal SQL over pgx and
// writes the same JSON crmhub writes, with none of GraphQL's parsing,
// validation or resolver machinery. It authenticates the API key and
// keeps row-level security, as crmhub must: it is what the same
// answer costs at least, not a shortcut around the rules.
//
// Each request is one pgx batch, one round trip: the batch's statements
// run in one implicit transaction, so set_config(..., true) scopes the
// tenant to it.
package floor

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Handler serves POST requests shaped like GraphQL ones, {"query",
// "variables"}; it reads only the variables, so the query text selects
// nothing: each route answers one fixed benchmark query.
type Handler struct {
	Pool *pgxpool.Pool
}

// routes are the benchmark queries by path; each workload's file adds its
// own in an init function.
var routes = map[string]func(h *Handler, w http.ResponseWriter, r *http.Request){
	"/contact": (*Handler).contact,
}

// ServeHTTP answers the route's one query; /contact is
// `{ contact(id: $id) { name email identities { type value } } }`.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if route, ok := routes[r.URL.Path]; ok {
		route(h, w, r)
		return
	}
	http.NotFound(w, r)
}

// contactFields are the point read's fields of contact c: name, its
// oldest EMAIL identity, and its identities as JSON, in crmhub's order.
const contactFields = `c.name,
  (SELECT i.value FROM contact_identities i WHERE i.workspace_id = c.workspace_id AND i.contact_id = c.id AND i.type = 'EMAIL'
    ORDER BY i.created_at, i.type, i.value LIMIT 1),
  coalesce((SELECT json_agg(json_build_object('type', i.type, 'value', i.value) ORDER BY i.created_at, i.type, i.value)
    FROM contact_identities i WHERE i.workspace_id = c.workspace_id AND i.contact_id = c.id), '[]')`

const pointRead = `SELECT ` + contactFields + ` FROM contacts c WHERE c.workspace_id = $1 AND c.id = $2`

func (h *Handler) contact(w http.ResponseWriter, r *http.Request) {
	var vars struct {
		ID string `json:"id"`
	}
	if !readVariables(w, r, &vars) {
		return
	}
	id, err := crmhub.ParseID(crmhub.KindContact, vars.ID)
	res := h.sendKeyed(w, r, func(b *pgx.Batch, ws uuid.UUID) {
		if err == nil {
			b.Queue(pointRead, ws, id)
		}
	})
	if res == nil {
		return
	}
	defer res.Close()
	var contact map[string]any
	if err == nil {
		var name, email *string
		var idents json.RawMessage
		err = res.QueryRow().Scan(&name, &email, &idents)
		if err != nil && err != pgx.ErrNoRows {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		if err == nil {
			contact = map[string]any{"name": name, "email": email, "identities": idents}
		}
	}
	writeJSON(w, map[string]any{"data": map[string]any{"contact": contact}})
}

// readVariables decodes the variables of a request body into vars; on
// failure it answers 400 and returns false.
func readVariables(w http.ResponseWriter, r *http.Request, vars any) bool {
	body := struct {
		Variables any `json:"variables"`
	}{vars}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return false
	}
	return true
}

// sendKeyed sends, in one pgx batch (one round trip, one implicit
// transaction), the tenant, the lookup of the request's API key and the
// statements queue adds, and checks the key. It returns the results at
// queue's first statement (close them), or nil after answering the
// request itself (401 for a bad key, 500).
func (h *Handler) sendKeyed(w http.ResponseWriter, r *http.Request, queue func(b *pgx.Batch, ws uuid.UUID)) pgx.BatchResults {
	keyID, ws, secret, ok := parseKey(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	if !ok {
		unauthorized(w)
		return nil
	}
	b := &pgx.Batch{}
	b.Queue("SELECT set_config('app.workspace_id', $1, true)", ws.String())
	b.Queue("SELECT secret_hash, revoked_at IS NOT NULL FROM api_keys WHERE workspace_id = $1 AND id = $2", ws, keyID)
	queue(b, ws)
	res := h.Pool.SendBatch(r.Context(), b)
	if _, err := res.Exec(); err != nil {
		res.Close()
		http.Error(w, "internal error", http.StatusInternalServerError)
		return nil
	}
	var hash []byte
	var revoked bool
	if err := res.QueryRow().Scan(&hash, &revoked); err != nil || revoked || !hashMatches(hash, secret) {
		res.Close()
		unauthorized(w)
		return nil
	}
	return res
}

// parseKey reads crmhub's key format: "crm_" and the base64url of the key
// id, the workspace id and the 32-byte secret.
func parseKey(token string) (keyID, ws uuid.UUID, secret []byte, ok bool) {
	rest, found := strings.CutPrefix(token, "crm_")
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if !found || err != nil || len(raw) != 64 {
		return keyID, ws, nil, false
	}
	copy(keyID[:], raw[:16])
	copy(ws[:], raw[16:32])
	return keyID, ws, raw[32:], true
}

func hashMatches(stored, secret []byte) bool {
	sum := sha256.Sum256(secret)
	return subtle.ConstantTimeCompare(stored, sum[:]) == 1
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte(`{"errors":[{"message":"invalid or revoked API key","extensions":{"code":"UNAUTHENTICATED"}}]}`))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
