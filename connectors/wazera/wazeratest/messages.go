package wazeratest

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// MaxTextBody is the longest text body the fake sends, in characters:
// WhatsApp's limit for a text message, which the document does not give.
const MaxTextBody = 4096

// Message is a message the fake accepted on POST /messages/send.
type Message struct {
	ID                int64           `json:"id"`
	To                string          `json:"to"`
	WhatsAppAccountID int64           `json:"whatsapp_account_id"`
	Type              string          `json:"type"`
	Content           json.RawMessage `json:"content"`
	Status            string          `json:"status"`
	CreatedAt         time.Time       `json:"created_at"`

	// Body is content.body of a text message.
	Body string `json:"-"`
	// Template, Language and Components are those of a template message.
	Template   string          `json:"-"`
	Language   string          `json:"-"`
	Components json.RawMessage `json:"-"`
}

// Messages returns the messages sent so far, oldest first.
func (f *Fake) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.messages)
}

// Message returns the sent message with id.
func (f *Fake) Message(id int64) (Message, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.messages, func(m Message) bool { return m.ID == id })
	if i < 0 {
		return Message{}, false
	}
	return f.messages[i], true
}

func (f *Fake) sendMessage(w http.ResponseWriter, r *http.Request) {
	o := readObject(r)
	if o == nil {
		writeFault(w, Fault{Status: http.StatusBadRequest, Message: "The request body must be a JSON object."})
		return
	}
	m, v := f.checkMessage(o)
	if !v.ok() {
		v.write(w)
		return
	}
	if f.opts.RefuseMessage != nil {
		if code := f.opts.RefuseMessage(m); code != "" {
			writeError(w, http.StatusUnprocessableEntity, code, "The message was refused: "+code+".", nil)
			return
		}
	}
	f.mu.Lock()
	m.ID = f.nextMsgID
	f.nextMsgID++
	m.Status = "sent"
	m.CreatedAt = f.now().UTC()
	f.messages = append(f.messages, m)
	f.mu.Unlock()
	writeData(w, http.StatusCreated, m)
}

// checkMessage validates a send request as the document's two examples
// shape it.
func (f *Fake) checkMessage(o object) (Message, *invalid) {
	v := &invalid{}
	var m Message
	m.To, _ = v.phone(o, "to", true)
	if o.null("whatsapp_account_id") {
		v.fail("whatsapp_account_id", "is required")
	} else if json.Unmarshal(o["whatsapp_account_id"], &m.WhatsAppAccountID) != nil {
		v.fail("whatsapp_account_id", "must be an integer")
	} else if !slices.Contains(f.opts.WhatsAppAccounts, m.WhatsAppAccountID) {
		v.fail("whatsapp_account_id", "is invalid")
	}
	m.Type, _ = v.str(o, "type", true)
	var content object
	if o.null("content") || json.Unmarshal(o["content"], &content) != nil || content == nil {
		v.fail("content", "is required and must be an object")
		return m, v
	}
	m.Content = o["content"]
	v.prefix = "content."
	switch m.Type {
	case "text":
		m.Body, _ = v.strMax(content, "body", MaxTextBody, true)
	case "template":
		m.Template, _ = v.str(content, "name", true)
		m.Language, _ = v.str(content, "language", true)
		if !content.null("components") {
			if json.Unmarshal(content["components"], new([]json.RawMessage)) != nil {
				v.fail("components", "must be an array")
			}
			m.Components = content["components"]
		}
	case "":
	default:
		v.prefix = ""
		v.fail("type", "is invalid")
	}
	v.prefix = ""
	return m, v
}
