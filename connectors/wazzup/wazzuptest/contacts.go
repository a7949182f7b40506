package wazzuptest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Documented limits of POST /v3/contacts.
const (
	maxContacts     = 100
	maxContactID    = 100
	maxResponsible  = 100
	maxContactName  = 200
	maxContactURI   = 200
	chatIDMinDigits = 9
	chatIDMaxDigits = 16
)

// chatTypes are the chat types the documents name.
var chatTypes = []string{"whatsapp", "whatsgroup", "instagram", "telegram", "vk"}

// SampleContacts returns n valid contacts with ids c00001, c00002, ...,
// each with a distinct WhatsApp number and responsible user "1" (give the
// fake that user when it must know its users).
func SampleContacts(n int) []Contact {
	out := make([]Contact, n)
	for i := range out {
		out[i] = Contact{
			ID:                fmt.Sprintf("c%05d", i+1),
			ResponsibleUserID: "1",
			Name:              fmt.Sprintf("Sample contact %d", i+1),
			ContactData:       []ContactData{{ChatType: "whatsapp", ChatID: fmt.Sprintf("7999%07d", i+1)}},
		}
	}
	return out
}

// Contact is a stored v3 contact, in the documented JSON shape.
type Contact struct {
	ID                string        `json:"id"`
	ResponsibleUserID string        `json:"responsibleUserId"`
	Name              string        `json:"name"`
	ContactData       []ContactData `json:"contactData"`
	URI               string        `json:"uri,omitempty"`
}

// ContactData is one messenger account of a Contact.
type ContactData struct {
	ChatType string `json:"chatType"`
	ChatID   string `json:"chatId,omitempty"`
	Username string `json:"username,omitempty"`
	Phone    string `json:"phone,omitempty"`
}

func (c Contact) key() string { return c.ID }

func (c Contact) clone() Contact {
	c.ContactData = slices.Clone(c.ContactData)
	return c
}

// PutContacts stores contacts as given, without validation.
func (f *Fake) PutContacts(contacts ...Contact) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.contacts.put(contacts...)
}

// Contacts returns the stored contacts in ascending id order.
func (f *Fake) Contacts() []Contact {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.contacts.sorted()
}

// Contact returns the stored contact with id.
func (f *Fake) Contact(id string) (Contact, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.contacts.get(id)
}

// contactLimit is the most contacts one POST /v3/contacts takes.
func (f *Fake) contactLimit() int {
	if f.opts.ContactLimit > 0 {
		return f.opts.ContactLimit
	}
	return maxContacts
}

func (f *Fake) upsertContacts(w http.ResponseWriter, r *http.Request) {
	const invalid = "One or more of provided contacts data are not valid."
	items, err := readArray(r)
	if err != nil || len(items) == 0 {
		writeError(w, http.StatusBadRequest, "INVALID_CONTACTS_DATA", invalid, nil)
		return
	}
	if limit := f.contactLimit(); len(items) > limit {
		writeError(w, http.StatusBadRequest, "TOO_MACH_ENTITIES", "Too mach entities per request.",
			map[string]int{"count": len(items), "limit": limit})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	contacts, bad := validateBatch(items, f.parseContact)
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, "INVALID_CONTACTS_DATA", invalid, bad)
		return
	}
	f.contacts.put(contacts...)
	w.WriteHeader(http.StatusOK)
}

// parseContact checks one contact against the documented fields; f.mu is
// held.
func (f *Fake) parseContact(o object) (Contact, problems) {
	var c Contact
	var p problems
	var ok bool
	if c.ID, ok = o.str("id", maxContactID, true); !ok {
		p.add("id")
	}
	if c.ResponsibleUserID, ok = o.str("responsibleUserId", maxResponsible, true); !ok || !f.knownUser(c.ResponsibleUserID) {
		p.add("responsibleUserId")
	}
	if c.Name, ok = o.str("name", maxContactName, true); !ok {
		p.add("name")
	}
	var entries []json.RawMessage
	if !o.present("contactData") || json.Unmarshal(o["contactData"], &entries) != nil || len(entries) == 0 {
		p.add("contactData")
	}
	for _, raw := range entries {
		cd, bad := parseContactData(readObject(raw))
		for _, field := range bad {
			p.add("contactData." + field)
		}
		c.ContactData = append(c.ContactData, cd)
	}
	if c.URI, ok = o.str("uri", maxContactURI, false); !ok {
		p.add("uri")
	}
	return c, p
}

// parseContactData checks one contactData entry; the problems it returns
// name fields inside the entry.
func parseContactData(o object) (ContactData, problems) {
	var cd ContactData
	var p problems
	var ok bool
	if cd.ChatType, ok = o.str("chatType", 0, true); !ok || !slices.Contains(chatTypes, cd.ChatType) {
		p.add("chatType")
	}
	if cd.Username, ok = o.str("username", 0, false); !ok || strings.HasPrefix(cd.Username, "@") {
		p.add("username")
	}
	if cd.Phone, ok = o.str("phone", 0, false); !ok || (cd.Phone != "" && !isDigits(cd.Phone, 1, chatIDMaxDigits)) {
		p.add("phone")
	}
	// Telegram may be reached by username or phone when chatId is unknown.
	telegramAlt := cd.ChatType == "telegram" && (cd.Username != "" || cd.Phone != "")
	cd.ChatID, ok = o.str("chatId", 0, !telegramAlt)
	switch {
	case !ok:
		p.add("chatId")
	case cd.ChatType == "whatsapp" && !isDigits(cd.ChatID, chatIDMinDigits, chatIDMaxDigits):
		p.add("chatId")
	case cd.ChatType == "instagram" && strings.HasPrefix(cd.ChatID, "@"):
		p.add("chatId")
	}
	return cd, p
}

// knownUser reports whether id may be a responsibleUserId; f.mu is held.
func (f *Fake) knownUser(id string) bool {
	if !f.opts.RequireKnownUsers || id == "" {
		return true
	}
	return slices.ContainsFunc(f.users, func(u User) bool { return u.ID == id })
}

func (f *Fake) listContacts(w http.ResponseWriter, r *http.Request) {
	offset, ok := offsetParam(r)
	if !ok {
		validationError(w, "offset must be a non-negative integer.", nil)
		return
	}
	f.mu.Lock()
	count, data := f.contacts.len(), f.contacts.page(offset)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		Count int       `json:"count"`
		Data  []Contact `json:"data"`
	}{count, data})
}

func (f *Fake) getContact(w http.ResponseWriter, r *http.Request) {
	c, ok := f.Contact(r.PathValue("id"))
	if !ok {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (f *Fake) deleteContact(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.contacts.remove(r.PathValue("id")) {
		notFound(w)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (f *Fake) bulkDeleteContacts(w http.ResponseWriter, r *http.Request) {
	items, err := readArray(r)
	ids := make([]string, len(items))
	for i, raw := range items {
		if err == nil {
			err = json.Unmarshal(raw, &ids[i])
		}
	}
	if err != nil {
		validationError(w, "The body must be an array of contact ids.", nil)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	missing := []string{}
	deleted := map[string]bool{}
	for _, id := range ids {
		if f.contacts.remove(id) {
			deleted[id] = true
		} else if !deleted[id] && !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	writeJSON(w, http.StatusOK, missing)
}
