package wazzuptest

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
)

// IframeURLPrefix starts every chat window URL the fake answers.
const IframeURLPrefix = "https://iframe.wazzup24.test/"

// Iframe is a chat window request the fake served (POST /v2/iframe), in
// the documented shape.
type Iframe struct {
	UserID     string       `json:"-"`
	UserName   string       `json:"-"`
	Scope      string       `json:"scope"`
	Filter     []IframeChat `json:"filter"`
	ActiveChat *IframeChat  `json:"activeChat"`
	// URL is the window URL the fake answered.
	URL string `json:"-"`
}

// IframeChat is one chat of an iframe request's filter or activeChat.
type IframeChat struct {
	ChatType string `json:"chatType"`
	ChatID   string `json:"chatId"`
	Name     string `json:"name,omitempty"`
}

// Iframes returns the chat window requests served so far, oldest first.
func (f *Fake) Iframes() []Iframe {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.iframes)
}

// iframe serves POST /v2/iframe. The document gives no answer; the fake
// answers 200 {"url": ...}, the reading the client documents. user (id a
// string of up to 64 characters or an integer, name a string) and scope
// ("global" or "card") are required, filter when scope is card; every
// chat needs a chatType send_message accepts and a chatId. activeChat is
// an object (the parameter table) or a one-element array (the example).
// Anything else is 400 VALIDATION_ERROR.
func (f *Fake) iframe(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	o := readObject(b)
	req, ok := Iframe{}, err == nil && o != nil
	if ok {
		req, ok = parseIframe(o)
	}
	if !ok {
		validationError(w, "Validation error for the parameter passed to the request.", nil)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	req.URL = IframeURLPrefix + newUUID()
	f.iframes = append(f.iframes, req)
	writeJSON(w, http.StatusOK, map[string]string{"url": req.URL})
}

func parseIframe(o object) (Iframe, bool) {
	var req Iframe
	user := readObject(o["user"])
	if user == nil {
		return req, false
	}
	var okID, okName, okScope bool
	req.UserID, okID = user.anyID("id", 64, true)
	req.UserName, okName = user.str("name", 0, true)
	req.Scope, okScope = o.str("scope", 0, true)
	if !okID || !okName || !okScope || (req.Scope != "global" && req.Scope != "card") {
		return req, false
	}
	if o.present("filter") && json.Unmarshal(o["filter"], &req.Filter) != nil {
		return req, false
	}
	if req.Scope == "card" && len(req.Filter) == 0 {
		return req, false
	}
	if raw := o["activeChat"]; o.present("activeChat") {
		var one []IframeChat
		if raw[0] == '[' && json.Unmarshal(raw, &one) == nil && len(one) == 1 {
			req.ActiveChat = &one[0]
		} else if json.Unmarshal(raw, &req.ActiveChat) != nil {
			return req, false
		}
	}
	chats := slices.Clone(req.Filter)
	if req.ActiveChat != nil {
		chats = append(chats, *req.ActiveChat)
	}
	for _, c := range chats {
		if !slices.Contains(sendChatTypes, c.ChatType) || c.ChatID == "" {
			return req, false
		}
	}
	return req, true
}
