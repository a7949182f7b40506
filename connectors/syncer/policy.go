package syncer

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/google/uuid"
)

// This file is the three-way comparison of a pulled record: what the
// remote holds now, what the hub holds now, and the link's base (what
// both held at the end of the last run that wrote the link). Per field:
//
//   - the remote does not report it, or there is no base: the pull
//     writes what the remote reports, as before any comparison existed;
//   - only the remote changed it: the pull writes it to the hub;
//   - only the hub changed it (or neither): the pull leaves the hub's
//     value, and the push sends it to the remote;
//   - both changed it to different values: a conflict, decided by the
//     connection's ConflictPolicy and listed on the run.
//
// Only connections that sync BOTH ways compare: a PULL connection takes
// the remote's values, a PUSH one never pulls.

// snapshot is a record's synced fields in hub terms (name,
// responsibleUser as the hub user's id, customFields.<key>, and for deals
// status, amount, currency, stage), each as JSON text. A field is absent
// when the side holds no value, or, for the remote, does not report it.
type snapshot map[string]string

// put adds field with value v; a nil pointer adds nothing.
func (s snapshot) put(field string, v any) {
	if p := reflect.ValueOf(v); p.Kind() == reflect.Pointer && p.IsNil() {
		return
	}
	if b, err := json.Marshal(v); err == nil {
		s[field] = string(b)
	}
}

func contactSnapshot(name *string, user *uuid.UUID, custom map[string]any) snapshot {
	s := snapshot{}
	s.put("name", name)
	s.put("responsibleUser", user)
	for k, v := range custom {
		s.put(crmhub.CustomFieldPrefix+k, v)
	}
	return s
}

func dealSnapshot(name *string, status *crmhub.DealStatus, amount *float64, currency, stage *string, user *uuid.UUID) snapshot {
	s := snapshot{}
	s.put("name", name)
	s.put("status", status)
	s.put("amount", amount)
	s.put("currency", currency)
	s.put("stage", stage)
	s.put("responsibleUser", user)
	return s
}

// hubContactSnapshot is what the hub holds of a contact.
func hubContactSnapshot(c *crmhub.Contact) snapshot {
	return contactSnapshot(c.Name, c.ResponsibleUserID, c.CustomFields)
}

// hubDealSnapshot is what the hub holds of a deal.
func hubDealSnapshot(d *crmhub.Deal) snapshot {
	st := d.Status
	return dealSnapshot(d.Name, &st, d.Amount, d.Currency, d.Stage, d.ResponsibleUserID)
}

// verdict is the outcome of comparing one pulled record.
type verdict struct {
	// keep lists the fields the pull must not write: the hub's value
	// stays and the push carries it to the remote.
	keep []string
	// base is the link's next base: the remote's value where the pull
	// writes it, the old base where the hub's value still has to reach
	// the remote (so a failed push is compared again next run).
	base snapshot
}

// compare decides one pulled record's fields. remoteAt is the remote's
// change time of the record, nil when the CRM reports none; sources are
// the hub record's provenance.
func (r *runner) compare(ext string, base, hub, remote snapshot, remoteAt *time.Time, sources crmhub.FieldSources) verdict {
	v := verdict{base: maps.Clone(base)}
	if v.base == nil {
		v.base = snapshot{}
	}
	for _, field := range slices.Sorted(maps.Keys(remote)) {
		rv := remote[field]
		b, known := base[field]
		if !known || hub == nil {
			v.base[field] = rv
			continue
		}
		hv, hubHas := hub[field]
		switch {
		case rv == b: // the remote did not change it: the hub's value stands
			v.keep = append(v.keep, field)
		case hubHas && (hv == b || hv == rv): // only the remote changed it, or both alike
			v.base[field] = rv
		case r.hubWins(sources[field], remoteAt):
			v.keep = append(v.keep, field)
			r.addFieldConflict(ext, field, hv, hubHas, rv, crmhub.WinnerHub)
		default:
			v.base[field] = rv
			r.addFieldConflict(ext, field, hv, hubHas, rv, crmhub.WinnerRemote)
		}
	}
	return v
}

// hubWins applies the connection's policy to one field changed on both
// sides: NEWEST_WINS lets the remote win only when it reports a change
// time later than the hub's time of the field.
func (r *runner) hubWins(hub crmhub.FieldSource, remoteAt *time.Time) bool {
	switch r.conn.ConflictPolicy {
	case crmhub.HubWins:
		return true
	case crmhub.RemoteWins:
		return false
	}
	return remoteAt == nil || !remoteAt.After(hub.At)
}

// addFieldConflict lists a decision (the list is bounded; every decision
// is applied).
func (r *runner) addFieldConflict(ext, field, hub string, hubHas bool, remote string, winner crmhub.ConflictWinner) {
	if len(r.run.FieldConflicts) >= crmhub.MaxFieldConflicts {
		return
	}
	fc := crmhub.FieldConflict{RecordID: ext, Field: field, RemoteValue: &remote, Winner: winner}
	if hubHas {
		fc.HubValue = &hub
	}
	r.run.FieldConflicts = append(r.run.FieldConflicts, fc)
}

// comparing reports whether the run compares pulled records with the hub.
func (r *runner) comparing() bool { return r.conn.Direction == crmhub.SyncBoth }

// reconcileContacts compares the pulled contacts in (todo[j] is the page
// index of in[j]) with their hub copies, strips from in the fields whose
// hub value stands, and keeps each record's next base in c.bases.
func (r *runner) reconcileContacts(items []connectors.RemoteContact, todo []int, in []crmhub.ContactInput, c *changes) error {
	load := hubLoader(r, r.e.Contacts.ContactsByIDs, func(x *crmhub.Contact) (uuid.UUID, hubRecord) {
		return x.ID, hubRecord{hubContactSnapshot(x), x.FieldSources}
	})
	return reconcile(r, c, items, todo, in, load,
		func(rc *connectors.RemoteContact) (string, *time.Time) { return rc.ExternalID, rc.UpdatedAt },
		func(p *crmhub.ContactInput) snapshot {
			return contactSnapshot(p.Name, p.ResponsibleUserID, p.CustomFields)
		},
		func(p *crmhub.ContactInput, field string) {
			switch field {
			case "name":
				p.Name = nil
			case "responsibleUser":
				p.ResponsibleUserID = nil
			default:
				p.CustomFields = maps.Clone(p.CustomFields)
				delete(p.CustomFields, strings.TrimPrefix(field, crmhub.CustomFieldPrefix))
			}
		})
}

// reconcileDeals is reconcileContacts for deals.
func (r *runner) reconcileDeals(items []connectors.RemoteDeal, todo []int, in []crmhub.DealUpsertInput, c *changes) error {
	load := hubLoader(r, r.e.Deals.DealsByIDs, func(x *crmhub.Deal) (uuid.UUID, hubRecord) {
		return x.ID, hubRecord{hubDealSnapshot(x), x.FieldSources}
	})
	return reconcile(r, c, items, todo, in, load,
		func(rd *connectors.RemoteDeal) (string, *time.Time) { return rd.ExternalID, rd.UpdatedAt },
		func(d *crmhub.DealUpsertInput) snapshot {
			return dealSnapshot(d.Name, d.Status, d.Amount, d.Currency, d.Stage, d.ResponsibleUserID)
		},
		func(d *crmhub.DealUpsertInput, field string) {
			switch field {
			case "name":
				d.Name = nil
			case "status":
				d.Status = nil
			case "amount":
				d.Amount = nil
			case "currency":
				d.Currency = nil
			case "stage":
				d.Stage = nil
			case "responsibleUser":
				d.ResponsibleUserID = nil
			}
		})
}

// reconcile is the shape of reconcileContacts and reconcileDeals: remote
// gives a pulled record's id and change time, snap the snapshot of its
// hub input, strip removes a field from that input.
func reconcile[T, I any](r *runner, c *changes, items []T, todo []int, in []I,
	load func([]uuid.UUID) (map[uuid.UUID]hubRecord, error), remote func(*T) (string, *time.Time),
	snap func(*I) snapshot, strip func(*I, string)) error {
	hubs, err := linkedHub(r, c, items, todo, load, remote)
	if err != nil {
		return err
	}
	for j, i := range todo {
		ext, at := remote(&items[i])
		h, linked := hubs[ext]
		v := r.compare(ext, c.links[ext].Base, h.fields(linked), snap(&in[j]), at, h.sources)
		c.bases[ext] = v.base
		for _, f := range v.keep {
			strip(&in[j], f)
		}
	}
	return nil
}

// hubLoader reads hub records by id with fetch (nil where missing) and
// keys what rec makes of each by its id.
func hubLoader[R any](r *runner, fetch func(context.Context, []uuid.UUID) ([]*R, error),
	rec func(*R) (uuid.UUID, hubRecord)) func([]uuid.UUID) (map[uuid.UUID]hubRecord, error) {
	return func(ids []uuid.UUID) (map[uuid.UUID]hubRecord, error) {
		xs, err := fetch(r.as, ids)
		if err != nil {
			return nil, err
		}
		out := make(map[uuid.UUID]hubRecord, len(xs))
		for _, x := range xs {
			if x != nil {
				id, h := rec(x)
				out[id] = h
			}
		}
		return out, nil
	}
}

// hubRecord is a linked hub record's fields and provenance.
type hubRecord struct {
	snap    snapshot
	sources crmhub.FieldSources
}

// fields is the record's snapshot, nil when it has no hub copy (nothing
// to compare: the remote's values apply).
func (h hubRecord) fields(linked bool) snapshot {
	if !linked {
		return nil
	}
	return h.snap
}

// linkedHub reads, by remote id, the hub copies of the records to apply
// whose links have a base; none when the run does not compare.
func linkedHub[T any](r *runner, c *changes, items []T, todo []int, load func([]uuid.UUID) (map[uuid.UUID]hubRecord, error),
	remote func(*T) (string, *time.Time)) (map[string]hubRecord, error) {
	out := map[string]hubRecord{}
	if !r.comparing() {
		return out, nil
	}
	byLocal := map[uuid.UUID]string{}
	var ids []uuid.UUID
	for _, i := range todo {
		ext, _ := remote(&items[i])
		if l, ok := c.links[ext]; ok && l.Base != nil {
			byLocal[l.LocalID] = ext
			ids = append(ids, l.LocalID)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	recs, err := load(ids)
	if err != nil {
		return nil, err
	}
	for id, rec := range recs {
		out[byLocal[id]] = rec
	}
	return out, nil
}
