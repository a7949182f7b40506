package wazapintest

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// Note is a note on a contact.
type Note struct {
	ID        string    `json:"id"`
	Content   string    `json:"content"`
	CreatedAt time.Time `json:"created_at"`
}

// Tag is a tag assigned to a contact.
type Tag struct {
	Name string `json:"name"`
}

// Consent is the consent state of one channel of a contact.
type Consent struct {
	Channel    string     `json:"channel"`
	Status     string     `json:"status"`
	Source     string     `json:"source,omitempty"`
	Evidence   string     `json:"evidence,omitempty"`
	CapturedAt *time.Time `json:"captured_at,omitempty"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Suppression stops messages to a contact on one channel while active.
type Suppression struct {
	ID        string     `json:"id"`
	Channel   string     `json:"channel"`
	Reason    string     `json:"reason,omitempty"`
	Active    bool       `json:"active"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	LiftedAt  *time.Time `json:"lifted_at,omitempty"`
}

// Channels are the consent and suppression channels the fake accepts.
var Channels = []string{"whatsapp", "sms", "email", "telegram", "instagram", "vk"}

// ConsentStatuses are the consent states the fake accepts.
var ConsentStatuses = []string{"opted_in", "opted_out", "pending"}

func (f *Fake) listNotes(_ *http.Request, c *Contact) answer {
	return data(http.StatusOK, nonNil(c.Notes))
}

func (f *Fake) createNote(o object, r *http.Request, c *Contact) answer {
	var p problems
	content := o.str(&p, "content", MaxNoteLength, true)
	if len(p) > 0 {
		return invalid(p)
	}
	n := Note{ID: f.nextID("note"), Content: content, CreatedAt: f.now().UTC()}
	c.Notes = append(c.Notes, n)
	return data(http.StatusCreated, n)
}

func (f *Fake) listTags(_ *http.Request, c *Contact) answer {
	tags := make([]Tag, len(c.Tags))
	for i, t := range c.Tags {
		tags[i] = Tag{Name: t}
	}
	return data(http.StatusOK, tags)
}

// assignTag assigns a tag; assigning one already there answers 200
// instead of 201 and changes nothing.
func (f *Fake) assignTag(o object, r *http.Request, c *Contact) answer {
	var p problems
	name := o.str(&p, "name", MaxTagLength, true)
	if len(p) > 0 {
		return invalid(p)
	}
	if slices.ContainsFunc(c.Tags, func(t string) bool { return strings.EqualFold(t, name) }) {
		return data(http.StatusOK, Tag{Name: name})
	}
	c.Tags = append(c.Tags, name)
	return data(http.StatusCreated, Tag{Name: name})
}

func (f *Fake) listConsents(_ *http.Request, c *Contact) answer {
	return data(http.StatusOK, nonNil(c.Consents))
}

// putConsent sets the consent of the channel in the path.
func (f *Fake) putConsent(o object, r *http.Request, c *Contact) answer {
	var p problems
	channel := r.PathValue("channel")
	if !slices.Contains(Channels, channel) {
		p.add("channel")
	}
	in := Consent{Channel: channel, UpdatedAt: f.now().UTC()}
	if in.Status = o.str(&p, "status", 32, true); in.Status != "" && !slices.Contains(ConsentStatuses, in.Status) {
		p.add("status")
	}
	in.Source = o.str(&p, "source", MaxConsentSource, false)
	in.Evidence = o.str(&p, "evidence", MaxConsentEvidence, false)
	in.CapturedAt = o.timestamp(&p, "captured_at")
	if len(p) > 0 {
		return invalid(p)
	}
	i := slices.IndexFunc(c.Consents, func(x Consent) bool { return x.Channel == channel })
	if i < 0 {
		c.Consents = append(c.Consents, in)
	} else {
		c.Consents[i] = in
	}
	return data(http.StatusOK, in)
}

func (f *Fake) listSuppressions(_ *http.Request, c *Contact) answer {
	return data(http.StatusOK, nonNil(c.Suppressions))
}

// upsertSuppression creates the suppression of a channel or updates the
// existing one; "active": false lifts it, true (the default) restores it.
func (f *Fake) upsertSuppression(o object, r *http.Request, c *Contact) answer {
	var p problems
	channel := o.str(&p, "channel", 32, true)
	if channel != "" && !slices.Contains(Channels, channel) {
		p.add("channel")
	}
	reason := o.str(&p, "reason", MaxReason, false)
	expires := o.timestamp(&p, "expires_at")
	active := true
	if o.present("active") && jsonUnmarshal(o["active"], &active) != nil {
		p.add("active")
	}
	if len(p) > 0 {
		return invalid(p)
	}
	now := f.now().UTC()
	status := http.StatusOK
	i := slices.IndexFunc(c.Suppressions, func(s Suppression) bool { return s.Channel == channel })
	if i < 0 {
		c.Suppressions = append(c.Suppressions, Suppression{ID: f.nextID("sup"), Channel: channel, CreatedAt: now})
		i, status = len(c.Suppressions)-1, http.StatusCreated
	}
	s := &c.Suppressions[i]
	if o.given("reason") {
		s.Reason = reason
	}
	if o.given("expires_at") {
		s.ExpiresAt = expires
	}
	switch {
	case !active && s.LiftedAt == nil:
		s.LiftedAt = &now
	case active:
		s.LiftedAt = nil
	}
	s.Active = active
	return data(status, *s)
}
