package crmhub

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/nyaruka/phonenumbers"
)

// IdentityType is the kind of an identifier a contact can be found by.
type IdentityType string

// Identity types, as spelled in the API.
const (
	IdentityPhone      IdentityType = "PHONE"
	IdentityWhatsApp   IdentityType = "WHATSAPP"
	IdentityWAID       IdentityType = "WA_ID"
	IdentityEmail      IdentityType = "EMAIL"
	IdentityTelegram   IdentityType = "TELEGRAM"
	IdentityInstagram  IdentityType = "INSTAGRAM"
	IdentityVK         IdentityType = "VK"
	IdentityExternalID IdentityType = "EXTERNAL_ID"
	// IdentityContactID names a contact by its global id. It is only used to
	// find contacts and is never stored as an identity.
	IdentityContactID IdentityType = "CONTACT_ID"
)

// IdentityTypes lists every identity type in the order the API declares them.
var IdentityTypes = []IdentityType{IdentityPhone, IdentityWhatsApp, IdentityWAID, IdentityEmail,
	IdentityTelegram, IdentityInstagram, IdentityVK, IdentityExternalID, IdentityContactID}

// Valid reports whether t is a known identity type.
func (t IdentityType) Valid() bool {
	for _, v := range IdentityTypes {
		if t == v {
			return true
		}
	}
	return false
}

// MatchClass groups identity types whose values match one another: a PHONE,
// a WHATSAPP and a WA_ID with the same E.164 number are the same identity.
func (t IdentityType) MatchClass() string {
	switch t {
	case IdentityPhone, IdentityWhatsApp, IdentityWAID:
		return "phone"
	}
	return strings.ToLower(string(t))
}

// IsPhoneLike reports whether values of t are phone numbers.
func (t IdentityType) IsPhoneLike() bool { return t.MatchClass() == "phone" }

// Identifier is a typed value that identifies a contact, as given by a client
// or a connector. After Normalize, Value is in canonical form.
type Identifier struct {
	Type  IdentityType
	Value string
	// Source is the system that issued an EXTERNAL_ID (required there) or,
	// for other types, optional provenance that does not take part in matching.
	Source string
}

// Limits on identifier parts.
const (
	MaxIdentifierValueLength  = 255
	MaxIdentifierSourceLength = 100
	// MaxIdentifiers is the most identifiers one contact input may carry.
	MaxIdentifiers = 20
)

// MatchKey is the part of an identifier that decides which contact it belongs
// to: two identifiers with equal match keys are the same identity.
type MatchKey struct {
	Class  string
	Source string // only set for EXTERNAL_ID
	Value  string
}

// MatchKey returns the key of a normalized identifier.
func (id Identifier) MatchKey() MatchKey {
	k := MatchKey{Class: id.Type.MatchClass(), Value: id.Value}
	if id.Type == IdentityExternalID {
		k.Source = id.Source
	}
	return k
}

// String renders the key for locks and messages.
func (k MatchKey) String() string { return k.Class + ":" + k.Source + ":" + k.Value }

// Normalize validates id and returns it in canonical form: phone-like values
// in E.164, emails trimmed and lower-cased, usernames without a leading "@"
// and lower-cased, external ids trimmed. Errors are EINVALID with Field set
// relative to the identifier ("value", "source" or "type").
func (id Identifier) Normalize() (Identifier, error) {
	if !id.Type.Valid() {
		return id, Invalid("type", "unknown identity type %q", id.Type)
	}
	out := Identifier{Type: id.Type, Value: strings.TrimSpace(id.Value), Source: strings.TrimSpace(id.Source)}
	if out.Value == "" {
		return id, Invalid("value", "%s value is empty", id.Type)
	}
	if utf8.RuneCountInString(out.Value) > MaxIdentifierValueLength {
		return id, Invalid("value", "%s value is longer than %d characters", id.Type, MaxIdentifierValueLength)
	}
	if utf8.RuneCountInString(out.Source) > MaxIdentifierSourceLength {
		return id, Invalid("source", "source is longer than %d characters", MaxIdentifierSourceLength)
	}
	if !Storable(out.Value) {
		return id, unstorable("value")
	}
	if !Storable(out.Source) {
		return id, unstorable("source")
	}
	var err error
	switch id.Type {
	case IdentityPhone, IdentityWhatsApp, IdentityWAID:
		out.Value, err = NormalizePhone(out.Value)
	case IdentityEmail:
		out.Value, err = normalizeEmail(out.Value)
	case IdentityTelegram:
		out.Value, err = normalizeTelegram(out.Value)
	case IdentityInstagram:
		out.Value, err = normalizeHandle(out.Value, "instagram.com/", 30)
	case IdentityVK:
		out.Value, err = normalizeHandle(out.Value, "vk.com/", 64)
	case IdentityExternalID:
		if out.Source == "" {
			return id, Invalid("source", "EXTERNAL_ID needs a source")
		}
	case IdentityContactID:
		if _, perr := ParseID(KindContact, out.Value); perr != nil {
			return id, Invalid("value", "CONTACT_ID value is not a contact id")
		}
	}
	if err != nil {
		return id, Invalid("value", "%s", err.Error())
	}
	return out, nil
}

// NormalizePhone returns the E.164 form of a phone number that carries its
// country code, either with a leading "+" or as digits starting with the
// country code (as Wazzup and WhatsApp write them). Spaces, dashes, dots and
// parentheses are ignored. There is no default country.
func NormalizePhone(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("phone number %q contains %q", truncate(s, 40), r)
		}
	}
	digits := b.String()
	if len(digits) < 7 || len(digits) > 15 {
		return "", fmt.Errorf("phone number %q must have 7 to 15 digits including the country code", truncate(s, 40))
	}
	p, ok := parsedPhones.Get(digits)
	if !ok {
		p = parsePhone(digits)
		parsedPhones.Add(digits, p)
	}
	if p.problem != "" {
		return "", fmt.Errorf("phone number %q %s", truncate(s, 40), p.problem)
	}
	return p.e164, nil
}

// parsedPhones remembers the outcome of parsePhone for the phone numbers
// seen last. Parsing is most of what an upsert of contacts by phone costs
// in Go (libphonenumber runs several regular expressions per number: a
// fifth of crmhub's CPU in BENCHMARKS.md's upsert), and the same numbers
// come back again and again: every pass of a connector's sync, every
// inbound message resolving its sender. The outcome depends on the digits
// alone. 8192 entries hold about 1.5 MiB.
var parsedPhones, _ = lru.New[string, parsedPhone](8192)

// parsedPhone is a phone number's E.164 form, or why it has none.
type parsedPhone struct {
	e164, problem string
}

// parsePhone parses digits (7 to 15, starting with the country code) with
// libphonenumber.
func parsePhone(digits string) parsedPhone {
	num, err := phonenumbers.Parse("+"+digits, "")
	if err != nil {
		return parsedPhone{problem: "does not parse: it must start with a country code"}
	}
	if phonenumbers.IsPossibleNumberWithReason(num) != phonenumbers.IS_POSSIBLE {
		return parsedPhone{problem: "is not a possible number"}
	}
	return parsedPhone{e164: phonenumbers.Format(num, phonenumbers.E164)}
}

func normalizeEmail(s string) (string, error) {
	s = strings.ToLower(s)
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" || !strings.Contains(s, "@") {
		return "", fmt.Errorf("%q is not an email address", truncate(s, 40))
	}
	return s, nil
}

// normalizeTelegram accepts a Telegram username (with or without "@" or a
// t.me link), a numeric chat id, or a phone number with "+".
func normalizeTelegram(s string) (string, error) {
	if strings.HasPrefix(s, "+") {
		return NormalizePhone(s)
	}
	if isDigits(s) {
		return s, nil
	}
	return normalizeHandle(s, "t.me/", 64)
}

// normalizeHandle lower-cases a username and strips a leading "@" or a
// profile link on host.
func normalizeHandle(s, host string, max int) (string, error) {
	s = strings.ToLower(s)
	for _, p := range []string{"https://", "http://", "www."} {
		s = strings.TrimPrefix(s, p)
	}
	s = strings.TrimPrefix(s, host)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "@"), "/")
	if s == "" || utf8.RuneCountInString(s) > max {
		return "", fmt.Errorf("username must have 1 to %d characters", max)
	}
	for _, r := range s {
		if !(r == '_' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return "", fmt.Errorf("username %q contains %q", truncate(s, 40), r)
		}
	}
	return s, nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// NormalizeIdentifiers normalizes a list of identifiers and drops exact
// duplicates. It needs at least one identifier and at most MaxIdentifiers.
// Errors carry Field relative to the list ("[2].value").
func NormalizeIdentifiers(ids []Identifier) ([]Identifier, error) {
	if len(ids) == 0 {
		return nil, Invalid("", "at least one identifier is required")
	}
	if len(ids) > MaxIdentifiers {
		return nil, Invalid("", "at most %d identifiers are allowed, got %d", MaxIdentifiers, len(ids))
	}
	out := make([]Identifier, 0, len(ids))
	seen := make(map[Identifier]bool, len(ids))
	for i, id := range ids {
		n, err := id.Normalize()
		if err != nil {
			return nil, err.(*Error).WithField(fmt.Sprintf("[%d]", i))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// MatchMode says what a write expects of the contacts that its
// identifiers already belong to.
type MatchMode int

// Match modes.
const (
	// MatchResolve finds the one contact the identifiers point at: none
	// is no contact, several are a CONFLICT, and a CONTACT_ID that names
	// no contact matches nothing.
	MatchResolve MatchMode = iota
	// MatchUpsert writes to the one contact the identifiers point at, or
	// to a new one when none does; several are a CONFLICT.
	MatchUpsert
	// MatchCreate writes to a new contact; an identifier that already
	// belongs to a contact is a CONFLICT.
	MatchCreate
	// MatchUpdate writes to a given contact; an identifier that belongs to
	// another contact is a CONFLICT.
	MatchUpdate
)

// Owners is what the stored data says about identifiers: the contact that
// holds each match key, and the contact each existing contact id names
// today (itself, or the contact it was merged into). Absent keys and ids
// belong to no contact.
type Owners struct {
	Keys map[MatchKey]uuid.UUID
	IDs  map[uuid.UUID]uuid.UUID
}

// MatchContact is the one identity matching rule: no contact matched, a
// new one (or, resolving, none); one, that one; several, a CONFLICT whose
// ContactIDs name them in the order of the identifiers. ids are
// normalized; target is the contact of MatchUpdate, matched before them.
// It returns uuid.Nil when no contact matched. Errors: ECONFLICT as said,
// ENOTFOUND for a target that does not exist, EINVALID (on
// "identifiers[i].value") for a CONTACT_ID that names no contact in a
// write.
func MatchContact(mode MatchMode, target uuid.UUID, ids []Identifier, o Owners) (uuid.UUID, *Error) {
	var matched []uuid.UUID
	add := func(id uuid.UUID) {
		if !slices.Contains(matched, id) {
			matched = append(matched, id)
		}
	}
	if mode == MatchUpdate {
		t, ok := o.IDs[target]
		if !ok {
			return uuid.Nil, Errorf(ENOTFOUND, "contact not found")
		}
		add(t)
	}
	for i, id := range ids {
		if id.Type != IdentityContactID {
			if c, ok := o.Keys[id.MatchKey()]; ok {
				add(c)
			}
			continue
		}
		uid, _ := ParseID(KindContact, id.Value)
		if c, ok := o.IDs[uid]; ok {
			add(c)
		} else if mode != MatchResolve {
			return uuid.Nil, Invalid(fmt.Sprintf("identifiers[%d].value", i), "no contact with this CONTACT_ID")
		}
	}
	switch {
	case mode == MatchCreate && len(matched) > 0:
		return uuid.Nil, &Error{Code: ECONFLICT, Message: "an identifier already belongs to a contact",
			ContactIDs: matched[:1], Extensions: map[string]any{"contactId": GlobalID(KindContact, matched[0])}}
	case len(matched) > 1 && mode == MatchUpdate:
		return uuid.Nil, contactsConflict("an identifier already belongs to another contact", matched)
	case len(matched) > 1:
		return uuid.Nil, contactsConflict("the identifiers belong to different contacts", matched)
	case len(matched) == 1:
		return matched[0], nil
	}
	return uuid.Nil, nil
}

// contactsConflict is the CONFLICT of identifiers that belong to several
// contacts. ContactIDs carries them typed; clients see them as global ids
// in extensions.contactIds.
func contactsConflict(msg string, ids []uuid.UUID) *Error {
	gids := make([]string, len(ids))
	for i, id := range ids {
		gids[i] = GlobalID(KindContact, id)
	}
	return &Error{Code: ECONFLICT, Message: msg, ContactIDs: ids, Extensions: map[string]any{"contactIds": gids}}
}
