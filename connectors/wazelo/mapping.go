package wazelo

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/opt"
)

// This file converts between wire values and domain values, without I/O.
//
// A Wazelo contact has one phone, its WhatsApp number, and one email. The
// phone reads as a WHATSAPP identifier in E.164 ("+919876543210"); going
// out, the first WHATSAPP identifier wins, then WA_ID, then PHONE, and
// only its digits are sent. Further phone-like identifiers and emails have
// no place on the remote and are dropped. The hub matches PHONE, WHATSAPP
// and WA_ID of one number as one identity, so reading a pushed PHONE back
// as WHATSAPP loses nothing. Other identifier types are not sent.
//
// Tags and custom fields go both ways as they are; a nil list or map is
// sent as empty so an update replaces the remote's. Empty names and emails
// read as nil; nil ones are sent as null, which clears them on update.

// contactFromWire converts a Wazelo contact to the domain's RemoteContact.
func contactFromWire(c Contact) connectors.RemoteContact {
	rc := connectors.RemoteContact{
		ExternalID:   c.ID,
		Name:         nonEmpty(c.Name),
		Tags:         c.Tags,
		CustomFields: c.CustomFields,
		UpdatedAt:    c.UpdatedAt,
	}
	if p := e164(opt.Deref(c.Phone)); p != "" {
		rc.Identifiers = append(rc.Identifiers, crmhub.Identifier{Type: crmhub.IdentityWhatsApp, Value: p})
	}
	if e := strings.TrimSpace(opt.Deref(c.Email)); e != "" {
		rc.Identifiers = append(rc.Identifiers, crmhub.Identifier{Type: crmhub.IdentityEmail, Value: e})
	}
	return rc
}

// contactToWire converts a RemoteContact to the fields to send. The id is
// left to the caller; Phone is nil when the record has no phone-like
// identifier.
func contactToWire(rc connectors.RemoteContact) Contact {
	c := Contact{
		Name:         nonEmpty(rc.Name),
		Tags:         rc.Tags,
		CustomFields: rc.CustomFields,
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	if c.CustomFields == nil {
		c.CustomFields = map[string]any{}
	} else {
		c.CustomFields = maps.Clone(c.CustomFields)
	}
	if p := phoneOf(rc.Identifiers); p != "" {
		c.Phone = &p
	}
	for _, id := range rc.Identifiers {
		if v := strings.TrimSpace(id.Value); id.Type == crmhub.IdentityEmail && v != "" {
			c.Email = &v
			break
		}
	}
	return c
}

// phoneOf returns the digits of the identifier that becomes the contact's
// phone: the first WHATSAPP, else WA_ID, else PHONE; "" when none.
func phoneOf(ids []crmhub.Identifier) string {
	for _, t := range []crmhub.IdentityType{crmhub.IdentityWhatsApp, crmhub.IdentityWAID, crmhub.IdentityPhone} {
		i := slices.IndexFunc(ids, func(id crmhub.Identifier) bool { return id.Type == t && digits(id.Value) != "" })
		if i >= 0 {
			return digits(ids[i].Value)
		}
	}
	return ""
}

// e164 writes a number Wazelo keeps as digits in the hub's E.164 form.
func e164(s string) string {
	if d := digits(s); d != "" {
		return "+" + d
	}
	return ""
}

// digits keeps the digits of a phone number, dropping "+", spaces and
// punctuation, as Wazelo wants them.
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func nonEmpty(p *string) *string {
	if p == nil || strings.TrimSpace(*p) == "" {
		return nil
	}
	s := *p
	return &s
}

// sendRequest converts an outbound message to the body of POST /messages.
// A type Wazelo cannot carry is refused with a *crmhub.SendError without a
// request.
func sendRequest(m crmhub.OutboundMessage) (SendMessageRequest, error) {
	msg := m.Message
	req := SendMessageRequest{To: digits(m.ChatID), Text: opt.Deref(msg.Text), ReplyTo: opt.Deref(m.ReplyToExtID)}
	switch {
	case msg.Type == crmhub.MessageText:
		req.Type = TypeText
	case msg.Type.IsMedia():
		req.Type = strings.ToLower(string(msg.Type))
		req.MediaURL = opt.Deref(msg.ContentURL)
	case msg.Type == crmhub.MessageTemplate:
		req.Type = TypeTemplate
		if t := msg.Template; t != nil {
			req.Template = &Template{Name: t.Name, Language: t.Language, Components: t.Components}
		}
	default:
		return req, &crmhub.SendError{Code: CodeUnsupportedType, Message: fmt.Sprintf("Wazelo cannot send a %s message", msg.Type)}
	}
	return req, nil
}

// messageTypeFromWire maps a webhook's message type to the domain's. A type
// the document does not show is read as TEXT when it carries text and as
// DOCUMENT when it carries only a file.
func messageTypeFromWire(t string, hasText bool) crmhub.MessageType {
	switch strings.ToLower(t) {
	case TypeText, "":
		return crmhub.MessageText
	case TypeImage, "sticker":
		return crmhub.MessageImage
	case TypeAudio, "voice":
		return crmhub.MessageAudio
	case TypeVideo:
		return crmhub.MessageVideo
	case TypeDocument, "file":
		return crmhub.MessageDocument
	case TypeTemplate:
		return crmhub.MessageTemplate
	}
	if hasText {
		return crmhub.MessageText
	}
	return crmhub.MessageDocument
}
