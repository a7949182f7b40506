package wazeratest

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Page sizes of GET /contacts.
const (
	DefaultPerPage = 15
	MaxPerPage     = 100
)

// Contact is a contact as the fake stores and answers it.
type Contact struct {
	ID           int64          `json:"id"`
	Name         *string        `json:"name"`
	Phone        string         `json:"phone"`
	Email        *string        `json:"email"`
	Tags         []string       `json:"tags"`
	CustomFields map[string]any `json:"custom_fields"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
}

func (c Contact) clone() Contact {
	if c.Name != nil {
		n := *c.Name
		c.Name = &n
	}
	if c.Email != nil {
		e := *c.Email
		c.Email = &e
	}
	c.Tags = slices.Clone(c.Tags)
	if c.Tags == nil {
		c.Tags = []string{}
	}
	c.CustomFields = maps.Clone(c.CustomFields)
	if c.CustomFields == nil {
		c.CustomFields = map[string]any{}
	}
	return c
}

// PutContacts stores contacts as given, without validation, assigning an
// id to those with none, and returns them as stored.
func (f *Fake) PutContacts(cs ...Contact) []Contact {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Contact, len(cs))
	now := f.now().UTC()
	for i, c := range cs {
		c = c.clone()
		if c.ID == 0 {
			c.ID = f.nextID
		}
		f.nextID = max(f.nextID, c.ID+1)
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		if c.UpdatedAt.IsZero() {
			c.UpdatedAt = c.CreatedAt
		}
		f.contacts[c.ID] = c
		out[i] = c.clone()
	}
	return out
}

// Contacts returns the stored contacts in ascending id order.
func (f *Fake) Contacts() []Contact {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sortedContacts()
}

// Contact returns the contact with id.
func (f *Fake) Contact(id int64) (Contact, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.contacts[id]
	return c.clone(), ok
}

// sortedContacts copies the contacts in id order; f.mu is held.
func (f *Fake) sortedContacts() []Contact {
	out := make([]Contact, 0, len(f.contacts))
	for _, id := range slices.Sorted(maps.Keys(f.contacts)) {
		out = append(out, f.contacts[id].clone())
	}
	return out
}

// pageMeta is the "meta" of a list answer.
type pageMeta struct {
	CurrentPage int `json:"current_page"`
	PerPage     int `json:"per_page"`
	Total       int `json:"total"`
	LastPage    int `json:"last_page"`
}

func (f *Fake) listContacts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var v invalid
	page := intParam(&v, q.Get("page"), "page", 1, 1, 0)
	perPage := intParam(&v, q.Get("per_page"), "per_page", DefaultPerPage, 1, MaxPerPage)
	if !v.ok() {
		v.write(w)
		return
	}
	search, tag := strings.ToLower(q.Get("search")), q.Get("tag")
	f.mu.Lock()
	all := f.sortedContacts()
	f.mu.Unlock()
	matched := all[:0]
	for _, c := range all {
		if (tag == "" || slices.Contains(c.Tags, tag)) && (search == "" || matches(c, search)) {
			matched = append(matched, c)
		}
	}
	from := min((page-1)*perPage, len(matched))
	to := min(from+perPage, len(matched))
	writeJSON(w, http.StatusOK, struct {
		Data []Contact `json:"data"`
		Meta pageMeta  `json:"meta"`
	}{matched[from:to], pageMeta{CurrentPage: page, PerPage: perPage, Total: len(matched),
		LastPage: max(1, (len(matched)+perPage-1)/perPage)}})
}

// matches reports whether search (lower case) is part of the contact's
// name, phone or email.
func matches(c Contact, search string) bool {
	for _, s := range []*string{c.Name, &c.Phone, c.Email} {
		if s != nil && strings.Contains(strings.ToLower(*s), search) {
			return true
		}
	}
	return false
}

// intParam reads a query integer in [lo, hi] (hi 0: no upper bound).
func intParam(v *invalid, s, field string, def, lo, hi int) int {
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		v.fail(field, "must be an integer")
	case n < lo:
		v.fail(field, "must be at least "+strconv.Itoa(lo))
	case hi > 0 && n > hi:
		v.fail(field, "must not be greater than "+strconv.Itoa(hi))
	}
	return n
}

func (f *Fake) getContact(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	f.mu.Lock()
	c, found := f.contacts[id]
	f.mu.Unlock()
	if !ok || !found {
		notFound(w, "Contact")
		return
	}
	writeData(w, http.StatusOK, c.clone())
}

func (f *Fake) createContact(w http.ResponseWriter, r *http.Request) {
	o := readObject(r)
	if o == nil {
		writeFault(w, Fault{Status: http.StatusBadRequest, Message: "The request body must be a JSON object."})
		return
	}
	var c Contact
	if v := applyContact(&c, o, true); !v.ok() {
		v.write(w)
		return
	}
	f.mu.Lock()
	c.ID = f.nextID
	f.nextID++
	c.CreatedAt = f.now().UTC()
	c.UpdatedAt = c.CreatedAt
	f.contacts[c.ID] = c.clone()
	f.mu.Unlock()
	writeData(w, http.StatusCreated, c.clone())
}

func (f *Fake) updateContact(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	o := readObject(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	c, found := f.contacts[id]
	switch {
	case !ok || !found:
		notFound(w, "Contact")
		return
	case o == nil:
		writeFault(w, Fault{Status: http.StatusBadRequest, Message: "The request body must be a JSON object."})
		return
	}
	c = c.clone()
	if v := applyContact(&c, o, false); !v.ok() {
		v.write(w)
		return
	}
	c.UpdatedAt = f.now().UTC()
	f.contacts[id] = c.clone()
	writeData(w, http.StatusOK, c)
}

func (f *Fake) deleteContact(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	f.mu.Lock()
	_, found := f.contacts[id]
	delete(f.contacts, id)
	f.mu.Unlock()
	if !ok || !found {
		notFound(w, "Contact")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "Contact deleted."})
}

// applyContact validates the fields o gives and sets them on c. A create
// needs a phone; an update changes only the fields given, and null clears
// an optional one.
func applyContact(c *Contact, o object, create bool) *invalid {
	v := &invalid{}
	if s, set := v.str(o, "name", false); set || o.has("name") {
		c.Name = optional(s, set)
	}
	if s, set := v.phone(o, "phone", create || o.has("phone")); set {
		c.Phone = s
	}
	if s, set := v.email(o, "email"); set || o.has("email") {
		c.Email = optional(s, set)
	}
	if o.has("tags") {
		c.Tags = []string{}
		if !o.null("tags") && json.Unmarshal(o["tags"], &c.Tags) != nil {
			v.fail("tags", "must be an array of strings")
		}
		for i, t := range c.Tags {
			if t == "" || utf8.RuneCountInString(t) > maxString {
				v.fail("tags."+strconv.Itoa(i), "must be a string of 1 to 255 characters")
			}
		}
	}
	if o.has("custom_fields") {
		c.CustomFields = map[string]any{}
		if !o.null("custom_fields") && json.Unmarshal(o["custom_fields"], &c.CustomFields) != nil {
			v.fail("custom_fields", "must be an object")
		}
	}
	return v
}

func optional(s string, set bool) *string {
	if !set || s == "" {
		return nil
	}
	return &s
}

// pathID reads the {id} of a route as a Wazera id, a positive integer.
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// writeData answers {"data": v}.
func writeData(w http.ResponseWriter, status int, v any) {
	writeJSON(w, status, struct {
		Data any `json:"data"`
	}{v})
}
