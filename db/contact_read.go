package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The point reads of a contact (contact(id), resolveContact) are pgx
// batches: the tenant, the contact and its identities in one round trip,
// the identities kept in the operation's read scope for the Contact fields
// that ask for them (identities, email, phone). See readBatch.

// contactColumns are contactRow's columns in the order of contactRow.dest.
const contactColumns = "c.workspace_id, c.id, c.name, c.uri, c.custom_fields, c.responsible_user_id, c.field_sources, c.created_at, c.updated_at"

// dest returns the destinations of contactColumns.
func (r *contactRow) dest() []any {
	return []any{uuidCol(&r.WorkspaceID), uuidCol(&r.ID), &r.Name, &r.URI, &r.CustomFields, nullUUIDCol(&r.ResponsibleUserID),
		&r.FieldSources, &r.CreatedAt, &r.UpdatedAt}
}

// identityColumns are what identityRow.domain needs, in the order of
// identityRow.dest.
const identityColumns = "i.contact_id, i.type, i.value, i.source, i.created_at"

// dest returns the destinations of identityColumns.
func (r *identityRow) dest() []any {
	return []any{uuidCol(&r.ContactID), &r.Type, &r.Value, &r.Source, &r.CreatedAt}
}

// Two lookups find contacts by what names them, and each is spelled once,
// here: identities by match key (identitiesByKeysSQL), and contact ids
// through merge redirects, a merged contact's id naming the contact it
// was merged into (redirectsSQL for a set of ids, redirectedIDSQL for
// one). The write path (applyChanges) and the reads share them.

// identitiesByKeysSQL is the FROM and WHERE of a lookup of the identities
// of the workspace $1 that hold one of the match keys (three arrays:
// classes, sources, values), with its arguments numbered from $n. One key
// is three equalities, whose prepared statement PostgreSQL soon runs with
// a generic plan (no planning per execution); several are a join with
// unnest, planned every time (0.3-0.5 ms). Resolving by one phone or email
// is the common case. Migration 0007's hash index on value serves these
// lookups.
func identitiesByKeysSQL(n int, classes, sources, values []string) (string, []any) {
	from := "FROM contact_identities WHERE workspace_id = $1 AND "
	if len(values) == 1 {
		return from + fmt.Sprintf("match_class = $%d AND match_source = $%d AND value = $%d", n, n+1, n+2),
			[]any{classes[0], sources[0], values[0]}
	}
	return from + fmt.Sprintf("(match_class, match_source, value) IN (SELECT * FROM unnest($%d::text[], $%d::text[], $%d::text[]))", n, n+1, n+2),
		[]any{classes, sources, values}
}

// lookupIdentitiesSQL reads the identities that hold one of the match
// keys, as scanLookup takes them, with its arguments from $2.
func lookupIdentitiesSQL(classes, sources, values []string) (string, []any) {
	from, args := identitiesByKeysSQL(2, classes, sources, values)
	return "SELECT match_class, match_source, value, type, contact_id " + from, args
}

// scanLookup reads the rows of lookupIdentitiesSQL.
func scanLookup(rows pgx.Rows) ([]identityRow, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (identityRow, error) {
		var r identityRow
		return r, row.Scan(&r.MatchClass, &r.MatchSource, &r.Value, &r.Type, &r.ContactID)
	})
}

// redirectsSQL selects (asked, target) for each id of the array $n that
// names a contact of the workspace $1 today: target is the contact itself,
// or the contact it was merged into; ids that name none are left out. Each
// table is read through its primary key with the array as the index scan's
// keys, so the plan is the same whatever the number of ids.
func redirectsSQL(n int) string {
	return fmt.Sprintf(`SELECT id, id FROM contacts WHERE workspace_id = $1 AND id = ANY($%[1]d::uuid[])
	UNION ALL SELECT old_id, target_id FROM contact_redirects WHERE workspace_id = $1 AND old_id = ANY($%[1]d::uuid[])`, n)
}

// scanRedirects reads the rows of redirectsSQL into out, by asked id.
func scanRedirects(rows pgx.Rows, out map[uuid.UUID]uuid.UUID) error {
	var asked, target uuid.UUID
	_, err := pgx.ForEachRow(rows, []any{&asked, &target}, func() error { out[asked] = target; return nil })
	return err
}

// redirectedIDSQL is the contact that one id names today: itself, or the
// contact it was merged into; ws and id are the placeholders of the
// workspace and the id ("$1" and "$2" in pgx statements, "?" with bun,
// which then takes the workspace, the id and the id again). It is a scalar
// subquery, not a bare coalesce: under row-level security PostgreSQL only
// uses a condition in an index scan when it cannot leak, and it does not
// know that of coalesce, so `id = coalesce(...)` read all 100,000
// contacts of the benchmark's workspace (113 ms) where the primary key
// reads one (0.04 ms).
func redirectedIDSQL(ws, id string) string {
	return "(SELECT coalesce((SELECT target_id FROM contact_redirects WHERE workspace_id = " + ws + " AND old_id = " + id +
		"), " + id + "))"
}

// redirectedID is redirectedIDSQL in a pgx statement whose $1 is the
// workspace and $2 the id.
var redirectedID = redirectedIDSQL("$1", "$2")

// matchSQL selects the contacts that hold one of the match keys (three
// arrays: classes, sources, values) or that the ids name today, with its
// arguments, numbered from $2 ($1 is the workspace). It leaves out the
// parts with nothing to match: PostgreSQL plans these statements anew on
// every execution (custom plans), about 0.8 ms each at 100,000 contacts,
// and every UNION arm adds to that; resolving by one phone needs none of
// the id arms.
func matchSQL(classes, sources, values []string, asked []uuid.UUID) (string, []any) {
	var parts []string
	var args []any
	if len(values) > 0 {
		from, keyArgs := identitiesByKeysSQL(len(args)+2, classes, sources, values)
		parts = append(parts, "SELECT contact_id "+from)
		args = append(args, keyArgs...)
	}
	if len(asked) > 0 {
		parts = append(parts, "SELECT target FROM ("+redirectsSQL(len(args)+2)+") AS r(asked, target)")
		args = append(args, asked)
	}
	return strings.Join(parts, " UNION "), args
}

// batchRows is the next statement's rows; pgx returns rows carrying the
// error when there is one, so the reader sees it in Err.
func batchRows(res pgx.BatchResults) pgx.Rows {
	rows, _ := res.Query()
	return rows
}

func scanContact(row pgx.CollectableRow) (contactRow, error) {
	var r contactRow
	err := row.Scan(r.dest()...)
	return r, err
}

// scanIdentities reads identity rows, ordered by contact's age order, into
// lists by contact.
func scanIdentities(rows pgx.Rows) (map[uuid.UUID][]*crmhub.Identity, error) {
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (identityRow, error) {
		var r identityRow
		err := row.Scan(r.dest()...)
		return r, err
	})
	if err != nil {
		return nil, err
	}
	return identitiesByContact(list, 0), nil
}

// identitiesByContact groups identity rows by contact, in their order;
// contacts is how many contacts there are, if known.
func identitiesByContact(list []identityRow, contacts int) map[uuid.UUID][]*crmhub.Identity {
	out := make(map[uuid.UUID][]*crmhub.Identity, contacts)
	for i := range list {
		out[list[i].ContactID] = append(out[list[i].ContactID], list[i].domain())
	}
	return out
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
	var keys []crmhub.MatchKey
	var asked []uuid.UUID
	for _, id := range norm {
		if id.Type == crmhub.IdentityContactID {
			uid, _ := crmhub.ParseID(crmhub.KindContact, id.Value)
			asked = append(asked, uid)
		} else {
			keys = append(keys, id.MatchKey())
		}
	}
	if len(keys) == 0 && len(asked) == 0 {
		return nil, nil
	}
	classes, sources, values := keyArrays(keys)
	owners := crmhub.Owners{Keys: map[crmhub.MatchKey]uuid.UUID{}, IDs: map[uuid.UUID]uuid.UUID{}}
	var found map[uuid.UUID]*crmhub.Contact
	// With one match key and no ids, the contacts read are the match (a
	// key belongs to one contact): the statement reading the key's owner
	// would only repeat the lookup.
	oneKey := len(keys) == 1 && len(asked) == 0
	match, matchArgs := matchSQL(classes, sources, values, asked)
	err = s.db.readBatch(ctx, crmhub.ScopeContactsRead, func(b *pgx.Batch, wsID uuid.UUID) {
		ws := [16]byte(wsID)
		if len(keys) > 0 && !oneKey {
			lookup, keyArgs := lookupIdentitiesSQL(classes, sources, values)
			b.Queue(lookup, append([]any{ws}, keyArgs...)...)
		}
		if len(asked) > 0 {
			b.Queue(redirectsSQL(2), ws, asked)
		}
		args := append([]any{ws}, matchArgs...)
		b.Queue("SELECT "+contactColumns+" FROM contacts c WHERE c.workspace_id = $1 AND c.id IN ("+match+")", args...)
		b.Queue("SELECT "+identityColumns+" FROM contact_identities i WHERE i.workspace_id = $1 AND i.contact_id IN ("+
			match+") ORDER BY i.created_at, i.type, i.value", args...)
	}, func(res pgx.BatchResults, scope *readScope) error {
		if len(keys) > 0 && !oneKey {
			owned, err := scanLookup(batchRows(res))
			if err != nil {
				return err
			}
			for _, r := range owned {
				owners.Keys[r.key()] = r.ContactID
			}
		}
		if len(asked) > 0 {
			if err := scanRedirects(batchRows(res), owners.IDs); err != nil {
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
			owners.Keys[keys[0]] = id
		}
	}
	id, merr := crmhub.MatchContact(crmhub.MatchResolve, uuid.Nil, norm, owners)
	if merr != nil {
		return nil, merr
	}
	if id == uuid.Nil {
		return nil, nil
	}
	// nil if it was deleted between the statements.
	return found[id], nil
}
