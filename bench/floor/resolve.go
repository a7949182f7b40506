package floor

import (
	"encoding/json"
	"net/http"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

func init() {
	routes["/resolve"] = (*Handler).resolve
}

// resolveByPhone is the "resolve" workload's read,
//
//	query($phone: String!) { resolveContact(identifiers: [{type: PHONE, value: $phone}]) {
//	  id name email identities { type value } } }
//
// as one statement: the contact that holds the phone's match key ($2
// class, $3 source, $4 value; one at most, the key is unique), with the
// point read's fields.
const resolveByPhone = `SELECT c.id, ` + contactFields + ` FROM contacts c WHERE c.workspace_id = $1
  AND c.id = (SELECT contact_id FROM contact_identities WHERE workspace_id = $1 AND match_class = $2 AND match_source = $3 AND value = $4)`

func (h *Handler) resolve(w http.ResponseWriter, r *http.Request) {
	var vars struct {
		Phone string `json:"phone"`
	}
	if !readVariables(w, r, &vars) {
		return
	}
	// The phone is normalized as crmhub normalizes it (E.164), in Go: no
	// SQL does that part.
	ids, err := crmhub.NormalizeIdentifiers([]crmhub.Identifier{{Type: crmhub.IdentityPhone, Value: vars.Phone}})
	if err != nil {
		http.Error(w, "bad phone", http.StatusBadRequest)
		return
	}
	k := ids[0].MatchKey()
	res := h.sendKeyed(w, r, func(b *pgx.Batch, ws uuid.UUID) { b.Queue(resolveByPhone, ws, k.Class, k.Source, k.Value) })
	if res == nil {
		return
	}
	defer res.Close()
	var id uuid.UUID
	var name, email *string
	var idents json.RawMessage
	var contact map[string]any
	switch err := res.QueryRow().Scan(&id, &name, &email, &idents); err {
	case nil:
		contact = map[string]any{"id": crmhub.GlobalID(crmhub.KindContact, id), "name": name, "email": email, "identities": idents}
	case pgx.ErrNoRows:
	default:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]any{"data": map[string]any{"resolveContact": contact}})
}
