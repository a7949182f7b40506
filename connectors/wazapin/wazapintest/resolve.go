package wazapintest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Identifier types POST /v1/contacts/resolve accepts, as the document
// lists them.
var resolveTypes = []string{"contact_id", "phone", "whatsapp", "wa_id", "email", "external_id"}

type identifier struct {
	Type   string `json:"type"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

var jsonUnmarshal = json.Unmarshal

// resolve finds the one contact all given identifiers point at: 404 when
// none matches, 409 when they match different contacts. An identifier
// that matches nothing does not prevent a match by the others.
func (f *Fake) resolve(w http.ResponseWriter, r *http.Request) {
	f.locked(w, r, func(r *http.Request) answer {
		var body struct {
			Identifiers []identifier `json:"identifiers"`
		}
		o, err := decodeObject(r)
		if err != nil || (o.present("identifiers") && jsonUnmarshal(o["identifiers"], &body.Identifiers) != nil) {
			return malformed
		}
		var p problems
		if n := len(body.Identifiers); n == 0 || n > MaxIdentifiers {
			p.add("identifiers")
		}
		for i, id := range body.Identifiers {
			field := fmt.Sprintf("identifiers[%d]", i)
			if !slices.Contains(resolveTypes, id.Type) {
				p.add(field + ".type")
			}
			if v := strings.TrimSpace(id.Value); v == "" || len(v) > MaxIdentifierValue || !validValue(id.Type, v) {
				p.add(field + ".value")
			}
			if id.Type == "external_id" && strings.TrimSpace(id.Source) == "" {
				p.add(field + ".source")
			}
		}
		if len(p) > 0 {
			return invalid(p)
		}
		var found []*Contact
		for _, id := range slices.Sorted(maps.Keys(f.contacts)) {
			c := f.contacts[id]
			for _, want := range body.Identifiers {
				if matches(c, want) {
					found = append(found, c)
					break
				}
			}
		}
		switch len(found) {
		case 0:
			return contactNotFound
		case 1:
			return data(http.StatusOK, found[0])
		default:
			return failure(http.StatusConflict, CodeConflict, "contact identifiers resolve to different contacts")
		}
	})
}

func validValue(typ, v string) bool {
	switch typ {
	case "phone", "whatsapp", "wa_id":
		_, ok := phoneKey(v)
		return ok
	case "email":
		return validEmail(strings.ToLower(v))
	}
	return true
}

// matches reports whether identifier want names c.
func matches(c *Contact, want identifier) bool {
	v := strings.TrimSpace(want.Value)
	if want.Type == "contact_id" {
		return c.ID == v
	}
	for _, have := range c.identities() {
		switch want.Type {
		case "phone", "whatsapp", "wa_id":
			a, _ := phoneKey(v)
			if b, ok := phoneKey(have.Value); ok && isPhoneType(have.Type) && a == b {
				return true
			}
		case "email":
			if have.Type == "email" && strings.EqualFold(have.Value, v) {
				return true
			}
		case "external_id":
			if have.Type == "external_id" && have.Value == v && have.Source == strings.TrimSpace(want.Source) {
				return true
			}
		}
	}
	return false
}

// isPhoneType reports whether identities of typ are phone numbers: a
// phone, a WhatsApp number and a wa_id of the same digits are one.
func isPhoneType(typ string) bool { return typ == "phone" || typ == "whatsapp" || typ == "wa_id" }

// phoneKey returns the digits of a phone number written with or without
// "+" (wa_id has none), ok false when it is not 7 to 15 digits.
func phoneKey(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "+") {
		s = "+" + s
	}
	return phoneDigits(s)
}
