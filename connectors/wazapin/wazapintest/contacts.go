package wazapintest

import (
	"encoding/json"
	"github.com/crmhub/crmhub/connectors/internal/opt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Contact is a stored contact. Its JSON is the document's contact object;
// the fields tagged "-" are served by the sub-resource routes.
type Contact struct {
	ID             string         `json:"id"`
	PhoneNumber    string         `json:"phone_number,omitempty"`
	Name           string         `json:"name,omitempty"`
	Email          string         `json:"email,omitempty"`
	ExternalSource string         `json:"external_source,omitempty"`
	ExternalID     string         `json:"external_id,omitempty"`
	CustomFields   map[string]any `json:"custom_fields,omitempty"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`

	// Identities are linked beyond those the fields above imply
	// (whatsapp, wa_id, telegram, another external id, ...).
	Identities   []Identity    `json:"-"`
	Tags         []string      `json:"-"`
	Notes        []Note        `json:"-"`
	Consents     []Consent     `json:"-"`
	Suppressions []Suppression `json:"-"`
}

func (c *Contact) clone() *Contact {
	out := *c
	out.CustomFields = maps.Clone(c.CustomFields)
	out.Identities = slices.Clone(c.Identities)
	out.Tags = slices.Clone(c.Tags)
	out.Notes = slices.Clone(c.Notes)
	out.Consents = slices.Clone(c.Consents)
	out.Suppressions = slices.Clone(c.Suppressions)
	return &out
}

// Identity is one identifier linked to a contact.
type Identity struct {
	Type   string `json:"type"`
	Value  string `json:"value"`
	Source string `json:"source,omitempty"`
}

// identities returns every identity of c: those its fields imply, then
// the linked ones.
func (c *Contact) identities() []Identity {
	var out []Identity
	if c.PhoneNumber != "" {
		out = append(out, Identity{Type: "phone", Value: c.PhoneNumber})
	}
	if c.Email != "" {
		out = append(out, Identity{Type: "email", Value: c.Email})
	}
	if c.ExternalID != "" {
		out = append(out, Identity{Type: "external_id", Value: c.ExternalID, Source: c.ExternalSource})
	}
	return append(out, c.Identities...)
}

// PutContacts stores contacts as given, replacing those with the same
// id; a contact without an id gets a new one.
func (f *Fake) PutContacts(cs ...Contact) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		if c.ID == "" {
			c.ID = f.nextID("cnt")
		}
		if c.CreatedAt.IsZero() {
			c.CreatedAt = f.now().UTC()
		}
		if c.UpdatedAt.IsZero() {
			c.UpdatedAt = c.CreatedAt
		}
		f.contacts[c.ID] = c.clone()
	}
}

// Contacts returns copies of the stored contacts in ascending id order.
func (f *Fake) Contacts() []Contact {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sorted()
}

// Contact returns a copy of the contact with id.
func (f *Fake) Contact(id string) (Contact, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.contacts[id]
	if !ok {
		return Contact{}, false
	}
	return *c.clone(), true
}

// sorted returns copies in id order; the caller holds f.mu.
func (f *Fake) sorted() []Contact {
	out := make([]Contact, 0, len(f.contacts))
	for _, id := range slices.Sorted(maps.Keys(f.contacts)) {
		out = append(out, *f.contacts[id].clone())
	}
	return out
}

// answer is a response computed under f.mu and written after it.
type answer struct {
	status int
	body   any
}

type envelope struct {
	Data any `json:"data"`
}

func data(status int, v any) answer { return answer{status, envelope{v}} }

func failure(status int, code, msg string) answer {
	return answer{status, errorBody{Error: msg, Code: code}}
}

func invalid(p problems) answer {
	return answer{http.StatusUnprocessableEntity, errorBody{
		Error: "invalid fields: " + strings.Join(p, ", "), Code: CodeValidation, Fields: p}}
}

var (
	contactNotFound = failure(http.StatusNotFound, CodeNotFound, "contact not found")
	malformed       = failure(http.StatusBadRequest, CodeInvalidRequest, errMalformed.Error())
)

// freeze encodes the body while the caller still holds f.mu, since it may
// point into the store.
func (a answer) freeze() answer {
	if a.body != nil {
		b, err := json.Marshal(a.body)
		if err != nil {
			return failure(http.StatusInternalServerError, CodeInternal, err.Error())
		}
		a.body = json.RawMessage(b)
	}
	return a
}

func (a answer) write(w http.ResponseWriter) {
	if a.body == nil {
		w.WriteHeader(a.status)
		return
	}
	writeJSON(w, a.status, a.body)
}

// withContact serves a route of one contact: it answers 404 when the
// contact does not exist and otherwise calls h under f.mu.
func (f *Fake) withContact(h func(r *http.Request, c *Contact) answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		a := contactNotFound
		if c, ok := f.contacts[r.PathValue("contactID")]; ok {
			a = h(r, c).freeze()
		}
		f.mu.Unlock()
		a.write(w)
	}
}

// withBody decodes the JSON object of a request to a contact route before
// h, answering 400 for a body that is not one.
func withBody(h func(o object, r *http.Request, c *Contact) answer) func(r *http.Request, c *Contact) answer {
	return func(r *http.Request, c *Contact) answer {
		o, err := decodeObject(r)
		if err != nil {
			return malformed
		}
		return h(o, r, c)
	}
}

// withObject is withBody for routes without a contact.
func withObject(h func(o object, r *http.Request) answer) func(r *http.Request) answer {
	return func(r *http.Request) answer {
		return withBody(func(o object, r *http.Request, _ *Contact) answer { return h(o, r) })(r, nil)
	}
}

// locked serves a route that needs no contact under f.mu.
func (f *Fake) locked(w http.ResponseWriter, r *http.Request, h func(r *http.Request) answer) {
	f.mu.Lock()
	a := h(r).freeze()
	f.mu.Unlock()
	a.write(w)
}

func (f *Fake) getContact(_ *http.Request, c *Contact) answer { return data(http.StatusOK, c) }

func (f *Fake) deleteContact(_ *http.Request, c *Contact) answer {
	delete(f.contacts, c.ID)
	return answer{status: http.StatusNoContent}
}

func (f *Fake) listContacts(w http.ResponseWriter, r *http.Request) {
	f.locked(w, r, func(r *http.Request) answer {
		var p problems
		page := intParam(r, "page", 1, 1, 1<<30, &p)
		limit := intParam(r, "limit", DefaultPageSize, 1, MaxPageSize, &p)
		if len(p) > 0 {
			return invalid(p)
		}
		all := f.sorted()
		from := min((page-1)*limit, len(all))
		to := min(from+limit, len(all))
		return answer{http.StatusOK, struct {
			Data []Contact `json:"data"`
			Meta listMeta  `json:"meta"`
		}{all[from:to], listMeta{Page: page, Limit: limit, Total: len(all)}}}
	})
}

type listMeta struct {
	Page  int `json:"page"`
	Limit int `json:"limit"`
	Total int `json:"total"`
}

// intParam reads an integer query parameter within [lo, hi].
func intParam(r *http.Request, key string, def, lo, hi int, p *problems) int {
	s := r.URL.Query().Get(key)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		p.add(key)
		return def
	}
	return n
}

func (f *Fake) getByPhone(w http.ResponseWriter, r *http.Request) {
	f.locked(w, r, func(r *http.Request) answer {
		want, ok := phoneKey(r.PathValue("phone"))
		if !ok {
			return invalid(problems{"phone"})
		}
		for _, c := range f.sorted() {
			if got, _ := phoneKey(c.PhoneNumber); got == want {
				return data(http.StatusOK, c)
			}
		}
		return contactNotFound
	})
}

// contactFields are the writable fields of a contact as a request body
// gives them; a nil pointer is a field not given.
type contactFields struct {
	phone, name, email, source, extID *string
	custom                            map[string]any
	customGiven                       bool
}

// readContact validates a create or update body.
func readContact(o object) (contactFields, problems) {
	var p problems
	var cf contactFields
	field := func(key string, max int, ok func(string) bool) *string {
		if !o.given(key) {
			return nil
		}
		s := o.str(&p, key, max, false)
		if s != "" && ok != nil && !ok(s) {
			p.add(key)
		}
		return &s
	}
	cf.phone = field("phone_number", 32, func(s string) bool { _, ok := phoneDigits(s); return ok })
	cf.name = field("name", MaxNameLength, nil)
	cf.email = field("email", MaxEmailLength, validEmail)
	cf.source = field("external_source", MaxExternalSource, nil)
	cf.extID = field("external_id", MaxExternalID, nil)
	if cf.customGiven = o.given("custom_fields"); o.present("custom_fields") {
		if err := jsonUnmarshal(o["custom_fields"], &cf.custom); err != nil || len(cf.custom) > MaxCustomFields {
			p.add("custom_fields")
		}
		for k := range cf.custom {
			if k == "" || len(k) > MaxCustomFieldKey {
				p.add("custom_fields")
			}
		}
	}
	if (opt.Deref(cf.source) == "") != (opt.Deref(cf.extID) == "") && (cf.source != nil || cf.extID != nil) {
		p.add("external_source")
		p.add("external_id")
	}
	return cf, p
}

// apply writes the given fields to c.
func (cf contactFields) apply(c *Contact) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.PhoneNumber, cf.phone)
	set(&c.Name, cf.name)
	set(&c.Email, cf.email)
	set(&c.ExternalSource, cf.source)
	set(&c.ExternalID, cf.extID)
	if cf.customGiven {
		c.CustomFields = cf.custom
	}
}

// owners returns the contacts other than self that already hold the
// unique keys the fields would give: the phone number and the external
// (source, id) pair.
func (f *Fake) owners(cf contactFields, self string) []*Contact {
	var out []*Contact
	add := func(c *Contact) {
		if c.ID != self && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	for _, c := range f.contacts {
		if cf.phone != nil && *cf.phone != "" {
			if a, _ := phoneKey(*cf.phone); a != "" {
				if b, _ := phoneKey(c.PhoneNumber); a == b {
					add(c)
				}
			}
		}
		if opt.Deref(cf.extID) != "" && c.ExternalSource == *cf.source && c.ExternalID == *cf.extID {
			add(c)
		}
	}
	return out
}

// createContact creates a contact, or updates the one that already holds
// its phone number or external id: the document calls the route "create
// or upsert".
func (f *Fake) createContact(w http.ResponseWriter, r *http.Request) {
	f.locked(w, r, withObject(func(o object, r *http.Request) answer {
		cf, p := readContact(o)
		if len(p) > 0 {
			return invalid(p)
		}
		if opt.Deref(cf.phone) == "" && opt.Deref(cf.email) == "" && opt.Deref(cf.extID) == "" {
			return invalid(problems{"phone_number", "email", "external_id"})
		}
		now := f.now().UTC()
		switch owners := f.owners(cf, ""); len(owners) {
		case 0:
			c := &Contact{ID: f.nextID("cnt"), CreatedAt: now, UpdatedAt: now}
			cf.apply(c)
			f.contacts[c.ID] = c
			return data(http.StatusCreated, c)
		case 1:
			c := owners[0]
			cf.apply(c)
			c.UpdatedAt = now
			return data(http.StatusOK, c)
		default:
			return failure(http.StatusConflict, CodeConflict, "phone_number and external_id belong to different contacts")
		}
	}))
}

func (f *Fake) updateContact(o object, _ *http.Request, c *Contact) answer {
	cf, p := readContact(o)
	if len(p) > 0 {
		return invalid(p)
	}
	next := c.clone()
	cf.apply(next)
	if next.PhoneNumber == "" && next.Email == "" && next.ExternalID == "" {
		return invalid(problems{"phone_number", "email", "external_id"})
	}
	check := contactFields{phone: &next.PhoneNumber, source: &next.ExternalSource, extID: &next.ExternalID}
	if len(f.owners(check, c.ID)) > 0 {
		return failure(http.StatusConflict, CodeConflict, "phone_number or external_id belongs to another contact")
	}
	*c = *next
	c.UpdatedAt = f.now().UTC()
	return data(http.StatusOK, c)
}

func (f *Fake) listIdentities(_ *http.Request, c *Contact) answer {
	return data(http.StatusOK, nonNil(c.identities()))
}

// nonNil keeps an empty list answered as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
