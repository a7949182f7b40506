package floor

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

func init() {
	routes["/upsert"] = (*Handler).upsert
	routes["/upsert-copy"] = (*Handler).upsertCopy
}

// The "upsert" workload's two raw methods of
//
//	mutation($input: [ContactUpsertInput!]!) { upsertContacts(input: $input) {
//	  results { index status contact { id } } } }
//
// for items of a name, custom fields and one identifier: the identifier
// picks the contact (a new one if nobody has it), the name replaces the
// stored one, the custom fields are merged into the stored ones (jsonb ||),
// and a contact that would not change is not written. /upsert sends the
// items as arrays that the statement unnests; /upsert-copy copies them into
// a temporary table first.
//
// It does less than crmhub, and says so: the identifier is taken as
// normalized (no validation), one identifier per item, no tags, uri or
// responsible user, no per-item errors (two items for one contact fail the
// whole batch), no advisory locks (two concurrent calls creating the same
// identity leave an orphan contact), and no events, NOTIFY or outbox.

// upsertSQL is one statement over the input relation %s, whose columns are
// new_id (the id a new contact gets), class, source, value, type (the
// identifier's match key and type), name, fields and n (1-based order).
const upsertSQL = `WITH input AS (
  SELECT * FROM %s
), matched AS (
  SELECT i.*, coalesce((SELECT ci.contact_id FROM contact_identities ci WHERE ci.workspace_id = $1
      AND ci.match_class = i.class AND ci.match_source = i.source AND ci.value = i.value LIMIT 1), i.new_id) AS id
  FROM input i
), upserted AS (
  INSERT INTO contacts AS c (workspace_id, id, name, custom_fields, created_at, updated_at)
  SELECT $1, m.id, m.name, coalesce(m.fields, '{}'), now(), now() FROM matched m
  ON CONFLICT (workspace_id, id) DO UPDATE
    SET name = coalesce(excluded.name, c.name), custom_fields = c.custom_fields || excluded.custom_fields, updated_at = now()
    WHERE (c.name, c.custom_fields) IS DISTINCT FROM (coalesce(excluded.name, c.name), c.custom_fields || excluded.custom_fields)
  RETURNING c.id, xmax = 0 AS created
), linked AS (
  INSERT INTO contact_identities (workspace_id, match_class, match_source, value, type, contact_id, created_at)
  SELECT $1, m.class, m.source, m.value, m.type, m.id, now() FROM matched m WHERE m.id = m.new_id
  ON CONFLICT DO NOTHING
)
SELECT m.id, CASE WHEN u.id IS NULL THEN 'UNCHANGED' WHEN u.created THEN 'CREATED' ELSE 'UPDATED' END
FROM matched m LEFT JOIN upserted u ON u.id = m.id ORDER BY m.n`

var (
	upsertUnnest = fmt.Sprintf(upsertSQL, `unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[])
    WITH ORDINALITY AS i(new_id, class, source, value, type, name, fields, n)`)
	upsertStaged = fmt.Sprintf(upsertSQL, "upsert_input")
)

// upsertItems are the request's items as the columns of the input relation.
type upsertItems struct {
	ids                             []uuid.UUID
	classes, sources, values, types []string
	names                           []*string
	fields                          []json.RawMessage
}

// readUpsert decodes the request and checks its key: one round trip, the
// tenant's own (an implicit transaction of its batch). It answers the
// request itself and returns ok false when it cannot go on.
func (h *Handler) readUpsert(w http.ResponseWriter, r *http.Request) (ws uuid.UUID, in upsertItems, ok bool) {
	var body struct {
		Variables struct {
			Input []struct {
				Name         *string             `json:"name"`
				Identifiers  []crmhub.Identifier `json:"identifiers"`
				CustomFields json.RawMessage     `json:"customFields"`
			} `json:"input"`
		} `json:"variables"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return ws, in, false
	}
	keyID, ws, secret, ok := parseKey(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	if !ok || !h.keyValid(r, ws, keyID, secret) {
		unauthorized(w)
		return ws, in, false
	}
	for _, it := range body.Variables.Input {
		if len(it.Identifiers) != 1 {
			http.Error(w, "one identifier per item", http.StatusBadRequest)
			return ws, in, false
		}
		k := it.Identifiers[0].MatchKey()
		fields := it.CustomFields
		if len(fields) == 0 || string(fields) == "null" {
			fields = json.RawMessage("{}")
		}
		in.ids = append(in.ids, uuid.Must(uuid.NewV7()))
		in.classes, in.sources, in.values = append(in.classes, k.Class), append(in.sources, k.Source), append(in.values, k.Value)
		in.types, in.names, in.fields = append(in.types, string(it.Identifiers[0].Type)), append(in.names, it.Name), append(in.fields, fields)
	}
	return ws, in, true
}

// keyValid reads the key in the workspace's tenant and checks the secret.
func (h *Handler) keyValid(r *http.Request, ws, keyID uuid.UUID, secret []byte) bool {
	b := &pgx.Batch{}
	b.Queue("SELECT set_config('app.workspace_id', $1, true)", ws.String())
	b.Queue("SELECT secret_hash, revoked_at IS NOT NULL FROM api_keys WHERE workspace_id = $1 AND id = $2", ws, keyID)
	res := h.Pool.SendBatch(r.Context(), b)
	defer res.Close()
	var hash []byte
	var revoked bool
	if _, err := res.Exec(); err != nil {
		return false
	}
	err := res.QueryRow().Scan(&hash, &revoked)
	return err == nil && !revoked && hashMatches(hash, secret)
}

// upsert: the key check, then the tenant and the statement over unnested
// arrays in one batch (an implicit transaction): two round trips.
func (h *Handler) upsert(w http.ResponseWriter, r *http.Request) {
	ws, in, ok := h.readUpsert(w, r)
	if !ok {
		return
	}
	b := &pgx.Batch{}
	b.Queue("SELECT set_config('app.workspace_id', $1, true)", ws.String())
	var results []upserted
	b.Queue(upsertUnnest, ws, in.ids, in.classes, in.sources, in.values, in.types, in.names, in.fields).
		Query(func(rows pgx.Rows) (err error) { results, err = collectUpserted(rows); return err })
	if err := h.Pool.SendBatch(r.Context(), b).Close(); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeUpserted(w, results)
}

// upsertCopy: the key check; BEGIN, the tenant and the staging table in
// one batch; COPY of the items; the statement over the staging table with
// COMMIT: four round trips.
func (h *Handler) upsertCopy(w http.ResponseWriter, r *http.Request) {
	ws, in, ok := h.readUpsert(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	conn, err := h.Pool.Acquire(ctx)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	defer conn.Release() // destroyed if a failure left it in the transaction
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SELECT set_config('app.workspace_id', $1, true)", ws.String())
	b.Queue(`CREATE TEMP TABLE IF NOT EXISTS upsert_input (new_id uuid, class text, source text, value text, type text,
		name text, fields jsonb, n bigint) ON COMMIT DELETE ROWS`)
	err = conn.SendBatch(ctx, b).Close()
	if err == nil {
		_, err = conn.CopyFrom(ctx, pgx.Identifier{"upsert_input"},
			[]string{"new_id", "class", "source", "value", "type", "name", "fields", "n"},
			pgx.CopyFromSlice(len(in.ids), func(i int) ([]any, error) {
				return []any{in.ids[i], in.classes[i], in.sources[i], in.values[i], in.types[i], in.names[i], in.fields[i], int64(i + 1)}, nil
			}))
	}
	var results []upserted
	if err == nil {
		b = &pgx.Batch{}
		b.Queue(upsertStaged, ws).Query(func(rows pgx.Rows) (err error) { results, err = collectUpserted(rows); return err })
		b.Queue("COMMIT")
		err = conn.SendBatch(ctx, b).Close()
	}
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeUpserted(w, results)
}

// upserted is one result in crmhub's shape.
type upserted struct {
	Index   int               `json:"index"`
	Status  string            `json:"status"`
	Contact map[string]string `json:"contact"`
}

func collectUpserted(rows pgx.Rows) ([]upserted, error) {
	var out []upserted
	var id uuid.UUID
	var status string
	_, err := pgx.ForEachRow(rows, []any{&id, &status}, func() error {
		out = append(out, upserted{Index: len(out), Status: status,
			Contact: map[string]string{"id": crmhub.GlobalID(crmhub.KindContact, id)}})
		return nil
	})
	return out, err
}

func writeUpserted(w http.ResponseWriter, results []upserted) {
	writeJSON(w, map[string]any{"data": map[string]any{"upsertContacts": map[string]any{"results": results}}})
}
