package wazapin

import (
	"context"
	"fmt"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
)

// The Connector implements the optional connectors.ConsentSyncer and
// connectors.NoteSyncer with the methods below, through which the sync
// engine carries consents and suppressions; Tags and AddTags are extras
// outside any interface. Each takes the contact's ExternalID as the sync
// engine links it and returns the typed errors of package connectors; a
// contact Wazapin does not have is a *connectors.RequestError with Status
// 404 (IsNotFound).
var (
	_ connectors.ConsentSyncer = (*Connector)(nil)
	_ connectors.NoteSyncer    = (*Connector)(nil)
)

// onContact finds the Wazapin id of the contact the hub knows as
// externalID and calls call with it.
func onContact[T any](ctx context.Context, c *Connector, externalID string, call func(id string) (T, error)) (T, error) {
	id, err := c.contactID(ctx, externalID)
	if err != nil {
		var zero T
		return zero, err
	}
	return call(id)
}

// convert maps rows with conv, leaving out those it refuses.
func convert[W, R any](rows []W, conv func(W) (R, bool)) []R {
	out := make([]R, 0, len(rows))
	for _, w := range rows {
		if r, ok := conv(w); ok {
			out = append(out, r)
		}
	}
	return out
}

// SetConsent sets the consent of one channel of the contact with PUT
// /v1/contacts/{id}/consent/{channel}.
func (c *Connector) SetConsent(ctx context.Context, externalID string, in crmhub.ConsentInput) (connectors.RemoteConsent, error) {
	if !in.Channel.Valid() {
		return connectors.RemoteConsent{}, fmt.Errorf("wazapin: setting consent: unknown channel %q", in.Channel)
	}
	return onContact(ctx, c, externalID, func(id string) (connectors.RemoteConsent, error) {
		w, err := c.client.SetConsent(ctx, id, channelToWire(in.Channel), consentInput(in))
		if err != nil {
			return connectors.RemoteConsent{}, err
		}
		if w.Channel == "" {
			w.Channel = channelToWire(in.Channel)
		}
		rc, ok := consentFromWireRow(w)
		if !ok {
			return connectors.RemoteConsent{}, fmt.Errorf("wazapin: setting consent: the remote answered status %q", w.Status)
		}
		return rc, nil
	})
}

// Consents returns the contact's consent per channel. Rows of a channel or
// status the hub does not know are left out.
func (c *Connector) Consents(ctx context.Context, externalID string) ([]connectors.RemoteConsent, error) {
	return onContact(ctx, c, externalID, func(id string) ([]connectors.RemoteConsent, error) {
		rows, err := c.client.Consents(ctx, id)
		return convert(rows, consentFromWireRow), err
	})
}

// Suppressions returns the contact's suppressions, lifted ones included
// (LiftedAt set). Those of a channel the hub does not know are left out.
func (c *Connector) Suppressions(ctx context.Context, externalID string) ([]connectors.RemoteSuppression, error) {
	return onContact(ctx, c, externalID, func(id string) ([]connectors.RemoteSuppression, error) {
		rows, err := c.client.Suppressions(ctx, id)
		return convert(rows, suppressionFromWire), err
	})
}

// Suppress suppresses a channel of the contact, or updates (and
// reactivates) the channel's existing suppression.
func (c *Connector) Suppress(ctx context.Context, externalID string, in crmhub.SuppressionInput) (connectors.RemoteSuppression, error) {
	var reason *string
	if in.Reason != "" {
		reason = &in.Reason
	}
	return c.writeSuppression(ctx, externalID, in.Channel, SuppressionInput{Reason: reason, ExpiresAt: in.ExpiresAt, Active: true})
}

// LiftSuppression lifts the suppression of a channel of the contact. The
// document has no lift route: it is a create-or-update with "active"
// false.
func (c *Connector) LiftSuppression(ctx context.Context, externalID string, channel crmhub.Channel) (connectors.RemoteSuppression, error) {
	return c.writeSuppression(ctx, externalID, channel, SuppressionInput{Active: false})
}

func (c *Connector) writeSuppression(ctx context.Context, externalID string, ch crmhub.Channel, in SuppressionInput) (connectors.RemoteSuppression, error) {
	if !ch.Valid() {
		return connectors.RemoteSuppression{}, fmt.Errorf("wazapin: writing a suppression: unknown channel %q", ch)
	}
	in.Channel = channelToWire(ch)
	return onContact(ctx, c, externalID, func(id string) (connectors.RemoteSuppression, error) {
		w, err := c.client.UpsertSuppression(ctx, id, in)
		if err != nil {
			return connectors.RemoteSuppression{}, err
		}
		s, ok := suppressionFromWire(w)
		if !ok {
			return connectors.RemoteSuppression{}, fmt.Errorf("wazapin: writing a suppression: the remote answered channel %q", w.Channel)
		}
		return s, nil
	})
}

// Notes returns the contact's notes in the remote's order.
func (c *Connector) Notes(ctx context.Context, externalID string) ([]connectors.RemoteNote, error) {
	return onContact(ctx, c, externalID, func(id string) ([]connectors.RemoteNote, error) {
		rows, err := c.client.Notes(ctx, id)
		return convert(rows, func(w Note) (connectors.RemoteNote, bool) { return noteFromWire(w), true }), err
	})
}

// AddNote adds a note to the contact.
func (c *Connector) AddNote(ctx context.Context, externalID, text string) (connectors.RemoteNote, error) {
	return onContact(ctx, c, externalID, func(id string) (connectors.RemoteNote, error) {
		w, err := c.client.CreateNote(ctx, id, text)
		return noteFromWire(w), err
	})
}

// Tags returns the names of the contact's tags.
func (c *Connector) Tags(ctx context.Context, externalID string) ([]string, error) {
	return onContact(ctx, c, externalID, func(id string) ([]string, error) {
		rows, err := c.client.Tags(ctx, id)
		return convert(rows, func(t Tag) (string, bool) { return t.Name, t.Name != "" }), err
	})
}

// AddTags assigns the tags the contact lacks; there is no route to remove
// one.
func (c *Connector) AddTags(ctx context.Context, externalID string, tags []string) error {
	_, err := onContact(ctx, c, externalID, func(id string) (struct{}, error) {
		have, err := c.client.Tags(ctx, id)
		if err == nil {
			err = c.assignTags(ctx, id, have, tags)
		}
		return struct{}{}, err
	})
	return err
}
