package syncer

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/google/uuid"
)

// pushChunk is how many events one push round reads.
const pushChunk = 500

// push sends the hub changes made since the connection's push position,
// except those the connection itself made (no echo), and advances the
// position after each round. Each round collapses its events to the
// latest state of each record: created or updated records are upserted
// on the remote, deleted ones deleted there.
func (r *runner) push() error {
	return r.eachChange(func(events []*crmhub.Event, last int64) error {
		if err := r.pushRound(events); err != nil {
			return err
		}
		if r.run.DryRun {
			r.prog.Push = last
		} else if err := r.e.Store.SetPushPosition(r.as, r.ws, r.conn.ID, last); err != nil {
			return err
		}
		return r.save(step{kind: "push"})
	})
}

// eachChange calls fn with each chunk of the hub changes the connection
// has not pushed yet (from its push position, or a dry run's own), in
// order, and the position after the chunk. It moves no position itself.
func (r *runner) eachChange(fn func(events []*crmhub.Event, last int64) error) error {
	pos, err := r.e.Store.PushPosition(r.as, r.ws, r.conn.ID)
	if err != nil {
		return err
	}
	pos = max(pos, r.prog.Push)
	for {
		events, last, err := r.e.Store.PushChanges(r.as, r.ws, r.conn.ID, pos, pushChunk)
		if err != nil {
			return err
		}
		if last <= pos {
			return nil
		}
		if err := fn(events, last); err != nil {
			return err
		}
		pos = last
	}
}

// round is one push round's records, in order of first mention, and the
// contacts merged away in the hub during it (see merge.go).
type round struct {
	upsert, del map[crmhub.SyncEntity][]uuid.UUID
	merged      []uuid.UUID
}

func (rd *round) add(m map[crmhub.SyncEntity][]uuid.UUID, e crmhub.SyncEntity, id uuid.UUID) {
	if !slices.Contains(m[e], id) {
		m[e] = append(m[e], id)
	}
}

func (r *runner) pushRound(events []*crmhub.Event) error {
	rd := &round{upsert: map[crmhub.SyncEntity][]uuid.UUID{}, del: map[crmhub.SyncEntity][]uuid.UUID{}}
	cc := &channelChanges{consents: map[uuid.UUID][]crmhub.Channel{}, suppressions: map[uuid.UUID][]crmhub.Channel{}}
	var notes []uuid.UUID
	for _, ev := range events {
		kind, id, err := crmhub.ParseAnyID(ev.SubjectID)
		if err != nil {
			continue
		}
		if kind == crmhub.KindContact && notesChanged(ev) {
			if !slices.Contains(notes, id) {
				notes = append(notes, id)
			}
			continue // the contact itself did not change
		}
		if ev.Type == crmhub.EventConsentChanged || ev.Type == crmhub.EventSuppressionChanged {
			ch, ok := changedChannel(ev)
			if kind != crmhub.KindContact || !ok {
				continue
			}
			m := cc.consents
			if ev.Type == crmhub.EventSuppressionChanged {
				m = cc.suppressions
			}
			cc.add(m, id, ch)
			continue
		}
		var ent crmhub.SyncEntity
		switch kind {
		case crmhub.KindContact:
			ent = crmhub.SyncContacts
		case crmhub.KindDeal:
			ent = crmhub.SyncDeals
		case crmhub.KindUser:
			ent = crmhub.SyncUsers
		default:
			continue
		}
		if ev.Type == crmhub.EventContactMerged {
			rd.addMerged(ev)
		}
		switch ev.Type {
		case crmhub.EventContactDeleted, crmhub.EventDealDeleted, crmhub.EventUserDeleted:
			rd.upsert[ent] = slices.DeleteFunc(rd.upsert[ent], func(x uuid.UUID) bool { return x == id })
			rd.add(rd.del, ent, id)
		default:
			if ev.Position > r.prog.Covered { // else this run's backfill read the record after it
				rd.add(rd.upsert, ent, id)
			}
		}
	}
	for _, ent := range crmhub.SyncEntities {
		if !r.conn.Syncs(ent) || !connectors.Supports(r.remote, ent) {
			continue
		}
		var err error
		switch ent {
		case crmhub.SyncUsers:
			if err = r.pushUsers(rd.upsert[ent]); err == nil {
				err = r.pushDeletes(ent, rd.del[ent])
			}
		case crmhub.SyncContacts, crmhub.SyncDeals:
			upsert := r.pushContacts
			if ent == crmhub.SyncDeals {
				upsert = r.pushDeals
			} else if err = r.pushMerged(rd.merged); err != nil {
				return err
			}
			if err = upsert(rd.upsert[ent]); err == nil {
				err = r.pushDeletes(ent, rd.del[ent])
			}
		}
		if err != nil {
			return err
		}
	}
	// After the contacts, so that one pushed for the first time is linked.
	if r.conn.Syncs(crmhub.SyncContacts) {
		if err := r.pushConsents(cc); err != nil {
			return err
		}
		return r.pushNotes(notes)
	}
	return nil
}

// changedChannel reads the channel of a consent.changed or
// suppression.changed event.
func changedChannel(ev *crmhub.Event) (crmhub.Channel, bool) {
	if ev.Type == crmhub.EventSuppressionChanged {
		p, err := crmhub.DecodePayload[crmhub.SuppressionChangedPayload](ev)
		return p.Channel, err == nil && p.Channel.Valid()
	}
	p, err := crmhub.DecodePayload[crmhub.ConsentChangedPayload](ev)
	return p.Channel, err == nil && p.Channel.Valid()
}

// outgoing is one record to push with its hub id and fingerprint.
type outgoing[T any] struct {
	local  uuid.UUID
	ext    string
	linked bool
	rec    T
	fp     []byte
	// base is the hub record's snapshot: once the remote takes the
	// record, both sides hold it (see policy.go).
	base snapshot
}

// pushBatches sends records in batches the remote accepts, counts each
// record's fate and saves the links of those it took, under the id the
// remote reported for each (the id sent when it reported none): a remote
// that assigned its own id on create, or matched the record to one it
// had, is then pulled under that id. The records returned carry that id
// in ext. A record whose fingerprint equals its link's is skipped: the
// remote has it already. withID returns a record under another id; the
// fingerprint saved is the record's under the id it is linked by, so the
// next push of the same state is skipped.
func pushBatches[T any](r *runner, entity crmhub.SyncEntity, recs []outgoing[T], links map[uuid.UUID]crmhub.SyncLink,
	send func(context.Context, []T) ([]connectors.UpsertResult, error), withID func(T, string) T) ([]outgoing[T], error) {
	var todo []outgoing[T]
	for _, o := range recs {
		o.fp = fingerprint(o.rec)
		if l, ok := links[o.local]; ok && bytes.Equal(l.Fingerprint, o.fp) {
			continue
		}
		todo = append(todo, o)
	}
	if r.run.DryRun {
		for _, o := range todo {
			r.run.Stats.Pushed++
			r.addPlan(entity, "PUSH", o.ext)
		}
		return nil, nil
	}
	var sent []outgoing[T]
	size := max(1, min(r.caps.MaxBatch, crmhub.MaxBatch))
	for batch := range slices.Chunk(todo, size) {
		items := make([]T, len(batch))
		for i, o := range batch {
			items[i] = o.rec
		}
		var results []connectors.UpsertResult
		err := r.call("upsert "+string(entity), func() (err error) {
			results, err = send(r.as, items)
			return err
		})
		if err != nil {
			return sent, err
		}
		var saved []crmhub.SyncLink
		for i, o := range batch {
			var res connectors.UpsertResult
			if i < len(results) {
				res = results[i]
			}
			if res.Err != nil {
				if err := r.pushRefused(entity, res.Err, o.ext, o.local, any(o.rec)); err != nil {
					return sent, err
				}
				continue
			}
			r.run.Stats.Pushed++
			if res.ExternalID != "" && res.ExternalID != o.ext {
				o.ext, o.rec = res.ExternalID, withID(o.rec, res.ExternalID)
				o.fp = fingerprint(o.rec)
			}
			saved = append(saved, crmhub.SyncLink{ExternalID: o.ext, LocalID: o.local, Fingerprint: o.fp, Base: o.base})
			sent = append(sent, o)
		}
		if err := r.e.Store.SaveLinks(r.as, r.ws, r.conn.ID, entity, saved, nil); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

func (r *runner) pushUsers(ids []uuid.UUID) error {
	remote, ok := r.remote.(connectors.UserSyncer)
	if !ok || len(ids) == 0 {
		return nil
	}
	users, err := r.e.Users.UsersByIDs(r.as, ids)
	if err != nil {
		return err
	}
	links, err := r.e.Store.LinksByLocal(r.as, r.ws, r.conn.ID, crmhub.SyncUsers, ids)
	if err != nil {
		return err
	}
	var recs []outgoing[connectors.RemoteUser]
	for _, u := range users {
		if u == nil {
			continue
		}
		recs = append(recs, outgoing[connectors.RemoteUser]{local: u.ID, ext: u.ExternalID,
			rec: connectors.RemoteUser{ExternalID: u.ExternalID, Name: u.Name, Email: u.Email}})
	}
	_, err = pushBatches(r, crmhub.SyncUsers, recs, links, remote.UpsertUsers,
		func(u connectors.RemoteUser, id string) connectors.RemoteUser { u.ExternalID = id; return u })
	return err
}

func (r *runner) pushContacts(ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	contacts, err := r.e.Contacts.ContactsByIDs(r.as, ids)
	if err != nil {
		return err
	}
	var live []uuid.UUID
	var owners []uuid.UUID
	for _, c := range contacts {
		if c != nil {
			live = append(live, c.ID)
			if c.ResponsibleUserID != nil {
				owners = append(owners, *c.ResponsibleUserID)
			}
		}
	}
	idents, err := r.e.Contacts.IdentitiesByContact(r.as, live)
	if err != nil {
		return err
	}
	tags, err := r.e.Contacts.TagsByContact(r.as, live)
	if err != nil {
		return err
	}
	links, err := r.e.Store.LinksByLocal(r.as, r.ws, r.conn.ID, crmhub.SyncContacts, live)
	if err != nil {
		return err
	}
	userLinks, err := r.e.Store.LinksByLocal(r.as, r.ws, r.conn.ID, crmhub.SyncUsers, owners)
	if err != nil {
		return err
	}
	var recs []outgoing[connectors.RemoteContact]
	for _, c := range contacts {
		if c == nil {
			continue
		}
		l, linked := links[c.ID]
		ext := l.ExternalID
		if !linked {
			ext = c.GlobalID()
		}
		rc := connectors.RemoteContact{ExternalID: ext, Name: c.Name, URI: c.URI, Tags: tags[c.ID], CustomFields: c.CustomFields}
		if c.ResponsibleUserID != nil {
			if ul, ok := userLinks[*c.ResponsibleUserID]; ok {
				rc.ResponsibleUserExternalID = &ul.ExternalID
			}
		}
		for _, id := range idents[c.ID] {
			if id.Type == crmhub.IdentityExternalID || id.Type == crmhub.IdentityContactID {
				continue
			}
			rc.Identifiers = append(rc.Identifiers, crmhub.Identifier{Type: id.Type, Value: id.Value})
		}
		recs = append(recs, outgoing[connectors.RemoteContact]{local: c.ID, ext: ext, linked: linked, rec: rc,
			base: hubContactSnapshot(c)})
	}
	sent, err := pushBatches(r, crmhub.SyncContacts, recs, links, r.remote.UpsertContacts,
		func(c connectors.RemoteContact, id string) connectors.RemoteContact { c.ExternalID = id; return c })
	var first []outgoing[connectors.RemoteContact]
	for _, o := range sent {
		if !o.linked {
			first = append(first, o)
		}
	}
	return cmp.Or(err, r.addExternalIDs(first)) // the push's own error first
}

// addExternalIDs gives each contact pushed for the first time the id the
// remote reported for it as its EXTERNAL_ID, so pulls match it: one upsert
// per batch, matching each contact by its CONTACT_ID. The write's origin
// is the connection: it is not pushed back. The links are saved again
// after that write, so that the contact is not newer than its link and a
// backfill does not take it for a hub change. A contact deleted meanwhile
// is skipped; one whose id the hub refuses is listed as failed.
func (r *runner) addExternalIDs(sent []outgoing[connectors.RemoteContact]) error {
	for batch := range slices.Chunk(sent, crmhub.MaxBatch) {
		in := make([]crmhub.ContactInput, len(batch))
		for i, o := range batch {
			in[i] = crmhub.ContactInput{Identifiers: []crmhub.Identifier{
				{Type: crmhub.IdentityContactID, Value: crmhub.GlobalID(crmhub.KindContact, o.local)}, r.externalID(o.ext)}}
		}
		res, err := r.e.Contacts.UpsertContacts(r.write, in)
		if err != nil {
			return err
		}
		var touched []crmhub.SyncLink
		for i, o := range batch {
			switch {
			case res[i].Status != crmhub.UpsertFailed:
				touched = append(touched, crmhub.SyncLink{ExternalID: o.ext, LocalID: o.local, Fingerprint: o.fp})
			case len(res[i].Errors) > 0 && res[i].Errors[0].Field == "identifiers[0].value":
				// deleted since it was pushed
			default:
				r.itemFailed(res[i].Errors, o.ext)
			}
		}
		if err := r.e.Store.SaveLinks(r.as, r.ws, r.conn.ID, crmhub.SyncContacts, touched, nil); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) pushDeals(ids []uuid.UUID) error {
	remote, ok := r.remote.(connectors.DealSyncer)
	if !ok || len(ids) == 0 {
		return nil
	}
	deals, err := r.e.Deals.DealsByIDs(r.as, ids)
	if err != nil {
		return err
	}
	var live, owners []uuid.UUID
	for _, d := range deals {
		if d != nil {
			live = append(live, d.ID)
			if d.ResponsibleUserID != nil {
				owners = append(owners, *d.ResponsibleUserID)
			}
		}
	}
	dealContacts, err := r.e.Deals.ContactIDsByDeal(r.as, live)
	if err != nil {
		return err
	}
	var contactIDs []uuid.UUID
	for _, cs := range dealContacts {
		contactIDs = append(contactIDs, cs...)
	}
	links, err := r.e.Store.LinksByLocal(r.as, r.ws, r.conn.ID, crmhub.SyncDeals, live)
	if err != nil {
		return err
	}
	contactLinks, err := r.e.Store.LinksByLocal(r.as, r.ws, r.conn.ID, crmhub.SyncContacts, contactIDs)
	if err != nil {
		return err
	}
	userLinks, err := r.e.Store.LinksByLocal(r.as, r.ws, r.conn.ID, crmhub.SyncUsers, owners)
	if err != nil {
		return err
	}
	exts, err := r.dealExternalIDs(remote, deals, links)
	if err != nil {
		return err
	}
	var recs []outgoing[connectors.RemoteDeal]
	for _, d := range deals {
		if d == nil {
			continue
		}
		ext := exts[d.ID]
		st := d.Status
		rd := connectors.RemoteDeal{ExternalID: ext, Name: d.Name, Status: &st, Amount: d.Amount, Currency: d.Currency,
			Stage: d.Stage, ContactExternalIDs: []string{}}
		if d.ResponsibleUserID != nil {
			if ul, ok := userLinks[*d.ResponsibleUserID]; ok {
				rd.ResponsibleUserExternalID = &ul.ExternalID
			}
		}
		for _, c := range dealContacts[d.ID] {
			if cl, ok := contactLinks[c]; ok {
				rd.ContactExternalIDs = append(rd.ContactExternalIDs, cl.ExternalID)
			}
		}
		recs = append(recs, outgoing[connectors.RemoteDeal]{local: d.ID, ext: ext, rec: rd, base: hubDealSnapshot(d)})
	}
	_, err = pushBatches(r, crmhub.SyncDeals, recs, links, remote.UpsertDeals,
		func(d connectors.RemoteDeal, id string) connectors.RemoteDeal { d.ExternalID = id; return d })
	return err
}

// dealExternalIDs returns the remote id each deal is pushed under: its
// link's, else its external ref of this connection (a deal pulled before,
// or given an id by an earlier push), else one the remote's
// DealIDAllocator chooses, else the deal's global id.
func (r *runner) dealExternalIDs(remote connectors.DealSyncer, deals []*crmhub.Deal,
	links map[uuid.UUID]crmhub.SyncLink) (map[uuid.UUID]string, error) {
	out := make(map[uuid.UUID]string, len(deals))
	var need []*crmhub.Deal
	for _, d := range deals {
		if d == nil {
			continue
		}
		if l, ok := links[d.ID]; ok {
			out[d.ID] = l.ExternalID
			continue
		}
		for _, ref := range d.ExternalRefs {
			if ref.Source == r.connGID() {
				out[d.ID] = ref.ExternalID
			}
		}
		if _, ok := out[d.ID]; !ok {
			out[d.ID] = d.GlobalID()
			need = append(need, d)
		}
	}
	alloc, ok := remote.(connectors.DealIDAllocator)
	if !ok || len(need) == 0 {
		return out, nil
	}
	ids, err := r.allocateDealIDs(alloc, need)
	maps.Copy(out, ids)
	return out, err
}

// pushDeletes deletes on the remote the linked records deleted in the hub.
func (r *runner) pushDeletes(entity crmhub.SyncEntity, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	links, err := r.e.Store.LinksByLocal(r.as, r.ws, r.conn.ID, entity, ids)
	if err != nil || len(links) == 0 {
		return err
	}
	var all []crmhub.SyncLink
	for _, id := range ids {
		if l, ok := links[id]; ok {
			all = append(all, l)
		}
	}
	del := r.deleter(entity)
	if del == nil {
		return nil // the remote keeps no such records or cannot delete them
	}
	if r.run.DryRun {
		for _, l := range all {
			r.run.Stats.Deleted++
			r.addPlan(entity, "DELETE", l.ExternalID)
		}
		return nil
	}
	size := max(1, min(r.caps.MaxBatch, crmhub.MaxBatch))
	for batch := range slices.Chunk(all, size) {
		ext := make([]string, len(batch))
		for i, l := range batch {
			ext[i] = l.ExternalID
		}
		err := r.call("delete "+string(entity), func() error {
			_, err := del(r.as, ext) // ids the remote did not have are gone already
			return err
		})
		if err != nil {
			return err
		}
		if err := r.e.Store.DeleteLinks(r.as, r.ws, r.conn.ID, entity, batch, ""); err != nil {
			return err
		}
		r.run.Stats.Deleted += len(batch)
	}
	return nil
}

// deleter returns the remote's delete of entity, nil when it has none.
func (r *runner) deleter(entity crmhub.SyncEntity) func(context.Context, []string) ([]string, error) {
	switch entity {
	case crmhub.SyncContacts:
		return r.remote.DeleteContacts
	case crmhub.SyncDeals:
		if remote, ok := r.remote.(connectors.DealSyncer); ok {
			return remote.DeleteDeals
		}
	case crmhub.SyncUsers:
		if remote, ok := r.remote.(connectors.UserDeleter); ok {
			return remote.DeleteUsers
		}
	}
	return nil
}

// pushRefused handles a record the remote refused. An identity conflict
// (the remote holds its identifiers on different remote records) becomes
// an identityConflicts entry naming the hub contact, counted as a
// conflict: it is never merged, and the next push tries again. Any other
// refusal fails the record.
func (r *runner) pushRefused(entity crmhub.SyncEntity, err error, ext string, local uuid.UUID, rec any) error {
	var ie connectors.ItemError
	rc, isContact := rec.(connectors.RemoteContact)
	if !errors.As(err, &ie) || ie.Code != connectors.CodeIdentityConflict || !isContact {
		r.remoteItemFailed(err, ext)
		return nil
	}
	r.run.Stats.Conflicts++
	r.addError(connectors.CodeIdentityConflict, "the remote holds this contact's identifiers on different contacts; "+
		"merge them there, then the next push links them", ext)
	idents := append([]crmhub.Identifier{r.externalID(ext)}, rc.Identifiers...)
	_, rerr := r.e.Store.RecordConflict(r.as, r.ws, r.conn.ID, entity, ext, idents, []uuid.UUID{local})
	return rerr
}
