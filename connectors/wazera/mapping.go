package wazera

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/opt"
)

// This file converts between the wire Contact and connectors.RemoteContact,
// both ways, without I/O. Where the document leaves room:
//
//   - phone is the contact's WhatsApp number (Wazera sends WhatsApp
//     messages "to" it): it is read as a WHATSAPP identifier in E.164. On
//     the way out the first WHATSAPP identifier is sent, else the first
//     WA_ID, else the first PHONE; the others have no place on Wazera.
//   - email is an EMAIL identifier; only the first one is sent.
//   - TELEGRAM, INSTAGRAM, VK, EXTERNAL_ID and CONTACT_ID identifiers, the
//     uri and the responsible user have no field on Wazera: not sent, and
//     read back empty.
//   - tags and custom_fields map one to one.
//   - The ExternalID is Wazera's id, both ways.
//   - An empty name, phone or email read from Wazera is nil; one the hub
//     does not have is sent as null, so that an update clears it.

// contactFromWire converts a Wazera contact to the domain's RemoteContact.
func contactFromWire(w Contact) connectors.RemoteContact {
	rc := connectors.RemoteContact{
		ExternalID: string(w.ID),
		Name:       opt.NonEmpty(opt.Deref(w.Name)),
		Tags:       slices.Clone([]string(w.Tags)),
	}
	if p := strings.TrimSpace(opt.Deref(w.Phone)); p != "" {
		rc.Identifiers = append(rc.Identifiers, crmhub.Identifier{Type: crmhub.IdentityWhatsApp, Value: e164(p)})
	}
	if e := strings.TrimSpace(opt.Deref(w.Email)); e != "" {
		rc.Identifiers = append(rc.Identifiers, crmhub.Identifier{Type: crmhub.IdentityEmail, Value: e})
	}
	if len(w.CustomFields) > 0 {
		rc.CustomFields = maps.Clone(w.CustomFields)
	}
	if len(rc.Tags) == 0 {
		rc.Tags = nil
	}
	rc.UpdatedAt = parseTime(w.UpdatedAt)
	return rc
}

// contactToWire converts a RemoteContact to the Wazera contact to send,
// without its id (which goes in the path, or is Wazera's to choose).
func contactToWire(rc connectors.RemoteContact) Contact {
	w := Contact{
		Name:         opt.NonEmpty(strings.TrimSpace(opt.Deref(rc.Name))),
		Tags:         Tags(slices.Clone(rc.Tags)),
		CustomFields: maps.Clone(rc.CustomFields),
	}
	if w.Tags == nil {
		w.Tags = Tags{}
	}
	if w.CustomFields == nil {
		w.CustomFields = map[string]any{}
	}
	if p := firstOf(rc.Identifiers, crmhub.IdentityWhatsApp, crmhub.IdentityWAID, crmhub.IdentityPhone); p != "" {
		w.Phone = &p
	}
	if e := firstOf(rc.Identifiers, crmhub.IdentityEmail); e != "" {
		w.Email = &e
	}
	return w
}

// firstOf returns the value of the first identifier of the first type in
// types that ids hold, normalized when it can be (phones in E.164).
func firstOf(ids []crmhub.Identifier, types ...crmhub.IdentityType) string {
	for _, t := range types {
		for _, id := range ids {
			if id.Type != t || strings.TrimSpace(id.Value) == "" {
				continue
			}
			if n, err := id.Normalize(); err == nil {
				return n.Value
			}
			if t.IsPhoneLike() {
				return e164(id.Value)
			}
			return strings.TrimSpace(id.Value)
		}
	}
	return ""
}

// e164 writes a phone as "+" and its digits.
func e164(s string) string {
	d := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
	if d == "" {
		return ""
	}
	return "+" + d
}

// parseTime reads an RFC 3339 time or Laravel's "2006-01-02 15:04:05"
// (taken as UTC); nil when empty or unreadable.
func parseTime(s string) *time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, time.DateTime} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t
		}
	}
	return nil
}
