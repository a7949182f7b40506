package syncer

import (
	"bytes"
	"context"
	"slices"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/google/uuid"
)

// pull pages through the remote's records of one entity from the saved
// cursor, applies each page and saves the cursor after it. An entity the
// remote does not sync (plan leaves it out) pulls nothing.
func (r *runner) pull(entity crmhub.SyncEntity) error {
	users, isUsers := r.remote.(connectors.UserSyncer)
	deals, isDeals := r.remote.(connectors.DealSyncer)
	switch {
	case entity == crmhub.SyncUsers && isUsers:
		return pullPages(r, entity, users.ListUsers, r.applyUsers)
	case entity == crmhub.SyncContacts:
		return pullPages(r, entity, r.remote.ListContacts, r.applyContacts)
	case entity == crmhub.SyncDeals && isDeals:
		return pullPages(r, entity, deals.ListDeals, r.applyDeals)
	}
	return nil
}

func pullPages[T any](r *runner, entity crmhub.SyncEntity, list func(context.Context, string) (connectors.Page[T], error),
	apply func([]T) error) error {
	r.done, r.total = 0, 0
	for {
		var page connectors.Page[T]
		err := r.call("list "+string(entity), func() (err error) {
			page, err = list(r.as, r.prog.Cursor)
			return err
		})
		if err != nil {
			return err
		}
		r.run.Stats.Fetched += len(page.Items)
		r.done, r.total = r.done+len(page.Items), page.Total
		for chunk := range slices.Chunk(page.Items, crmhub.MaxBatch) {
			if err := apply(chunk); err != nil {
				return err
			}
		}
		r.prog.Cursor = page.Next
		if err := r.save(step{"pull", entity}); err != nil {
			return err
		}
		if page.Next == "" || len(page.Items) == 0 {
			return nil
		}
	}
}

// changes splits records into those whose fingerprint matches their link
// (unchanged since the last run: no write) and the rest.
type changes struct {
	links     map[string]crmhub.SyncLink
	prints    map[string][]byte
	unchanged []string
	// bases are the next bases of the links of applied records (see
	// policy.go); a record without one keeps its stored base.
	bases map[string]snapshot
}

func (r *runner) triage(entity crmhub.SyncEntity, ids []string, records []any) (*changes, []int, error) {
	links, err := r.e.Store.Links(r.as, r.ws, r.conn.ID, entity, ids)
	if err != nil {
		return nil, nil, err
	}
	c := &changes{links: links, prints: map[string][]byte{}, bases: map[string]snapshot{}}
	var todo []int
	for i, id := range ids {
		fp := fingerprint(records[i])
		c.prints[id] = fp
		if l, ok := links[id]; ok && len(l.Fingerprint) > 0 && bytes.Equal(l.Fingerprint, fp) {
			c.unchanged = append(c.unchanged, id)
			continue
		}
		todo = append(todo, i)
	}
	r.run.Stats.Unchanged += len(c.unchanged)
	return c, todo, nil
}

// count records one applied item's outcome in the stats and the plan.
func (r *runner) count(entity crmhub.SyncEntity, status crmhub.UpsertStatus, ext string) {
	switch status {
	case crmhub.UpsertCreated:
		r.run.Stats.Created++
		r.addPlan(entity, "CREATE", ext)
	case crmhub.UpsertUpdated:
		r.run.Stats.Updated++
		r.addPlan(entity, "UPDATE", ext)
	case crmhub.UpsertUnchanged:
		r.run.Stats.Unchanged++
	}
}

// finish saves the links of a page's applied records and, in a FULL run,
// marks the unchanged ones seen (only the detection of gone records needs
// that, so an incremental pass over an unchanged remote writes nothing but
// its run's progress). A dry run saves nothing.
func (r *runner) finish(entity crmhub.SyncEntity, c *changes, links []crmhub.SyncLink) error {
	if r.run.DryRun {
		return nil
	}
	if err := r.e.Store.SaveLinks(r.as, r.ws, r.conn.ID, entity, links, &r.run.ID); err != nil {
		return err
	}
	if r.run.Mode != crmhub.SyncFull {
		return nil
	}
	return r.e.Store.MarkSeen(r.as, r.ws, r.conn.ID, entity, c.unchanged, r.run.ID)
}

func (r *runner) itemFailed(errs []crmhub.ItemError, ext string) {
	r.run.Stats.Failed++
	e := crmhub.ItemError{Code: crmhub.EINTERNAL, Message: "rejected"}
	if len(errs) > 0 {
		e = errs[0]
	}
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	r.addError(e.Code, msg, ext)
}

// localIDs maps remote ids to hub ids through the links of entity.
func (r *runner) localIDs(entity crmhub.SyncEntity, ext []string) (map[string]uuid.UUID, error) {
	links, err := r.e.Store.Links(r.as, r.ws, r.conn.ID, entity, ext)
	if err != nil {
		return nil, err
	}
	out := make(map[string]uuid.UUID, len(links))
	for k, l := range links {
		out[k] = l.LocalID
	}
	return out, nil
}

func (r *runner) applyUsers(items []connectors.RemoteUser) error {
	ids, recs := make([]string, len(items)), make([]any, len(items))
	for i := range items {
		ids[i], recs[i] = items[i].ExternalID, items[i]
	}
	c, todo, err := r.triage(crmhub.SyncUsers, ids, recs)
	if err != nil {
		return err
	}
	if len(todo) == 0 {
		return r.finish(crmhub.SyncUsers, c, nil)
	}
	in := make([]crmhub.UserInput, len(todo))
	for j, i := range todo {
		u := items[i]
		in[j] = crmhub.UserInput{ExternalID: u.ExternalID, Name: u.Name, Email: u.Email}
	}
	res, err := r.e.Users.UpsertUsers(r.write, in)
	if err != nil {
		return err
	}
	links := r.linkUpserted(crmhub.SyncUsers, c, ids, todo,
		func(j int) (crmhub.UpsertStatus, []crmhub.ItemError) { return res[j].Status, res[j].Errors },
		func(j int) uuid.UUID { return res[j].User.ID })
	return r.finish(crmhub.SyncUsers, c, links)
}

// linkUpserted counts the outcome of each upserted record, res[j] being
// that of the page's record todo[j] (ids are the page's external ids), and
// returns the links of the stored ones; a failed record is an item error.
// localID is asked only of stored records.
func (r *runner) linkUpserted(entity crmhub.SyncEntity, c *changes, ids []string, todo []int,
	outcome func(j int) (crmhub.UpsertStatus, []crmhub.ItemError), localID func(j int) uuid.UUID) []crmhub.SyncLink {
	var links []crmhub.SyncLink
	for j, i := range todo {
		ext := ids[i]
		status, errs := outcome(j)
		if status == crmhub.UpsertFailed {
			r.itemFailed(errs, ext)
			continue
		}
		r.count(entity, status, ext)
		links = append(links, crmhub.SyncLink{ExternalID: ext, LocalID: localID(j), Fingerprint: c.prints[ext], Base: c.bases[ext]})
	}
	return links
}

func (r *runner) applyContacts(items []connectors.RemoteContact) error {
	ids, recs := make([]string, len(items)), make([]any, len(items))
	var owners []string
	for i := range items {
		ids[i], recs[i] = items[i].ExternalID, items[i]
		if u := items[i].ResponsibleUserExternalID; u != nil {
			owners = append(owners, *u)
		}
	}
	c, todo, err := r.triage(crmhub.SyncContacts, ids, recs)
	if err != nil {
		return err
	}
	// A FULL run also re-reads the consents and notes of unchanged
	// records: a CRM may change those without touching the contact.
	var unchanged []pulledContact
	if r.run.Mode == crmhub.SyncFull {
		for _, ext := range c.unchanged {
			unchanged = append(unchanged, pulledContact{ext: ext, local: c.links[ext].LocalID})
		}
	}
	if len(todo) == 0 {
		if err := r.pullExtras(unchanged); err != nil {
			return err
		}
		return r.finish(crmhub.SyncContacts, c, nil)
	}
	users, err := r.localIDs(crmhub.SyncUsers, owners)
	if err != nil {
		return err
	}
	in := make([]crmhub.ContactInput, len(todo))
	for j, i := range todo {
		in[j] = r.contactInput(&items[i], users)
	}
	if err := r.reconcileContacts(items, todo, in, c); err != nil {
		return err
	}
	res, err := r.e.Contacts.UpsertContacts(r.write, in)
	if err != nil {
		return err
	}
	var links []crmhub.SyncLink
	var pulled []pulledContact
	for j, i := range todo {
		ext := items[i].ExternalID
		status, contact := res[j].Status, res[j].Contact
		if status == crmhub.UpsertFailed && isConflict(res[j].Errors) {
			status, contact, err = r.conflict(&items[i], c.links[ext], res[j].Errors[0], in[j])
			if err != nil {
				return err
			}
			if status == "" {
				continue // recorded as a conflict
			}
			res[j].Errors = nil
		}
		if status == crmhub.UpsertFailed {
			r.itemFailed(res[j].Errors, ext)
			continue
		}
		r.count(crmhub.SyncContacts, status, ext)
		links = append(links, crmhub.SyncLink{ExternalID: ext, LocalID: contact.ID, Fingerprint: c.prints[ext], Base: c.bases[ext]})
		pulled = append(pulled, pulledContact{ext: ext, local: contact.ID})
	}
	// Consents before the links: a run that stops in between pulls the
	// page again, and its records are not skipped as unchanged then.
	if err := r.pullExtras(append(pulled, unchanged...)); err != nil {
		return err
	}
	return r.finish(crmhub.SyncContacts, c, links)
}

// contactInput maps a remote contact to upsert input: its EXTERNAL_ID
// (source: the connection) first, then every identifier it carries.
func (r *runner) contactInput(rc *connectors.RemoteContact, users map[string]uuid.UUID) crmhub.ContactInput {
	in := crmhub.ContactInput{Name: rc.Name, URI: rc.URI, Tags: rc.Tags, CustomFields: rc.CustomFields,
		Identifiers: append([]crmhub.Identifier{r.externalID(rc.ExternalID)}, rc.Identifiers...)}
	if u := rc.ResponsibleUserExternalID; u != nil {
		if id, ok := users[*u]; ok {
			in.ResponsibleUserID = &id
		}
	}
	return in
}

func (r *runner) externalID(ext string) crmhub.Identifier {
	return crmhub.Identifier{Type: crmhub.IdentityExternalID, Value: ext, Source: r.connGID()}
}

func isConflict(errs []crmhub.ItemError) bool {
	return len(errs) > 0 && errs[0].Code == crmhub.ECONFLICT
}

// conflict handles a record whose identifiers point at different hub
// contacts. When the record is already linked to one of them (it was
// synced before, or an operator picked that contact), that contact keeps
// the record: it is updated (with in, the record's reconciled input)
// through its EXTERNAL_ID alone and the other identifiers stay with their
// owners. Otherwise the conflict is recorded for an operator, never
// merged; it returns an empty status then.
func (r *runner) conflict(rc *connectors.RemoteContact, link crmhub.SyncLink, e crmhub.ItemError,
	in crmhub.ContactInput) (crmhub.UpsertStatus, *crmhub.Contact, error) {
	candidates := e.ContactIDs
	if link.LocalID != uuid.Nil && slices.Contains(candidates, link.LocalID) {
		in.Identifiers = in.Identifiers[:1] // the EXTERNAL_ID
		res, err := r.e.Contacts.UpsertContacts(r.write, []crmhub.ContactInput{in})
		if err != nil {
			return "", nil, err
		}
		return res[0].Status, res[0].Contact, nil
	}
	r.run.Stats.Conflicts++
	r.addError(crmhub.ECONFLICT, "the record's identifiers belong to different contacts; resolve the identity conflict", rc.ExternalID)
	if r.run.DryRun {
		r.addPlan(crmhub.SyncContacts, "CONFLICT", rc.ExternalID)
		return "", nil, nil
	}
	idents := append([]crmhub.Identifier{r.externalID(rc.ExternalID)}, rc.Identifiers...)
	_, err := r.e.Store.RecordConflict(r.as, r.ws, r.conn.ID, crmhub.SyncContacts, rc.ExternalID, idents, candidates)
	return "", nil, err
}

func (r *runner) applyDeals(items []connectors.RemoteDeal) error {
	ids, recs := make([]string, len(items)), make([]any, len(items))
	var owners, contacts []string
	for i := range items {
		ids[i], recs[i] = items[i].ExternalID, items[i]
		if u := items[i].ResponsibleUserExternalID; u != nil {
			owners = append(owners, *u)
		}
		contacts = append(contacts, items[i].ContactExternalIDs...)
	}
	c, todo, err := r.triage(crmhub.SyncDeals, ids, recs)
	if err != nil {
		return err
	}
	if len(todo) == 0 {
		return r.finish(crmhub.SyncDeals, c, nil)
	}
	users, err := r.localIDs(crmhub.SyncUsers, owners)
	if err != nil {
		return err
	}
	linked, err := r.localIDs(crmhub.SyncContacts, contacts)
	if err != nil {
		return err
	}
	in := make([]crmhub.DealUpsertInput, len(todo))
	for j, i := range todo {
		d := &items[i]
		in[j] = crmhub.DealUpsertInput{ExternalRef: &crmhub.ExternalRef{Source: r.connGID(), ExternalID: d.ExternalID},
			Name: d.Name, Status: d.Status, Amount: d.Amount, Currency: d.Currency, Stage: d.Stage}
		if u := d.ResponsibleUserExternalID; u != nil {
			if id, ok := users[*u]; ok {
				in[j].ResponsibleUserID = &id
			}
		}
		cs := []uuid.UUID{}
		for _, ext := range d.ContactExternalIDs {
			if id, ok := linked[ext]; ok && !slices.Contains(cs, id) {
				cs = append(cs, id)
			}
		}
		in[j].ContactIDs = &cs
	}
	if err := r.reconcileDeals(items, todo, in, c); err != nil {
		return err
	}
	res, err := r.e.Deals.UpsertDeals(r.write, in)
	if err != nil {
		return err
	}
	links := r.linkUpserted(crmhub.SyncDeals, c, ids, todo,
		func(j int) (crmhub.UpsertStatus, []crmhub.ItemError) { return res[j].Status, res[j].Errors },
		func(j int) uuid.UUID { return res[j].Deal.ID })
	return r.finish(crmhub.SyncDeals, c, links)
}

// gone handles, after a complete FULL listing of entity, the linked
// records the remote no longer lists: by default they are unlinked (the
// hub record stays, without the connection's EXTERNAL_ID); with the
// option {"onRemoteDelete": "delete"} contacts and deals are deleted.
// Either way a sync.record_gone event says so.
func (r *runner) gone(entity crmhub.SyncEntity) error {
	action := "unlinked"
	if r.conn.Options["onRemoteDelete"] == "delete" && entity != crmhub.SyncUsers {
		action = "deleted"
	}
	for {
		links, err := r.e.Store.UnseenLinks(r.as, r.ws, r.conn.ID, entity, r.run.ID, crmhub.MaxBatch)
		if err != nil || len(links) == 0 {
			return err
		}
		local := make([]uuid.UUID, len(links))
		for i, l := range links {
			local[i] = l.LocalID
		}
		switch {
		case action == "deleted" && entity == crmhub.SyncContacts:
			_, err = r.e.Contacts.DeleteContacts(r.write, local)
		case action == "deleted" && entity == crmhub.SyncDeals:
			_, err = r.e.Deals.DeleteDeals(r.write, local)
		case entity == crmhub.SyncContacts:
			for _, l := range links {
				_, err = r.e.Contacts.RemoveIdentity(r.write, l.LocalID, r.externalID(l.ExternalID))
				if crmhub.ErrorCode(err) == crmhub.ENOTFOUND {
					err = nil // the contact or its identity is gone already
				}
				if err != nil {
					break
				}
			}
		}
		if err != nil {
			return err
		}
		if err := r.e.Store.DeleteLinks(r.as, r.ws, r.conn.ID, entity, links, action); err != nil {
			return err
		}
		r.run.Stats.Deleted += len(links)
	}
}

// pullExtras brings the consents, suppressions and notes of pulled
// contacts, for connectors that have them.
func (r *runner) pullExtras(pulled []pulledContact) error {
	if err := r.pullConsents(pulled); err != nil {
		return err
	}
	return r.pullNotes(pulled)
}
