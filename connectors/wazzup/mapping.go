package wazzup

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/opt"
)

// This file converts between the wire types and the connectors.Remote*
// domain values, both ways, without I/O. Where the documents leave room,
// it reads them as follows.
//
// Contacts (contactData <-> identifiers):
//
//   - whatsapp: chatId is the phone's digits without "+"; it becomes a
//     WHATSAPP identifier in E.164 ("+79991114433") and is written back as
//     digits. WA_ID identifiers are written as whatsapp too.
//   - telegram: username becomes a TELEGRAM identifier, phone a PHONE
//     identifier in E.164, a chatId made only of digits a TELEGRAM
//     identifier (the numeric Telegram id). A chatId with other characters
//     is Wazzup's own handle, not something the hub can match, and is
//     dropped. An entry that gives a phone and nothing else also yields a
//     TELEGRAM identifier holding that phone ("+7999..."), so that the hub
//     knows the contact is on Telegram. Going back, TELEGRAM identifiers
//     fill the chatId (digits), username (other text) or phone ("+"
//     number) of telegram entries, and PHONE identifiers fill the phone of
//     a telegram entry that has none. A PHONE with no telegram entry to
//     carry it is not sent: Wazzup has no chat type for a bare phone.
//   - instagram: chatId is the account without "@"; INSTAGRAM identifier.
//   - vk: chatId as is; VK identifier.
//   - Other chat types (whatsgroup, and any the documents do not name) are
//     skipped: they identify a group or something the hub has no type for.
//     EMAIL, EXTERNAL_ID and CONTACT_ID identifiers are not sent.
//   - name is required by Wazzup. A record without one is sent with its
//     first chat's id as name, as Wazzup itself does for contacts it
//     creates from a chat (wazzup-v2.txt, iframe). An empty name or uri
//     read from Wazzup is nil.
//   - Tags and custom fields have no place on Wazzup and are not sent.
//
// Deals (v2): the id is a number on Wazzup, so a RemoteDeal whose
// ExternalID is not an integer cannot be sent (errDealID); the sync engine
// gives a hub deal one through NewDealIDs (deal_ids.go) before its first
// push. "closed" is
// the only state Wazzup keeps and it does not say won or lost: closed is
// read as WON and open as OPEN; WON and LOST are both written as closed.
// A LOST deal therefore reads back as WON. The v2 deal has no uri, amount,
// currency or stage: they are not sent and read back nil.
//
// Users (v2): id and name; the document has no email or phone.

// contactFromWire converts a Wazzup contact to the domain's RemoteContact.
func contactFromWire(c Contact) connectors.RemoteContact {
	return connectors.RemoteContact{
		ExternalID:                string(c.ID),
		Name:                      opt.NonEmpty(c.Name),
		URI:                       opt.NonEmpty(c.URI),
		ResponsibleUserExternalID: opt.NonEmpty(string(c.ResponsibleUserID)),
		Identifiers:               identifiersFromWire(c.ContactData),
	}
}

// contactToWire converts a RemoteContact to the Wazzup contact to send.
// defaultResponsible is used when the record names no responsible user;
// when both are empty the field is sent empty and Wazzup refuses the
// record.
func contactToWire(rc connectors.RemoteContact, defaultResponsible string) Contact {
	c := Contact{
		ID:                ID(rc.ExternalID),
		ResponsibleUserID: ID(defaultResponsible),
		ContactData:       contactDataToWire(rc.Identifiers),
	}
	if v := opt.Deref(rc.ResponsibleUserExternalID); v != "" {
		c.ResponsibleUserID = ID(v)
	}
	c.URI = opt.Deref(rc.URI)
	c.Name = opt.Deref(rc.Name)
	if c.Name == "" && len(c.ContactData) > 0 {
		cd := c.ContactData[0]
		c.Name = firstNonEmpty(string(cd.ChatID), cd.Username, cd.Phone)
	}
	return c
}

// identifiersFromWire turns contactData entries into identifiers, in
// entry order, skipping chat types the hub has no identity for and exact
// duplicates.
func identifiersFromWire(data []ContactData) []crmhub.Identifier {
	var out []crmhub.Identifier
	add := func(t crmhub.IdentityType, v string) {
		id := crmhub.Identifier{Type: t, Value: v}
		if v != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	for _, cd := range data {
		chatID := strings.TrimSpace(string(cd.ChatID))
		switch cd.ChatType {
		case ChatWhatsApp:
			add(crmhub.IdentityWhatsApp, e164(chatID))
		case ChatTelegram:
			username := strings.TrimPrefix(strings.TrimSpace(cd.Username), "@")
			phone := e164(strings.TrimSpace(cd.Phone))
			numeric := ""
			if isDigits(chatID) {
				numeric = chatID
			}
			add(crmhub.IdentityTelegram, numeric)
			add(crmhub.IdentityTelegram, username)
			if numeric == "" && username == "" {
				add(crmhub.IdentityTelegram, phone)
			}
			add(crmhub.IdentityPhone, phone)
		case ChatInstagram:
			add(crmhub.IdentityInstagram, strings.TrimPrefix(chatID, "@"))
		case ChatVK:
			add(crmhub.IdentityVK, chatID)
		}
	}
	return out
}

// contactDataToWire turns identifiers into contactData entries, in the
// order their first identifier comes, dropping exact duplicates.
func contactDataToWire(ids []crmhub.Identifier) []ContactData {
	var out []ContactData
	var telegram []int // indexes in out of the telegram entries
	// fillTelegram puts v into the first telegram entry whose field (got
	// by slot) is empty, or into a new entry when create is set.
	fillTelegram := func(slot func(*ContactData) *string, v string, create bool) {
		for _, i := range telegram {
			if p := slot(&out[i]); *p == v {
				return // already carried
			}
		}
		for _, i := range telegram {
			if p := slot(&out[i]); *p == "" {
				*p = v
				return
			}
		}
		if create {
			cd := ContactData{ChatType: ChatTelegram}
			*slot(&cd) = v
			telegram = append(telegram, len(out))
			out = append(out, cd)
		}
	}
	chatIDSlot := func(cd *ContactData) *string { return (*string)(&cd.ChatID) }
	usernameSlot := func(cd *ContactData) *string { return &cd.Username }
	phoneSlot := func(cd *ContactData) *string { return &cd.Phone }

	var phones []string
	for _, id := range ids {
		v := strings.TrimSpace(id.Value)
		if v == "" {
			continue
		}
		switch id.Type {
		case crmhub.IdentityWhatsApp, crmhub.IdentityWAID:
			out = append(out, ContactData{ChatType: ChatWhatsApp, ChatID: ID(digits(v))})
		case crmhub.IdentityInstagram:
			out = append(out, ContactData{ChatType: ChatInstagram, ChatID: ID(strings.TrimPrefix(v, "@"))})
		case crmhub.IdentityVK:
			out = append(out, ContactData{ChatType: ChatVK, ChatID: ID(v)})
		case crmhub.IdentityTelegram:
			switch {
			case strings.HasPrefix(v, "+"):
				fillTelegram(phoneSlot, digits(v), true)
			case isDigits(v):
				fillTelegram(chatIDSlot, v, true)
			default:
				fillTelegram(usernameSlot, strings.TrimPrefix(v, "@"), true)
			}
		case crmhub.IdentityPhone:
			phones = append(phones, digits(v))
		}
	}
	// Phones go last, so that they join the telegram entries whatever the
	// order of the identifiers.
	for _, p := range phones {
		fillTelegram(phoneSlot, p, false)
	}
	return dedupe(out)
}

// dedupe drops entries equal to an earlier one, keeping the order.
func dedupe(data []ContactData) []ContactData {
	out := data[:0]
	for _, cd := range data {
		if !slices.Contains(out, cd) {
			out = append(out, cd)
		}
	}
	return out
}

// errDealID is wrapped when a deal's external id cannot be a Wazzup deal
// id, which is a number.
var errDealID = errors.New("deal ids on Wazzup are integers")

// dealFromWire converts a Wazzup deal to the domain's RemoteDeal.
func dealFromWire(d Deal) connectors.RemoteDeal {
	status := crmhub.DealOpen
	if d.Closed {
		status = crmhub.DealWon
	}
	rd := connectors.RemoteDeal{
		ExternalID:                strconv.FormatInt(d.ID, 10),
		Name:                      opt.NonEmpty(d.Name),
		Status:                    &status,
		ResponsibleUserExternalID: opt.NonEmpty(string(d.ResponsibleUserID)),
	}
	for _, c := range d.Contacts {
		rd.ContactExternalIDs = append(rd.ContactExternalIDs, string(c))
	}
	return rd
}

// dealToWire converts a RemoteDeal to the Wazzup deal to send; it fails
// when the external id is not an integer.
func dealToWire(rd connectors.RemoteDeal) (Deal, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(rd.ExternalID), 10, 64)
	if err != nil {
		return Deal{}, fmt.Errorf("deal id %q: %w", rd.ExternalID, errDealID)
	}
	d := Deal{
		ID:                id,
		Name:              opt.Deref(rd.Name),
		ResponsibleUserID: ID(opt.Deref(rd.ResponsibleUserExternalID)),
		Closed:            rd.Status != nil && *rd.Status != crmhub.DealOpen,
		Contacts:          make([]ID, len(rd.ContactExternalIDs)),
	}
	for i, c := range rd.ContactExternalIDs {
		d.Contacts[i] = ID(c)
	}
	return d, nil
}

// userFromWire converts a Wazzup user to the domain's RemoteUser.
func userFromWire(u User) connectors.RemoteUser {
	return connectors.RemoteUser{ExternalID: string(u.ID), Name: u.Name}
}

// userToWire converts a RemoteUser to the Wazzup user to send; the email
// has no place there.
func userToWire(ru connectors.RemoteUser) User {
	return User{ID: ID(ru.ExternalID), Name: ru.Name}
}

// e164 writes a number Wazzup keeps as digits in the hub's E.164 form.
func e164(s string) string {
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return ""
	}
	return "+" + s
}

// digits keeps the digits of a phone number, dropping "+", spaces and
// punctuation, as Wazzup wants them.
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func isDigits(s string) bool {
	return s != "" && digits(s) == s
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
