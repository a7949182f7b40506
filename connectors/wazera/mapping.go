package wazera

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
)

// CustomFieldExternalID is the custom field in which the connector keeps
// the hub's id of a contact it created. Wazera assigns its own ids on
// POST and the Connector interface has no way to report them, so a
// contact the hub pushed is read back under the id the hub gave it.
const CustomFieldExternalID = "crmhub_id"

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
//   - tags and custom_fields map one to one; CustomFieldExternalID is not
//     shown to the hub as a custom field.
//   - An empty name, phone or email read from Wazera is nil; one the hub
//     does not have is sent as null, so that an update clears it.

// contactFromWire converts a Wazera contact to the domain's RemoteContact.
func contactFromWire(w Contact) connectors.RemoteContact {
	rc := connectors.RemoteContact{
		ExternalID: externalID(w),
		Name:       nonEmpty(deref(w.Name)),
		Tags:       slices.Clone([]string(w.Tags)),
	}
	if p := strings.TrimSpace(deref(w.Phone)); p != "" {
		rc.Identifiers = append(rc.Identifiers, crmhub.Identifier{Type: crmhub.IdentityWhatsApp, Value: e164(p)})
	}
	if e := strings.TrimSpace(deref(w.Email)); e != "" {
		rc.Identifiers = append(rc.Identifiers, crmhub.Identifier{Type: crmhub.IdentityEmail, Value: e})
	}
	if len(w.CustomFields) > 0 {
		rc.CustomFields = maps.Clone(w.CustomFields)
		delete(rc.CustomFields, CustomFieldExternalID)
		if len(rc.CustomFields) == 0 {
			rc.CustomFields = nil
		}
	}
	if len(rc.Tags) == 0 {
		rc.Tags = nil
	}
	rc.UpdatedAt = parseTime(w.UpdatedAt)
	return rc
}

// externalID is the id the hub knows a Wazera contact by: the hub's own id
// when the connector created it, else Wazera's id.
func externalID(w Contact) string {
	switch v := w.CustomFields[CustomFieldExternalID].(type) {
	case string:
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	case float64, json.Number:
		return fmt.Sprint(v)
	}
	return string(w.ID)
}

// contactToWire converts a RemoteContact to the Wazera contact to send.
// carryID keeps rc.ExternalID in CustomFieldExternalID: it is set when the
// record's Wazera id is not its external id.
func contactToWire(rc connectors.RemoteContact, carryID bool) Contact {
	w := Contact{
		Name:         nonEmpty(strings.TrimSpace(deref(rc.Name))),
		Tags:         Tags(slices.Clone(rc.Tags)),
		CustomFields: maps.Clone(rc.CustomFields),
	}
	if w.Tags == nil {
		w.Tags = Tags{}
	}
	if w.CustomFields == nil {
		w.CustomFields = map[string]any{}
	}
	delete(w.CustomFields, CustomFieldExternalID)
	if carryID && rc.ExternalID != "" {
		w.CustomFields[CustomFieldExternalID] = rc.ExternalID
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

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
