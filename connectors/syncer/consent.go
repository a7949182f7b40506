package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/google/uuid"
)

// Consents and suppressions travel with contacts when the engine has a
// ConsentService and the connector implements connectors.ConsentSyncer.
//
// Pull: after a page's contacts are written, each record that was not
// skipped as unchanged has its remote consents and suppressions read and
// those that differ from the hub's are applied as the connection (so they
// are not pushed back). A record whose fingerprint is unchanged is not
// re-read: a consent changed on the remote without a change to the contact
// reaches the hub with the contact's next change. A remote consent is
// applied when the hub has none for the channel, or another status and the
// remote's is more recent (or undated). A remote suppression active while
// the hub has none active on its channel is added; a remote lift with a
// known time lifts the hub's suppressions of the channel created before
// it. An undated lift lifts nothing: in doubt the channel stays
// suppressed.
//
// Push: consent.changed and suppression.changed events of linked contacts
// write the hub's current state of the channel to the remote: its consent,
// and its newest active suppression or else a lift.

// pulledContact is a contact a pull wrote, by remote and hub id.
type pulledContact struct {
	ext   string
	local uuid.UUID
}

// remoteFatal reports whether a remote error ends the run rather than one
// record: a refused key, a remote still busy after the retries, or the
// run's context ending.
func remoteFatal(err error) bool {
	var auth *connectors.AuthError
	var rl *connectors.RateLimitError
	var tr *connectors.TransientError
	return errors.As(err, &auth) || errors.As(err, &rl) || errors.As(err, &tr) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// remoteItemFailed counts a record the remote rejected and lists why.
func (r *runner) remoteItemFailed(err error, ext string) {
	r.run.Stats.Failed++
	var ie connectors.ItemError
	var req *connectors.RequestError
	switch {
	case errors.As(err, &ie):
		r.addError(ie.Code, ie.Detail(), ext)
	case errors.As(err, &req):
		r.addError("REMOTE_REJECTED", fmt.Sprintf("HTTP %d %s: %s", req.Status, req.Code, req.Message), ext)
	default:
		r.addError("REMOTE_REJECTED", err.Error(), ext)
	}
}

// hubItemFailed counts a record the hub refused (EINVALID, ENOTFOUND) and
// reports true; any other error is the run's.
func (r *runner) hubItemFailed(err error, ext string) bool {
	code := crmhub.ErrorCode(err)
	if code != crmhub.EINVALID && code != crmhub.ENOTFOUND {
		return false
	}
	r.run.Stats.Failed++
	r.addError(code, err.Error(), ext)
	return true
}

func consentOf(list []*crmhub.Consent, ch crmhub.Channel) *crmhub.Consent {
	for _, c := range list {
		if c.Channel == ch {
			return c
		}
	}
	return nil
}

// activeSuppressions returns the suppressions of ch that apply at now,
// newest first as SuppressionsByContact lists them.
func activeSuppressions(list []*crmhub.Suppression, ch crmhub.Channel, now time.Time) []*crmhub.Suppression {
	var out []*crmhub.Suppression
	for _, s := range list {
		if s.Channel == ch && s.ActiveAt(now) {
			out = append(out, s)
		}
	}
	return out
}

// hubConsents reads the hub's current consents and the suppressions of
// contacts.
func (r *runner) hubConsents(ids []uuid.UUID) (map[uuid.UUID][]*crmhub.Consent, map[uuid.UUID][]*crmhub.Suppression, error) {
	have, err := r.e.Consents.ConsentsByContact(r.as, ids)
	if err != nil {
		return nil, nil, err
	}
	sups, err := r.e.Consents.SuppressionsByContact(r.as, ids)
	return have, sups, err
}

// pullConsents reads the remote consents and suppressions of the contacts
// a page wrote and applies those that differ. A dry run plans them.
func (r *runner) pullConsents(pulled []pulledContact) error {
	if r.consents == nil || len(pulled) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(pulled))
	for i, p := range pulled {
		ids[i] = p.local
	}
	have, sups, err := r.hubConsents(ids)
	if err != nil {
		return err
	}
	for _, p := range pulled {
		var consents []connectors.RemoteConsent
		var suppressions []connectors.RemoteSuppression
		err := r.call("read consents", func() (err error) {
			consents, err = r.consents.Consents(r.as, p.ext)
			return err
		})
		if err == nil {
			err = r.call("read suppressions", func() (err error) {
				suppressions, err = r.consents.Suppressions(r.as, p.ext)
				return err
			})
		}
		switch {
		case errors.Is(err, connectors.ErrUnsupported):
			continue
		case err != nil && remoteFatal(err):
			return err
		case err != nil:
			r.remoteItemFailed(err, p.ext)
			continue
		}
		if err := r.applyConsents(p, consents, have[p.local]); err != nil {
			return err
		}
		if err := r.applySuppressions(p, suppressions, sups[p.local]); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) applyConsents(p pulledContact, remote []connectors.RemoteConsent, have []*crmhub.Consent) error {
	now := time.Now()
	for _, rc := range remote {
		cur := consentOf(have, rc.Channel)
		at := rc.At
		if at != nil && at.After(now) {
			at = nil // a remote clock ahead of ours: the hub refuses future times
		}
		if cur != nil && (cur.Status == rc.Status || at != nil && !at.After(cur.At)) {
			continue
		}
		if r.run.DryRun {
			r.addPlan(crmhub.SyncContacts, "CONSENT", p.ext)
			continue
		}
		_, err := r.e.Consents.SetConsent(r.write, p.local, crmhub.ConsentInput{Channel: rc.Channel, Status: rc.Status,
			Source: rc.Source, Evidence: rc.Evidence, At: at})
		if err != nil && !r.hubItemFailed(err, p.ext) {
			return err
		}
	}
	return nil
}

func (r *runner) applySuppressions(p pulledContact, remote []connectors.RemoteSuppression, have []*crmhub.Suppression) error {
	now := time.Now()
	for _, rs := range remote {
		active := activeSuppressions(have, rs.Channel, now)
		var err error
		switch {
		case rs.ActiveAt(now) && len(active) == 0:
			if r.run.DryRun {
				r.addPlan(crmhub.SyncContacts, "SUPPRESS", p.ext)
				continue
			}
			reason := rs.Reason
			if reason == "" {
				reason = "suppressed in " + r.conn.Name
			}
			_, err = r.e.Consents.SuppressContact(r.write, p.local, crmhub.SuppressionInput{Channel: rs.Channel,
				Reason: reason, ExpiresAt: rs.ExpiresAt})
		case rs.LiftedAt != nil && !rs.LiftedAt.IsZero():
			for _, s := range active {
				if !rs.LiftedAt.After(s.CreatedAt) {
					continue // suppressed in the hub after the remote lifted it
				}
				if r.run.DryRun {
					r.addPlan(crmhub.SyncContacts, "LIFT_SUPPRESSION", p.ext)
					continue
				}
				if _, err = r.e.Consents.LiftSuppression(r.write, s.ID); err != nil {
					break
				}
			}
		}
		if err != nil && !r.hubItemFailed(err, p.ext) {
			return err
		}
	}
	return nil
}

// channelChanges collects, per contact in order of first mention, the
// channels whose consent or suppression changed in a push round.
type channelChanges struct {
	order        []uuid.UUID
	consents     map[uuid.UUID][]crmhub.Channel
	suppressions map[uuid.UUID][]crmhub.Channel
}

func (c *channelChanges) add(m map[uuid.UUID][]crmhub.Channel, id uuid.UUID, ch crmhub.Channel) {
	if _, ok := c.consents[id]; !ok {
		if _, ok := c.suppressions[id]; !ok {
			c.order = append(c.order, id)
		}
	}
	for _, x := range m[id] {
		if x == ch {
			return
		}
	}
	m[id] = append(m[id], ch)
}

// pushConsents writes to the remote the hub's current consent and
// suppression state of the channels that changed, for linked contacts.
func (r *runner) pushConsents(cc *channelChanges) error {
	if r.consents == nil || len(cc.order) == 0 {
		return nil
	}
	links, err := r.e.Store.LinksByLocal(r.as, r.ws, r.conn.ID, crmhub.SyncContacts, cc.order)
	if err != nil || len(links) == 0 {
		return err
	}
	var linked []uuid.UUID
	for _, id := range cc.order {
		if _, ok := links[id]; ok {
			linked = append(linked, id)
		}
	}
	have, sups, err := r.hubConsents(linked)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, id := range linked {
		ext := links[id].ExternalID
		for _, ch := range cc.consents[id] {
			c := consentOf(have[id], ch)
			if c == nil {
				continue
			}
			at := c.At
			in := crmhub.ConsentInput{Channel: ch, Status: c.Status, Source: c.Source, Evidence: c.Evidence, At: &at}
			if err := r.pushOne("CONSENT", ext, func() error {
				_, err := r.consents.SetConsent(r.as, ext, in)
				return err
			}); err != nil {
				return err
			}
		}
		for _, ch := range cc.suppressions[id] {
			action, write := "LIFT_SUPPRESSION", func() error {
				_, err := r.consents.LiftSuppression(r.as, ext, ch)
				return err
			}
			if active := activeSuppressions(sups[id], ch, now); len(active) > 0 {
				in := crmhub.SuppressionInput{Channel: ch, Reason: active[0].Reason, ExpiresAt: active[0].ExpiresAt}
				action, write = "SUPPRESS", func() error {
					_, err := r.consents.Suppress(r.as, ext, in)
					return err
				}
			}
			if err := r.pushOne(action, ext, write); err != nil {
				return err
			}
		}
	}
	return nil
}

// pushOne makes one remote write of a contact's consent or suppression,
// or plans it in a dry run. A record the remote rejects fails alone.
func (r *runner) pushOne(action, ext string, write func() error) error {
	if r.run.DryRun {
		r.run.Stats.Pushed++
		r.addPlan(crmhub.SyncContacts, action, ext)
		return nil
	}
	err := r.call("push "+action, write)
	switch {
	case err == nil:
		r.run.Stats.Pushed++
	case remoteFatal(err):
		return err
	default:
		r.remoteItemFailed(err, ext)
	}
	return nil
}
