package wazelotest

import (
	"encoding/json"
	"fmt"
	"github.com/crmhub/crmhub/connectors/internal/opt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits the fake enforces on contacts (see doc.go).
const (
	minPhone        = 8
	maxPhone        = 15
	maxName         = 255
	maxEmail        = 254
	maxTags         = 20
	maxTag          = 50
	maxCustomFields = 50
	maxFieldKey     = 64
	maxFieldValue   = 1000
	maxID           = 64
	defaultLimit    = 20
	maxLimit        = 100
)

// Contact is a stored contact, in the JSON shape the fake answers.
type Contact struct {
	ID           string         `json:"id"`
	Name         *string        `json:"name"`
	Phone        string         `json:"phone"`
	Email        *string        `json:"email"`
	Tags         []string       `json:"tags"`
	CustomFields map[string]any `json:"custom_fields"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
}

func (c Contact) clone() Contact {
	c.Tags = slices.Clone(c.Tags)
	c.CustomFields = maps.Clone(c.CustomFields)
	if c.Tags == nil {
		c.Tags = []string{}
	}
	if c.CustomFields == nil {
		c.CustomFields = map[string]any{}
	}
	return c
}

// PutContacts stores contacts as given, without validation; an empty id
// is generated. A new id goes to the end of the listing order.
func (f *Fake) PutContacts(contacts ...Contact) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range contacts {
		if c.ID == "" {
			c.ID = f.newID("cnt")
		}
		if c.CreatedAt.IsZero() {
			c.CreatedAt = f.opts.Now().UTC()
			c.UpdatedAt = c.CreatedAt
		}
		f.store(c)
	}
}

// store saves c; f.mu is held.
func (f *Fake) store(c Contact) {
	if _, ok := f.contacts[c.ID]; !ok {
		f.order = append(f.order, c.ID)
	}
	f.contacts[c.ID] = c.clone()
}

// Contacts returns the stored contacts in creation order.
func (f *Fake) Contacts() []Contact {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.listed()
}

// listed returns copies in creation order; f.mu is held.
func (f *Fake) listed() []Contact {
	out := make([]Contact, len(f.order))
	for i, id := range f.order {
		out[i] = f.contacts[id].clone()
	}
	return out
}

// Contact returns the stored contact with id.
func (f *Fake) Contact(id string) (Contact, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.contacts[id]
	return c.clone(), ok
}

// newID returns the next generated id with prefix; f.mu is held.
func (f *Fake) newID(prefix string) string {
	for {
		f.seq++
		id := fmt.Sprintf("%s_%07d", prefix, f.seq)
		if _, taken := f.contacts[id]; !taken {
			return id
		}
	}
}

// byPhone returns the id of the contact with phone digits d other than
// except, "" when none; f.mu is held.
func (f *Fake) byPhone(d, except string) string {
	for _, id := range f.order {
		if id != except && f.contacts[id].Phone == d {
			return id
		}
	}
	return ""
}

func (f *Fake) listContacts(w http.ResponseWriter, r *http.Request) {
	page, okPage := intParam(r, "page", 1, 1, 1<<30)
	limit, okLimit := intParam(r, "limit", defaultLimit, 1, maxLimit)
	if !okPage || !okLimit {
		badRequest(w, fmt.Sprintf("page must be a positive integer and limit between 1 and %d", maxLimit))
		return
	}
	q := r.URL.Query()
	search, tag := strings.ToLower(strings.TrimSpace(q.Get("search"))), q.Get("tag")
	all := slices.DeleteFunc(f.Contacts(), func(c Contact) bool {
		return (search != "" && !matches(c, search)) || (tag != "" && !slices.Contains(c.Tags, tag))
	})
	from := min((page-1)*limit, len(all))
	data := all[from:min(from+limit, len(all))]
	writeData(w, http.StatusOK, data, &Meta{Page: page, Limit: limit, Total: len(all)})
}

// matches reports whether a search (lower-cased) finds c: in its phone
// digits when the search is a number, else in its name or email.
func matches(c Contact, search string) bool {
	if d := strings.TrimPrefix(search, "+"); allDigits(d) {
		return strings.Contains(c.Phone, d)
	}
	return strings.Contains(strings.ToLower(opt.Deref(c.Name)), search) ||
		strings.Contains(strings.ToLower(opt.Deref(c.Email)), search)
}

func (f *Fake) getContact(w http.ResponseWriter, r *http.Request) {
	c, ok := f.Contact(r.PathValue("id"))
	if !ok {
		contactNotFound(w, r.PathValue("id"))
		return
	}
	writeData(w, http.StatusOK, c, nil)
}

func (f *Fake) createContact(w http.ResponseWriter, r *http.Request) {
	o := readObject(r)
	if o == nil {
		badRequest(w, "The body must be a JSON object.")
		return
	}
	var ck checker
	c := Contact{}
	if id := ck.str(o, "id", maxID); id != nil {
		if *id == "" || strings.ContainsFunc(*id, func(r rune) bool { return !isIDRune(r) }) {
			ck.fail("id", "may hold letters, digits, '_' and '-' only")
		}
		c.ID = *id
	}
	if !o.has("phone") || o.null("phone") {
		ck.fail("phone", "is required")
	}
	f.applyFields(&ck, o, &c)
	if len(ck.errs) > 0 {
		validationError(w, ck.errs)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.opts.AssignIDs {
		c.ID = ""
	}
	if _, taken := f.contacts[c.ID]; taken && c.ID != "" {
		writeError(w, http.StatusConflict, "CONFLICT", "A contact with ID "+c.ID+" already exists", nil)
		return
	}
	if f.byPhone(c.Phone, "") != "" {
		writeError(w, http.StatusConflict, "CONFLICT", "A contact with phone number "+c.Phone+" already exists", nil)
		return
	}
	if c.ID == "" {
		c.ID = f.newID("cnt")
	}
	c.CreatedAt = f.opts.Now().UTC()
	c.UpdatedAt = c.CreatedAt
	f.store(c)
	writeData(w, http.StatusCreated, c.clone(), nil)
}

func (f *Fake) updateContact(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	o := readObject(r)
	if o == nil {
		badRequest(w, "The body must be a JSON object.")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.contacts[id]
	if !ok {
		contactNotFound(w, id)
		return
	}
	c = c.clone()
	var ck checker
	if o.has("phone") && o.null("phone") {
		ck.fail("phone", "cannot be removed")
	}
	f.applyFields(&ck, o, &c)
	if len(ck.errs) > 0 {
		validationError(w, ck.errs)
		return
	}
	if f.byPhone(c.Phone, id) != "" {
		writeError(w, http.StatusConflict, "CONFLICT", "A contact with phone number "+c.Phone+" already exists", nil)
		return
	}
	c.UpdatedAt = f.opts.Now().UTC()
	f.store(c)
	writeData(w, http.StatusOK, c.clone(), nil)
}

// applyFields checks the writable fields o gives and sets them on c: a
// field absent keeps its value, null clears it.
func (f *Fake) applyFields(ck *checker, o object, c *Contact) {
	if o.has("name") {
		c.Name = ck.str(o, "name", maxName)
	}
	if p := ck.str(o, "phone", maxPhone+1); p != nil {
		c.Phone = ck.phone("phone", *p)
	}
	if o.has("email") {
		c.Email = ck.str(o, "email", maxEmail)
		if c.Email != nil && *c.Email == "" {
			c.Email = nil
		} else if c.Email != nil {
			ck.email("email", *c.Email)
		}
	}
	if o.has("tags") {
		c.Tags = checkTags(ck, o["tags"])
	}
	if o.has("custom_fields") {
		c.CustomFields = checkCustomFields(ck, o["custom_fields"])
	}
}

func checkTags(ck *checker, raw json.RawMessage) []string {
	var tags []string
	if json.Unmarshal(raw, &tags) != nil {
		ck.fail("tags", "must be an array of strings")
		return nil
	}
	if len(tags) > maxTags {
		ck.fail("tags", fmt.Sprintf("must hold at most %d tags", maxTags))
	}
	for i, t := range tags {
		if n := utf8.RuneCountInString(t); n == 0 || n > maxTag {
			ck.fail(fmt.Sprintf("tags.%d", i), fmt.Sprintf("must be 1 to %d characters", maxTag))
		}
	}
	return tags
}

func checkCustomFields(ck *checker, raw json.RawMessage) map[string]any {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		if string(raw) != "null" {
			ck.fail("custom_fields", "must be an object")
		}
		return nil
	}
	if len(fields) > maxCustomFields {
		ck.fail("custom_fields", fmt.Sprintf("must hold at most %d fields", maxCustomFields))
	}
	out := make(map[string]any, len(fields))
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		var v any
		_ = json.Unmarshal(fields[k], &v)
		s, isString := v.(string)
		switch v.(type) {
		case string, float64, bool, nil:
		default:
			ck.fail("custom_fields."+k, "must be a string, number, boolean or null")
		}
		if n := utf8.RuneCountInString(k); n == 0 || n > maxFieldKey || (isString && utf8.RuneCountInString(s) > maxFieldValue) {
			ck.fail("custom_fields."+k, fmt.Sprintf("keys are 1 to %d characters, values at most %d", maxFieldKey, maxFieldValue))
		}
		out[k] = v
	}
	return out
}

func isIDRune(r rune) bool {
	return r == '_' || r == '-' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
}

func (f *Fake) deleteContact(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.contacts[id]; !ok {
		contactNotFound(w, id)
		return
	}
	delete(f.contacts, id)
	f.order = slices.DeleteFunc(f.order, func(x string) bool { return x == id })
	writeData(w, http.StatusOK, map[string]any{"id": id, "deleted": true}, nil)
}

// contactNotFound answers the document's example error.
func contactNotFound(w http.ResponseWriter, id string) {
	writeError(w, http.StatusNotFound, "CONTACT_NOT_FOUND", "No contact found with ID "+id, nil)
}
