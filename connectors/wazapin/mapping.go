package wazapin

import (
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/opt"
)

// ExternalSource is the external_source under which the connector creates
// contacts in Wazapin, with the hub record's ExternalID as external_id.
const ExternalSource = "crmhub"

// MaxResolveIdentifiers bounds the identifiers one resolve request
// carries; the document gives no limit, so the connector keeps to the
// hub's own limit per contact.
const MaxResolveIdentifiers = crmhub.MaxIdentifiers

// identityTypes maps wire identity types to the hub's. contact_id is not
// an identity: resolve takes it, the identities route never lists it.
var identityTypes = map[string]crmhub.IdentityType{
	IdentifierPhone:      crmhub.IdentityPhone,
	IdentifierWhatsApp:   crmhub.IdentityWhatsApp,
	IdentifierWAID:       crmhub.IdentityWAID,
	IdentifierEmail:      crmhub.IdentityEmail,
	IdentifierExternalID: crmhub.IdentityExternalID,
	IdentifierTelegram:   crmhub.IdentityTelegram,
	IdentifierInstagram:  crmhub.IdentityInstagram,
	IdentifierVK:         crmhub.IdentityVK,
}

// resolvable maps the hub types resolve accepts to their wire names.
var resolvable = map[crmhub.IdentityType]string{
	crmhub.IdentityPhone:      IdentifierPhone,
	crmhub.IdentityWhatsApp:   IdentifierWhatsApp,
	crmhub.IdentityWAID:       IdentifierWAID,
	crmhub.IdentityEmail:      IdentifierEmail,
	crmhub.IdentityExternalID: IdentifierExternalID,
}

// externalIDOf is the ExternalID the hub knows a Wazapin contact by: the
// external_id of a contact the connector created (external_source
// "crmhub"), which is the id the hub pushed it under, else Wazapin's id.
// Both kinds are accepted wherever the connector takes an ExternalID.
func externalIDOf(c Contact) string {
	if c.ExternalSource == ExternalSource && c.ExternalID != "" {
		return c.ExternalID
	}
	return c.ID
}

// contactFromWire converts a contact and its identities and tags. The
// phone_number and email fields count as identities even when the
// identities route does not repeat them; identities are listed once. The
// crmhub external id is the record's ExternalID, not an identifier; other
// sources' external ids are EXTERNAL_ID identifiers with their source.
func contactFromWire(c Contact, idents []Identity, tags []Tag) connectors.RemoteContact {
	rc := connectors.RemoteContact{
		ExternalID:   externalIDOf(c),
		Name:         c.Name,
		CustomFields: c.CustomFields,
		UpdatedAt:    c.UpdatedAt.ptr(),
	}
	all := make([]Identity, 0, len(idents)+3)
	if c.PhoneNumber != "" {
		all = append(all, Identity{Type: IdentifierPhone, Value: c.PhoneNumber})
	}
	if c.Email != "" {
		all = append(all, Identity{Type: IdentifierEmail, Value: c.Email})
	}
	if c.ExternalID != "" {
		all = append(all, Identity{Type: IdentifierExternalID, Value: c.ExternalID, Source: c.ExternalSource})
	}
	seen := map[crmhub.MatchKey]bool{}
	for _, w := range append(all, idents...) {
		id, ok := identityFromWire(w)
		if !ok {
			continue
		}
		key := id.MatchKey()
		if n, err := id.Normalize(); err == nil {
			key = n.MatchKey()
			key.Class = string(n.Type) // a phone and a WhatsApp number stay two identifiers
		}
		if !seen[key] {
			seen[key] = true
			rc.Identifiers = append(rc.Identifiers, id)
		}
	}
	for _, t := range tags {
		if name := strings.TrimSpace(t.Name); name != "" {
			rc.Tags = append(rc.Tags, name)
		}
	}
	return rc
}

// identityFromWire converts one identity; ok is false for types the hub
// does not know and for the connector's own external id.
func identityFromWire(w Identity) (crmhub.Identifier, bool) {
	typ, ok := identityTypes[strings.ToLower(strings.TrimSpace(w.Type))]
	if !ok || strings.TrimSpace(w.Value) == "" {
		return crmhub.Identifier{}, false
	}
	if typ == crmhub.IdentityExternalID && (w.Source == "" || w.Source == ExternalSource) {
		return crmhub.Identifier{}, false
	}
	id := crmhub.Identifier{Type: typ, Value: w.Value}
	if typ == crmhub.IdentityExternalID {
		id.Source = w.Source
	}
	return id, true
}

// contactInput is the body that writes rc's fields: the first phone-like
// identifier (PHONE before WHATSAPP before WA_ID) as phone_number in
// E.164, the first EMAIL as email, name and custom fields. Fields rc does
// not carry are not sent, so a push never clears them at the remote.
func contactInput(rc connectors.RemoteContact) ContactInput {
	in := ContactInput{Name: rc.Name, CustomFields: rc.CustomFields}
	for _, typ := range []crmhub.IdentityType{crmhub.IdentityPhone, crmhub.IdentityWhatsApp, crmhub.IdentityWAID} {
		if v, ok := first(rc.Identifiers, typ); ok && in.PhoneNumber == nil {
			if p, err := crmhub.NormalizePhone(v); err == nil {
				v = p
			}
			in.PhoneNumber = &v
		}
	}
	if v, ok := first(rc.Identifiers, crmhub.IdentityEmail); ok {
		v = strings.ToLower(strings.TrimSpace(v))
		in.Email = &v
	}
	return in
}

func first(ids []crmhub.Identifier, typ crmhub.IdentityType) (string, bool) {
	for _, id := range ids {
		if id.Type == typ && strings.TrimSpace(id.Value) != "" {
			return id.Value, true
		}
	}
	return "", false
}

// resolveIdentities are the identifiers that find rc at the remote: its
// ExternalID as the crmhub external id and as a Wazapin contact id (it is
// one for records first pulled from Wazapin), then every identifier of a
// type resolve accepts, up to MaxResolveIdentifiers in all. Telegram,
// Instagram and VK cannot be resolved and are left out.
func resolveIdentities(rc connectors.RemoteContact) []Identity {
	var out []Identity
	seen := map[Identity]bool{}
	add := func(w Identity) {
		if !seen[w] && len(out) < MaxResolveIdentifiers {
			seen[w] = true
			out = append(out, w)
		}
	}
	if ext := strings.TrimSpace(rc.ExternalID); ext != "" {
		add(Identity{Type: IdentifierExternalID, Source: ExternalSource, Value: ext})
		add(Identity{Type: IdentifierContactID, Value: ext})
	}
	for _, id := range rc.Identifiers {
		typ, ok := resolvable[id.Type]
		if !ok || strings.TrimSpace(id.Value) == "" || (id.Type == crmhub.IdentityExternalID && id.Source == "") {
			continue
		}
		if n, err := id.Normalize(); err == nil {
			id = n
		}
		w := Identity{Type: typ, Value: id.Value}
		if id.Type == crmhub.IdentityExternalID {
			w.Source = id.Source
		}
		add(w)
	}
	return out
}

// channelToWire is the lower-case channel name of the consent and
// suppression routes.
func channelToWire(c crmhub.Channel) string { return strings.ToLower(string(c)) }

// channelFromWire reads a channel name; ok is false for one the hub does
// not know.
func channelFromWire(s string) (crmhub.Channel, bool) {
	c := crmhub.Channel(strings.ToUpper(strings.TrimSpace(s)))
	return c, c.Valid()
}

// consentToWire spells a hub consent status as assumed on the wire.
func consentToWire(s crmhub.ConsentStatus) string {
	switch s {
	case crmhub.ConsentOptedIn:
		return ConsentOptedIn
	case crmhub.ConsentOptedOut:
		return ConsentOptedOut
	}
	return ConsentPending
}

// consentFromWire reads a consent status, accepting the usual synonyms;
// ok is false for an unknown word.
func consentFromWire(s string) (crmhub.ConsentStatus, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case ConsentOptedIn, "granted", "subscribed", "opt_in", "optin":
		return crmhub.ConsentOptedIn, true
	case ConsentOptedOut, "revoked", "denied", "unsubscribed", "opt_out", "optout":
		return crmhub.ConsentOptedOut, true
	case ConsentPending, "unknown":
		return crmhub.ConsentPending, true
	}
	return "", false
}

func consentFromWireRow(w Consent) (connectors.RemoteConsent, bool) {
	ch, ok1 := channelFromWire(w.Channel)
	st, ok2 := consentFromWire(w.Status)
	if !ok1 || !ok2 {
		return connectors.RemoteConsent{}, false
	}
	rc := connectors.RemoteConsent{Channel: ch, Status: st, Source: opt.NonEmpty(w.Source), Evidence: opt.NonEmpty(w.Evidence), At: w.CapturedAt}
	if rc.At == nil {
		rc.At = w.UpdatedAt.ptr()
	}
	return rc, true
}

// consentInput is the PUT body for in.
func consentInput(in crmhub.ConsentInput) Consent {
	return Consent{Status: consentToWire(in.Status), Source: opt.Deref(in.Source), Evidence: opt.Deref(in.Evidence), CapturedAt: in.At}
}

func suppressionFromWire(w Suppression) (connectors.RemoteSuppression, bool) {
	ch, ok := channelFromWire(w.Channel)
	if !ok {
		return connectors.RemoteSuppression{}, false
	}
	s := connectors.RemoteSuppression{ExternalID: w.ID, Channel: ch, Reason: w.Reason, CreatedAt: w.CreatedAt.ptr(),
		ExpiresAt: w.ExpiresAt, LiftedAt: w.LiftedAt}
	if !w.Active && s.LiftedAt == nil {
		s.LiftedAt = &time.Time{}
	}
	return s, true
}

func noteFromWire(w Note) connectors.RemoteNote {
	return connectors.RemoteNote{ExternalID: w.ID, Text: w.Content, CreatedAt: w.CreatedAt.ptr()}
}
