package wazzup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/httpclient"
)

// Scopes of the chat window (POST /v2/iframe).
const (
	ScopeGlobal = "global"
	ScopeCard   = "card"
)

// IframeRequest is the body of POST /v2/iframe.
type IframeRequest struct {
	User IframeUser `json:"user"`
	// Scope is ScopeGlobal, or ScopeCard for the window of one entity's
	// card, which shows the chats of Filter.
	Scope  string       `json:"scope"`
	Filter []IframeChat `json:"filter,omitempty"`
	// ActiveChat is open first; an object as the parameter table says
	// (the document's example shows a one-element array).
	ActiveChat *IframeChat `json:"activeChat,omitempty"`
}

// IframeUser is the CRM user opening the window; Name is shown as the
// sender of what they write.
type IframeUser struct {
	ID   ID     `json:"id"`
	Name string `json:"name"`
}

// IframeChat is one chat: ChatID as for send_message (digits for
// WhatsApp, the account without "@" for Instagram).
type IframeChat struct {
	ChatType string `json:"chatType"`
	ChatID   string `json:"chatId"`
	Name     string `json:"name,omitempty"`
}

// Iframe asks for a chat window URL (POST /v2/iframe). The document does
// not show the answer; the client reads {"url": URL} and is tolerant of
// {"link": URL} and of a bare JSON string. Only an absolute http(s) URL is
// returned.
func (c *Client) Iframe(ctx context.Context, req IframeRequest) (string, error) {
	var raw json.RawMessage
	if err := c.http.Do(ctx, httpclient.Request{Method: "POST", Path: "/v2/iframe", In: req, Out: &raw}); err != nil {
		return "", err
	}
	var s string
	if raw = bytes.TrimSpace(raw); len(raw) > 0 && raw[0] == '"' {
		_ = json.Unmarshal(raw, &s)
	} else {
		var body struct{ URL, Link string }
		_ = json.Unmarshal(raw, &body)
		s = firstNonEmpty(body.URL, body.Link)
	}
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("wazzup: POST /v2/iframe answered without a window URL")
	}
	return s, nil
}

var _ connectors.ChatWindow = (*Connector)(nil)

// ChatWindowURL opens Wazzup's chat window for req.User: global, or the
// card of req.Contact showing its WhatsApp, Instagram, Telegram (numeric
// id) and VK chats, req.ActiveChannel's chat open first. A contact
// without such a chat, or an active channel it has no chat on, is
// EINVALID.
func (c *Connector) ChatWindowURL(ctx context.Context, req connectors.ChatWindowRequest) (string, error) {
	ifr := IframeRequest{User: IframeUser{ID: ID(req.UserID), Name: req.UserName}, Scope: ScopeGlobal}
	if req.Contact != nil {
		ifr.Scope = ScopeCard
		for _, cd := range contactDataToWire(req.Contact.Identifiers) {
			if cd.ChatID != "" {
				ifr.Filter = append(ifr.Filter, IframeChat{ChatType: cd.ChatType, ChatID: string(cd.ChatID), Name: req.Contact.Name})
			}
		}
		if len(ifr.Filter) == 0 {
			return "", crmhub.Invalid("contactId", "the contact has no WhatsApp, Instagram, Telegram or VK chat Wazzup can show")
		}
	}
	if req.ActiveChannel != nil {
		chat := channelChats[*req.ActiveChannel]
		for i := range ifr.Filter {
			if ifr.Filter[i].ChatType == chat {
				ifr.ActiveChat = &ifr.Filter[i]
				break
			}
		}
		if ifr.ActiveChat == nil {
			return "", crmhub.Invalid("activeChannel", "the contact has no %s chat to open", strings.ToLower(string(*req.ActiveChannel)))
		}
	}
	return c.client.Iframe(ctx, ifr)
}
