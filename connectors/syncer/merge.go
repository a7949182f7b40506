package syncer

import (
	"slices"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

// addMerged notes the contacts a contact.merged event merged away. They
// no longer exist in the hub: they are not upserted, their remote copies
// are deleted (pushMerged), and the survivor, the event's subject, is
// upserted like any changed contact.
func (rd *round) addMerged(ev *crmhub.Event) {
	p, err := crmhub.DecodePayload[crmhub.ContactMergedPayload](ev)
	if err != nil {
		return
	}
	for _, gid := range p.SourceIDs {
		kind, id, err := crmhub.ParseAnyID(gid)
		if err != nil || kind != crmhub.KindContact {
			continue
		}
		if !slices.Contains(rd.merged, id) {
			rd.merged = append(rd.merged, id)
		}
		rd.upsert[crmhub.SyncContacts] = slices.DeleteFunc(rd.upsert[crmhub.SyncContacts],
			func(x uuid.UUID) bool { return x == id })
	}
}

// pushMerged makes a hub merge reach the remote: the remote copies of the
// contacts merged away are deleted there (none of the CRMs crmhub speaks
// can merge two records), and the EXTERNAL_ID identities of those copies,
// which the merge moved onto the survivor, are removed from it, so that
// the survivor is known to the remote only by its own copy. It runs before
// the survivor is pushed: a CRM that resolves by identifier (Wazapin) then
// finds the survivor's own copy, not a copy about to be deleted.
func (r *runner) pushMerged(sources []uuid.UUID) error {
	if len(sources) == 0 {
		return nil
	}
	links, err := r.e.Store.LinksByLocal(r.as, r.ws, r.conn.ID, crmhub.SyncContacts, sources)
	if err != nil || len(links) == 0 {
		return err
	}
	if err := r.pushDeletes(crmhub.SyncContacts, sources); err != nil || r.run.DryRun {
		return err
	}
	for _, l := range links {
		ext := r.externalID(l.ExternalID)
		holder, err := r.e.Contacts.ResolveContact(r.as, []crmhub.Identifier{ext})
		if err != nil {
			return err
		}
		if holder == nil {
			continue // nobody holds it any more
		}
		if _, err := r.e.Contacts.RemoveIdentity(r.write, holder.ID, ext); err != nil && crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
			return err
		}
	}
	return nil
}

// mergesFirst carries the hub merges not yet pushed to the remote before
// a backfill starts: a backfill pushes survivors, and a CRM that resolves
// (Wazapin) would find a survivor's identifiers on both its own copy and
// the copy of a contact merged into it, and refuse it as an identity
// conflict. It reads the changes after the push position without moving
// it; the push that follows finds those merges done (their links gone).
func (r *runner) mergesFirst() error {
	if !r.conn.Syncs(crmhub.SyncContacts) {
		return nil
	}
	return r.eachChange(func(events []*crmhub.Event, _ int64) error {
		rd := &round{upsert: map[crmhub.SyncEntity][]uuid.UUID{}}
		for _, ev := range events {
			if ev.Type == crmhub.EventContactMerged {
				rd.addMerged(ev)
			}
		}
		return r.pushMerged(rd.merged)
	})
}
