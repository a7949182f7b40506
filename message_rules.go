package crmhub

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// AllowsCaption reports whether a media message on the channel may carry
// text beside its content. WhatsApp, Telegram and email do; Instagram, VK
// and SMS deliver media and text as separate messages, so crmhub refuses
// the combination there rather than silently dropping the text.
func (c Channel) AllowsCaption() bool {
	return c == ChannelWhatsApp || c == ChannelTelegram || c == ChannelEmail
}

// NormalizeChatID returns a chat id in the form the channel's identity type
// stores (a WhatsApp number in E.164, a username without "@").
func NormalizeChatID(ch Channel, chatID string) (string, error) {
	if !ch.Valid() {
		return "", Invalid("channel", "unknown channel %q", ch)
	}
	id, err := Identifier{Type: ch.IdentityType(), Value: chatID}.Normalize()
	if err != nil {
		e := *err.(*Error)
		e.Field = "chatId"
		return "", &e
	}
	return id.Value, nil
}

// ValidateContent checks a message's content against its type and channel:
// TEXT needs text (at most MaxMessageText characters), media need an http(s)
// content URL, TEMPLATE needs a template with name and language and nothing
// else. Inbound messages cannot be templates and may always carry a caption.
func ValidateContent(ch Channel, typ MessageType, text, contentURL *string, tpl *Template, inbound bool) error {
	hasText := text != nil && strings.TrimSpace(*text) != ""
	hasURL := contentURL != nil && strings.TrimSpace(*contentURL) != ""
	if text != nil && utf8.RuneCountInString(*text) > MaxMessageText {
		return Invalid("text", "text is longer than %d characters", MaxMessageText)
	}
	if text != nil && !Storable(*text) {
		return unstorable("text")
	}
	if contentURL != nil && !Storable(*contentURL) {
		return unstorable("contentUrl")
	}
	switch {
	case typ == MessageText:
		if !hasText {
			return Invalid("text", "a TEXT message needs text")
		}
		if hasURL || tpl != nil {
			return Invalid("contentUrl", "a TEXT message carries text only")
		}
	case typ.IsMedia():
		if ch == ChannelSMS {
			return Invalid("type", "SMS carries text only")
		}
		if !hasURL {
			return Invalid("contentUrl", "a %s message needs contentUrl", typ)
		}
		if len(*contentURL) > MaxContentURL {
			return Invalid("contentUrl", "contentUrl is longer than %d characters", MaxContentURL)
		}
		if u, err := url.Parse(strings.TrimSpace(*contentURL)); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Invalid("contentUrl", "contentUrl must be an absolute http or https URL")
		}
		if hasText && !inbound && !ch.AllowsCaption() {
			return Invalid("text", "%s does not allow text beside media", ch)
		}
		if tpl != nil {
			return Invalid("template", "only TEMPLATE messages carry a template")
		}
	case typ == MessageTemplate:
		if inbound {
			return Invalid("type", "an inbound message cannot be a template")
		}
		if tpl == nil {
			return Invalid("template", "a TEMPLATE message needs a template")
		}
		if n := strings.TrimSpace(tpl.Name); n == "" || utf8.RuneCountInString(n) > MaxTemplateName {
			return Invalid("template.name", "template name must have 1 to %d characters", MaxTemplateName)
		}
		if l := strings.TrimSpace(tpl.Language); l == "" || len(l) > 20 {
			return Invalid("template.language", "template language must have 1 to 20 characters")
		}
		if hasText || hasURL {
			return Invalid("text", "a TEMPLATE message carries its template only")
		}
	default:
		return Invalid("type", "unknown message type %q", typ)
	}
	return nil
}
