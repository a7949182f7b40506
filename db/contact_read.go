package db

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The point reads of a contact (contact(id), resolveContact) are pgx
// batches: the tenant, the contact and its identities in one round trip,
// the identities kept in the operation's read scope for the Contact fields
// that ask for them (identities, email, phone). See readBatch.

// contactColumns are contactRow's columns in scanContact's order.
const contactColumns = "c.workspace_id, c.id, c.name, c.uri, c.custom_fields, c.responsible_user_id, c.created_at, c.updated_at"

// identityColumns are what identityRow.domain needs, in scanIdentities' order.
const identityColumns = "i.contact_id, i.type, i.value, i.source, i.created_at"

// redirectedID is the contact $2 names today: itself, or the contact it was
// merged into ($1 is the workspace). It is a scalar subquery, not a bare
// coalesce: under row-level security PostgreSQL only uses a condition in
// an index scan when it cannot leak, and it does not know that of
// coalesce, so `id = coalesce(...)` read all 100,000 contacts of the
// benchmark's workspace (113 ms) where the primary key reads one (0.04 ms).
const redirectedID = "(SELECT coalesce((SELECT target_id FROM contact_redirects WHERE workspace_id = $1 AND old_id = $2), $2))"

// matchSQL selects the contacts that hold one of the match keys (three
// arrays: classes, sources, values) or that the ids name, themselves or
// through a merge redirect, with its arguments, numbered from $2 ($1 is
// the workspace). It leaves out the parts with nothing to match:
// PostgreSQL plans these statements anew on every execution (custom
// plans), about 0.8 ms each at 100,000 contacts, and every UNION arm adds
// to that; resolving by one phone needs none of the id arms.
// See keysSQL for the keys' condition.
func matchSQL(classes, sources, values []string, asked [][16]byte) (string, []any) {
	var parts []string
	var args []any
	if len(values) > 0 {
		cond, keyArgs := keysSQL(len(args)+2, classes, sources, values)
		parts = append(parts, "SELECT contact_id FROM contact_identities WHERE workspace_id = $1 AND "+cond)
		args = append(args, keyArgs...)
	}
	if len(asked) > 0 {
		n := len(args) + 2
		parts = append(parts, fmt.Sprintf(`SELECT id FROM contacts WHERE workspace_id = $1 AND id = ANY($%d)
	UNION SELECT target_id FROM contact_redirects WHERE workspace_id = $1 AND old_id = ANY($%d)`, n, n))
		args = append(args, asked)
	}
	return strings.Join(parts, " UNION "), args
}

// keysSQL is the condition that an identity holds one of the match keys,
// with its arguments numbered from $n. One key is three equalities, whose
// prepared statement PostgreSQL soon runs with a generic plan (no planning
// per execution); several are a join with unnest, planned every time
// (0.3-0.5 ms). Resolving by one phone or email is the common case.
func keysSQL(n int, classes, sources, values []string) (string, []any) {
	if len(values) == 1 {
		return fmt.Sprintf("match_class = $%d AND match_source = $%d AND value = $%d", n, n+1, n+2),
			[]any{classes[0], sources[0], values[0]}
	}
	return fmt.Sprintf("(match_class, match_source, value) IN (SELECT * FROM unnest($%d::text[], $%d::text[], $%d::text[]))", n, n+1, n+2),
		[]any{classes, sources, values}
}

// batchRows is the next statement's rows; pgx returns rows carrying the
// error when there is one, so the reader sees it in Err.
func batchRows(res pgx.BatchResults) pgx.Rows {
	rows, _ := res.Query()
	return rows
}

func scanContact(row pgx.CollectableRow) (contactRow, error) {
	var r contactRow
	err := row.Scan(&r.WorkspaceID, &r.ID, &r.Name, &r.URI, &r.CustomFields, &r.ResponsibleUserID, &r.CreatedAt, &r.UpdatedAt)
	return r, err
}

// scanIdentities reads identity rows, ordered by contact's age order, into
// lists by contact.
func scanIdentities(rows pgx.Rows) (map[uuid.UUID][]*crmhub.Identity, error) {
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (identityRow, error) {
		var r identityRow
		err := row.Scan(&r.ContactID, &r.Type, &r.Value, &r.Source, &r.CreatedAt)
		return r, err
	})
	if err != nil {
		return nil, err
	}
	out := map[uuid.UUID][]*crmhub.Identity{}
	for i := range list {
		out[list[i].ContactID] = append(out[list[i].ContactID], list[i].domain())
	}
	return out, nil
}

// readContacts takes the results of a contacts statement and an identities
// statement of the same contacts, and keeps the identities of each contact
// found in the scope.
func readContacts(res pgx.BatchResults, s *readScope) (map[uuid.UUID]*crmhub.Contact, error) {
	list, err := pgx.CollectRows(batchRows(res), scanContact)
	if err != nil {
		return nil, err
	}
	idents, err := scanIdentities(batchRows(res))
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]*crmhub.Contact, len(list))
	for i := range list {
		out[list[i].ID] = list[i].domain()
		s.keepIdentities(list[i].ID, idents[list[i].ID])
	}
	return out, nil
}

// Contact returns a contact by id; the id of a merged contact leads to the
// contact it was merged into.
func (s *ContactService) Contact(ctx context.Context, id uuid.UUID) (*crmhub.Contact, error) {
	var out *crmhub.Contact
	err := s.db.readBatch(ctx, crmhub.ScopeContactsRead, func(b *pgx.Batch, ws uuid.UUID) {
		ws, id := [16]byte(ws), [16]byte(id)
		b.Queue("SELECT "+contactColumns+" FROM contacts c WHERE c.workspace_id = $1 AND c.id = "+redirectedID, ws, id)
		b.Queue("SELECT "+identityColumns+" FROM contact_identities i WHERE i.workspace_id = $1 AND i.contact_id = "+
			redirectedID+" ORDER BY i.created_at, i.type, i.value", ws, id)
	}, func(res pgx.BatchResults, scope *readScope) error {
		got, err := readContacts(res, scope)
		for _, c := range got {
			out = c
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("db: get contact: %w", err)
	}
	if out == nil {
		return nil, crmhub.Errorf(crmhub.ENOTFOUND, "contact not found")
	}
	return out, nil
}

// ResolveContact finds the one contact the identifiers point at, in one
// round trip: the matches, and the matched contacts with their identities.
func (s *ContactService) ResolveContact(ctx context.Context, ids []crmhub.Identifier) (*crmhub.Contact, error) {
	norm, err := crmhub.NormalizeIdentifiers(ids)
	if err != nil {
		return nil, err.(*crmhub.Error).WithField("identifiers")
	}
	var classes, sources, values []string
	var asked [][16]byte
	for _, id := range norm {
		if id.Type == crmhub.IdentityContactID {
			uid, _ := crmhub.ParseID(crmhub.KindContact, id.Value)
			asked = append(asked, uid)
		} else {
			k := id.MatchKey()
			classes, sources, values = append(classes, k.Class), append(sources, k.Source), append(values, k.Value)
		}
	}
	owner := map[crmhub.MatchKey]uuid.UUID{}
	resolved := map[uuid.UUID]uuid.UUID{}
	var found map[uuid.UUID]*crmhub.Contact
	if len(values) == 0 && len(asked) == 0 {
		return nil, nil
	}
	// With one match key and no ids, the contacts read are the match (a
	// key belongs to one contact): the statement reading the key's owner
	// would only repeat the lookup.
	oneKey := len(values) == 1 && len(asked) == 0
	match, matchArgs := matchSQL(classes, sources, values, asked)
	err = s.db.readBatch(ctx, crmhub.ScopeContactsRead, func(b *pgx.Batch, wsID uuid.UUID) {
		ws := [16]byte(wsID)
		if len(values) > 0 && !oneKey {
			cond, keyArgs := keysSQL(2, classes, sources, values)
			b.Queue("SELECT match_class, match_source, value, contact_id FROM contact_identities WHERE workspace_id = $1 AND "+cond,
				append([]any{ws}, keyArgs...)...)
		}
		if len(asked) > 0 {
			b.Queue(`SELECT id, id FROM contacts WHERE workspace_id = $1 AND id = ANY($2)
			UNION ALL SELECT old_id, target_id FROM contact_redirects WHERE workspace_id = $1 AND old_id = ANY($2)`, ws, asked)
		}
		args := append([]any{ws}, matchArgs...)
		b.Queue("SELECT "+contactColumns+" FROM contacts c WHERE c.workspace_id = $1 AND c.id IN ("+match+")", args...)
		b.Queue("SELECT "+identityColumns+" FROM contact_identities i WHERE i.workspace_id = $1 AND i.contact_id IN ("+
			match+") ORDER BY i.created_at, i.type, i.value", args...)
	}, func(res pgx.BatchResults, scope *readScope) error {
		if len(values) > 0 && !oneKey {
			var k crmhub.MatchKey
			var c uuid.UUID
			if _, err := pgx.ForEachRow(batchRows(res), []any{&k.Class, &k.Source, &k.Value, &c}, func() error {
				owner[k] = c
				return nil
			}); err != nil {
				return err
			}
		}
		if len(asked) > 0 {
			var from, to uuid.UUID
			if _, err := pgx.ForEachRow(batchRows(res), []any{&from, &to}, func() error {
				resolved[from] = to
				return nil
			}); err != nil {
				return err
			}
		}
		found, err = readContacts(res, scope)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("db: resolve contact: %w", err)
	}
	if oneKey {
		for id := range found {
			owner[crmhub.MatchKey{Class: classes[0], Source: sources[0], Value: values[0]}] = id
		}
	}
	// Report matches in the order of the identifiers given.
	var matched []uuid.UUID
	for _, id := range norm {
		var c uuid.UUID
		var ok bool
		if id.Type == crmhub.IdentityContactID {
			uid, _ := crmhub.ParseID(crmhub.KindContact, id.Value)
			c, ok = resolved[uid]
		} else {
			c, ok = owner[id.MatchKey()]
		}
		if ok && !slices.Contains(matched, c) {
			matched = append(matched, c)
		}
	}
	switch len(matched) {
	case 0:
		return nil, nil
	case 1:
		// nil if it was deleted between the statements.
		return found[matched[0]], nil
	}
	gids := make([]string, len(matched))
	for i, m := range matched {
		gids[i] = crmhub.GlobalID(crmhub.KindContact, m)
	}
	return nil, &crmhub.Error{Code: crmhub.ECONFLICT, Message: "the identifiers belong to different contacts",
		Extensions: map[string]any{"contactIds": gids}}
}
