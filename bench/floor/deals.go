package floor

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

func init() { routes["/deals"] = (*Handler).deals }

// dealsPage is the nested page of the "nested-page" workload, built as
// JSON by PostgreSQL in one statement:
//
//	deals(first: $first, after: $after) { edges { node { id name amount status
//	  responsibleUser { id name }
//	  contacts { id name identities { type value }
//	    conversations(first: 5) { edges { node { id status
//	      messages(first: 10) { edges { node { id text direction createdAt } } } } } } } } } }
//
// in crmhub's orders: deals newest first (created_at, id), a deal's
// contacts by id, identities by (created_at, type, value), conversations
// by latest activity and messages newest first, ties by id. Ids are
// crmhub's global ids ("deal_" and the uuid's 32 hex digits), times
// RFC 3339 in UTC with trailing zeros of the fraction cut, as Go writes
// them. $2 and $3 are the `after` cursor's position, null for the first
// page.
const dealsPage = `
SELECT coalesce(json_agg(json_build_object('node', json_build_object(
  'id', 'deal_' || replace(d.id::text, '-', ''), 'name', d.name, 'amount', d.amount, 'status', d.status,
  'responsibleUser', (SELECT json_build_object('id', 'usr_' || replace(u.id::text, '-', ''), 'name', u.name)
    FROM users u WHERE u.workspace_id = d.workspace_id AND u.id = d.responsible_user_id),
  'contacts', coalesce((SELECT json_agg(json_build_object(
      'id', 'ct_' || replace(c.id::text, '-', ''), 'name', c.name,
      'identities', coalesce((SELECT json_agg(json_build_object('type', i.type, 'value', i.value)
          ORDER BY i.created_at, i.type, i.value)
        FROM contact_identities i WHERE i.workspace_id = c.workspace_id AND i.contact_id = c.id), '[]'),
      'conversations', json_build_object('edges', coalesce((SELECT json_agg(json_build_object('node', json_build_object(
          'id', 'cv_' || replace(cv.id::text, '-', ''), 'status', cv.status,
          'messages', json_build_object('edges', coalesce((SELECT json_agg(json_build_object('node', json_build_object(
              'id', 'msg_' || replace(m.id::text, '-', ''), 'text', m.text, 'direction', m.direction,
              'createdAt', regexp_replace(to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), '\.?0+$', '') || 'Z'))
            ORDER BY m.created_at DESC, m.id DESC)
            FROM (SELECT * FROM messages m WHERE m.workspace_id = cv.workspace_id AND m.conversation_id = cv.id
              ORDER BY m.created_at DESC, m.id DESC LIMIT 10) m), '[]'))))
          ORDER BY coalesce(cv.last_message_at, cv.created_at) DESC, cv.id DESC)
        FROM (SELECT * FROM conversations cv WHERE cv.workspace_id = c.workspace_id AND cv.contact_id = c.id
          ORDER BY coalesce(cv.last_message_at, cv.created_at) DESC, cv.id DESC LIMIT 5) cv), '[]')))
    ORDER BY c.id)
    FROM deal_contacts dc JOIN contacts c ON c.workspace_id = dc.workspace_id AND c.id = dc.contact_id
    WHERE dc.workspace_id = d.workspace_id AND dc.deal_id = d.id), '[]')))
  ORDER BY d.created_at DESC, d.id DESC), '[]')
FROM (SELECT * FROM deals d WHERE d.workspace_id = $1 AND ($2::timestamptz IS NULL OR (d.created_at, d.id) < ($2, $3))
  ORDER BY d.created_at DESC, d.id DESC LIMIT $4) d`

// deals answers the nested page; its variables are crmhub's, first and
// after (crmhub's cursor, which it decodes as crmhub does).
func (h *Handler) deals(w http.ResponseWriter, r *http.Request) {
	var vars struct {
		First int     `json:"first"`
		After *string `json:"after"`
	}
	if !readVariables(w, r, &vars) {
		return
	}
	if vars.First <= 0 || vars.First > crmhub.MaxPageSize {
		http.Error(w, "first out of range", http.StatusBadRequest)
		return
	}
	var afterTime *time.Time
	var afterID uuid.UUID
	if a := vars.After; a != nil && *a != "" {
		t, id, ok := dealCursor(*a)
		if !ok {
			http.Error(w, "malformed cursor", http.StatusBadRequest)
			return
		}
		afterTime, afterID = &t, id
	}
	res := h.sendKeyed(w, r, func(b *pgx.Batch, ws uuid.UUID) { b.Queue(dealsPage, ws, afterTime, afterID, vars.First) })
	if res == nil {
		return
	}
	defer res.Close()
	var edges json.RawMessage
	if err := res.QueryRow().Scan(&edges); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]any{"data": map[string]any{"deals": map[string]any{"edges": edges}}})
}

// dealCursor reads crmhub's deal cursor: base64url of JSON with the
// order, the creation time and the id of the last deal seen.
func dealCursor(s string) (time.Time, uuid.UUID, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, uuid.Nil, false
	}
	var c struct {
		Order string    `json:"o"`
		Value string    `json:"v"`
		ID    uuid.UUID `json:"i"`
	}
	if json.Unmarshal(raw, &c) != nil || c.Order != "DEALS:CREATED_AT:DESC" {
		return time.Time{}, uuid.Nil, false
	}
	t, err := time.Parse(time.RFC3339Nano, c.Value)
	return t, c.ID, err == nil
}
