package wazelotest

import (
	"encoding/json"
	"github.com/crmhub/crmhub/connectors/internal/opt"
	"net/http"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"
)

// Message limits and codes (see doc.go).
const (
	maxText         = 4096
	maxCaption      = 1024
	maxTemplateName = 512
	// ServiceWindow is how long after a contact's last inbound message
	// freeform messages are accepted.
	ServiceWindow = 24 * time.Hour
	// CodeOutsideWindow refuses a freeform message outside the window.
	CodeOutsideWindow = "OUTSIDE_24H_WINDOW"
)

// messageTypes are the types POST /messages accepts.
var messageTypes = []string{"text", "image", "audio", "video", "document", "template"}

// Message is a message the fake accepted on POST /messages.
type Message struct {
	MessageID string    `json:"message_id"`
	To        string    `json:"to"`
	Type      string    `json:"type"`
	Text      string    `json:"text,omitempty"`
	MediaURL  string    `json:"media_url,omitempty"`
	Template  *Template `json:"template,omitempty"`
	ReplyTo   string    `json:"reply_to,omitempty"`
	// IdempotencyKey is the request's Idempotency-Key header.
	IdempotencyKey string    `json:"-"`
	SentAt         time.Time `json:"-"`
}

// Template is a template message's template.
type Template struct {
	Name       string         `json:"name"`
	Language   string         `json:"language"`
	Components map[string]any `json:"components,omitempty"`
}

// Messages returns the messages accepted so far, oldest first.
func (f *Fake) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.messages)
}

// OpenWindow records an inbound message from phone at the fake's now, as
// Receive does, without building a webhook.
func (f *Fake) OpenWindow(phone string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inbound[digitsOf(phone)] = f.opts.Now()
}

func (f *Fake) sendMessage(w http.ResponseWriter, r *http.Request) {
	o := readObject(r)
	if o == nil {
		badRequest(w, "The body must be a JSON object.")
		return
	}
	m, errs := parseMessage(o)
	if len(errs) > 0 {
		validationError(w, errs)
		return
	}
	m.IdempotencyKey = r.Header.Get("Idempotency-Key")
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := slices.IndexFunc(f.messages, func(s Message) bool {
		return m.IdempotencyKey != "" && s.IdempotencyKey == m.IdempotencyKey
	}); i >= 0 {
		writeSent(w, f.messages[i])
		return
	}
	now := f.opts.Now()
	if last, ok := f.inbound[m.To]; m.Type != "template" && (!ok || now.Sub(last) > ServiceWindow) {
		writeError(w, http.StatusUnprocessableEntity, CodeOutsideWindow,
			"Freeform messages can only be sent within 24 hours of the contact's last message; send a template", nil)
		return
	}
	if f.opts.RefuseMessage != nil {
		if fault := f.opts.RefuseMessage(m); fault != nil {
			writeFault(w, *fault)
			return
		}
	}
	m.MessageID = f.newID("msg")
	m.SentAt = now
	f.messages = append(f.messages, m)
	writeSent(w, m)
}

func writeSent(w http.ResponseWriter, m Message) {
	writeData(w, http.StatusCreated, map[string]string{"message_id": m.MessageID, "status": "queued"}, nil)
}

// parseMessage checks a send's body and returns the fields at fault.
func parseMessage(o object) (Message, []FieldError) {
	var ck checker
	var m Message
	if to := ck.str(o, "to", maxPhone+1); to == nil {
		ck.fail("to", "is required")
	} else {
		m.To = ck.phone("to", *to)
	}
	if t := ck.str(o, "type", 20); t == nil || !slices.Contains(messageTypes, *t) {
		ck.fail("type", "must be one of text, image, audio, video, document, template")
	} else {
		m.Type = *t
	}
	m.Text = opt.Deref(ck.str(o, "text", maxText))
	m.MediaURL = opt.Deref(ck.str(o, "media_url", 2048))
	m.ReplyTo = opt.Deref(ck.str(o, "reply_to", 255))
	switch m.Type {
	case "text":
		if m.Text == "" {
			ck.fail("text", "is required for a text message")
		}
	case "template":
		m.Template = parseTemplate(&ck, o["template"])
	case "":
	default: // media
		if !isHTTPURL(m.MediaURL) {
			ck.fail("media_url", "must be an http(s) URL")
		}
		if utf8.RuneCountInString(m.Text) > maxCaption {
			ck.fail("text", "a caption is at most 1024 characters")
		}
	}
	return m, ck.errs
}

func parseTemplate(ck *checker, raw json.RawMessage) *Template {
	var t Template
	if len(raw) == 0 || json.Unmarshal(raw, &t) != nil {
		ck.fail("template", "is required for a template message")
		return nil
	}
	if t.Name == "" || utf8.RuneCountInString(t.Name) > maxTemplateName {
		ck.fail("template.name", "is required")
	}
	if t.Language == "" {
		ck.fail("template.language", "is required")
	}
	return &t
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func digitsOf(s string) string {
	out := make([]byte, 0, len(s))
	for _, c := range []byte(s) {
		if c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	return string(out)
}
