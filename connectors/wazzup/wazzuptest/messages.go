package wazzuptest

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxTextLength is the documented limit of a message text, in characters.
const maxTextLength = 10000

// messageErrors are the send_message error codes and descriptions of
// wazzup-v2.txt, "Error sending messages".
var messageErrors = map[string]string{
	"MESSAGE_WRONG_CONTENT_TYPE":       "Invalid content type. Occurs when the content type could not be determined or is not supported.",
	"MESSAGE_ONLY_TEXT_OR_CONTENT":     "The message can contain text or content. You cannot send text and content to WhatsApp and Instagram at the same time.",
	"MESSAGE_NOTHING_TO_SEND":          "Message text not found.",
	"MESSAGE_TEXT_TOO_LONG":            "The text message is longer than 10,000 characters.",
	"MESSAGE_CONTENT_CAN_NOT_BE_BLANK": "File content cannot be empty. Occurs when sending a non-text message to which no content has been attached.",
	"MESSAGE_CONTENT_SIZE_EXCEEDED":    "Content exceeds the size allowed for WhatsApp.",
	"MESSAGE_TEXT_CAN_NOT_BE_BLANK":    "Text message cannot be empty.",
	"CHANNEL_NOT_FOUND":                "The channel through which the message is sent was not found in the integration.",
	"CHANNEL_BLOCKED":                  "The channel through which the message is sent is off.",
	"MESSAGE_DOWNLOAD_CONTENT_ERROR":   "Failed to download content from the specified link.",
	"MESSAGES_NOT_TEXT_FIRST":          "On the \"Start\" tariff you cannot write first.",
	"MESSAGES_IS_SPAM":                 "Wazzup rated this message as spam.",
	"CHAT_WRONG_CHAT_TYPE":             "Invalid chat type. Occurs when you send an outgoing message to a messenger that is not included in the [INSTAGRAM, WHATSAPP, VK, TELEGRAM] list.",
	"CHAT_MISSING_CHAT_TYPE":           "chatType not passed. Select the type of chat from the [INSTAGRAM, WHATSAPP, VK, TELEGRAM] list.",
	"CHAT_INCORRECT_CHAT_ID_WHATSAPP":  "Invalid WhatsApp number. The phone number must be in international format: contain from 9 to 16 digits, for Russian numbers start with 7.",
	"CHAT_MISSING_CHAT_ID":             "Chat ID not transmitted.",
	"VALIDATION_ERROR":                 "Validation error for the parameter passed to the request.",
	"ACCOUNT_NOT_FOUND":                "Account not found in integration.",
	"CONTACT_NOT_FOUND":                "The contact was not found among the account contacts - there is no chat with this phone number.",
	"CHANNEL_NO_MONEY":                 "The channel is not paid and has the status \"Not paid\".",
	"MESSAGE_CHANNEL_UNAVAILABLE":      "The channel from which the message is sent is not available. Channel has status \"Phone not available\" or \"Wait a minute\".",
	"CONTACT_DETAIL_NOT_FOUND":         "No contact information.",
	"MESSAGES_ABNORMAL_SEND":           "The chat type does not match the source of the contact.",
	"MESSAGES_INVALID_CONTACT_TYPE":    "The chat type does not match the Instagram contact source.",
	"MESSAGES_CAN_NOT_ADD":             "The message was not sent. An unexpected server error has occurred.",
	"REFERENCE_MESSAGE_NOT_FOUND":      "An error occurs during quoting if the message to which the quotation is attached could not be found.",
	"UNKNOWN_ERROR":                    "Unknown error. Contact support.",
}

// SendErrorCodes returns every send_message error code of wazzup-v2.txt,
// sorted, so tests can check that a client handles each of them.
func SendErrorCodes() []string {
	codes := make([]string, 0, len(messageErrors))
	for code := range messageErrors {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	return codes
}

// sendChatTypes are the chat types send_message accepts.
var sendChatTypes = []string{"whatsapp", "instagram", "telegram", "vk"}

// Message is a message the fake accepted on POST /v2/send_message.
type Message struct {
	MessageID    string `json:"messageId"`
	ChannelID    string `json:"channelId"`
	ChatType     string `json:"chatType"`
	ChatID       string `json:"chatId"`
	Text         string `json:"text,omitempty"`
	Content      string `json:"content,omitempty"`
	RefMessageID string `json:"refMessageId,omitempty"`
}

// Messages returns the messages sent so far, oldest first.
func (f *Fake) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.messages)
}

func (f *Fake) sendMessage(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	o := readObject(b)
	if err != nil || o == nil {
		refuseMessage(w, "VALIDATION_ERROR")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, code := f.checkMessage(o)
	if code == "" && f.opts.RefuseMessage != nil {
		code = f.opts.RefuseMessage(m)
	}
	if code != "" {
		refuseMessage(w, code)
		return
	}
	m.MessageID = newUUID()
	f.messages = append(f.messages, m)
	writeJSON(w, http.StatusCreated, struct {
		MessageID string `json:"messageId"`
	}{m.MessageID})
}

// checkMessage applies the documented rules the fake can decide alone and
// returns the first error code that applies; f.mu is held.
func (f *Fake) checkMessage(o object) (Message, string) {
	var m Message
	var ok [6]bool
	m.ChannelID, ok[0] = o.str("channelId", 0, true)
	m.ChatType, ok[1] = o.str("chatType", 0, false)
	m.ChatID, ok[2] = o.str("chatId", 0, false)
	m.Text, ok[3] = o.str("text", 0, false)
	m.Content, ok[4] = o.str("content", 0, false)
	m.RefMessageID, ok[5] = o.str("refMessageId", 0, false)
	if slices.Contains(ok[:], false) {
		return m, "VALIDATION_ERROR"
	}
	i := slices.IndexFunc(f.channels, func(c Channel) bool { return c.ChannelID == m.ChannelID })
	hasText, hasContent := o.present("text"), o.present("content")
	twoParts := m.ChatType == "whatsapp" || m.ChatType == "instagram"
	switch {
	case i < 0:
		return m, "CHANNEL_NOT_FOUND"
	case m.ChatType == "":
		return m, "CHAT_MISSING_CHAT_TYPE"
	case !slices.Contains(sendChatTypes, m.ChatType):
		return m, "CHAT_WRONG_CHAT_TYPE"
	case m.ChatID == "":
		return m, "CHAT_MISSING_CHAT_ID"
	case m.ChatType == "whatsapp" && !isDigits(m.ChatID, chatIDMinDigits, chatIDMaxDigits):
		return m, "CHAT_INCORRECT_CHAT_ID_WHATSAPP"
	}
	if code := channelRefusal(f.channels[i], m.ChatType); code != "" {
		return m, code
	}
	switch {
	case !hasText && !hasContent:
		return m, "MESSAGE_NOTHING_TO_SEND"
	case hasText && hasContent && twoParts:
		return m, "MESSAGE_ONLY_TEXT_OR_CONTENT"
	case hasText && strings.TrimSpace(m.Text) == "":
		return m, "MESSAGE_TEXT_CAN_NOT_BE_BLANK"
	case utf8.RuneCountInString(m.Text) > maxTextLength:
		return m, "MESSAGE_TEXT_TOO_LONG"
	case hasContent && strings.TrimSpace(m.Content) == "":
		return m, "MESSAGE_CONTENT_CAN_NOT_BE_BLANK"
	case hasContent && !isHTTPURL(m.Content):
		return m, "MESSAGE_DOWNLOAD_CONTENT_ERROR"
	case m.RefMessageID != "" && !slices.ContainsFunc(f.messages, func(s Message) bool { return s.MessageID == m.RefMessageID }):
		return m, "REFERENCE_MESSAGE_NOT_FOUND"
	}
	return m, ""
}

// channelRefusal returns the code for sending chatType through ch, "" when
// the channel can send it.
func channelRefusal(ch Channel, chatType string) string {
	switch {
	case ch.State == "disabled":
		return "CHANNEL_BLOCKED"
	case ch.State == "notEnoughMoney":
		return "CHANNEL_NO_MONEY"
	case ch.State != "active":
		return "MESSAGE_CHANNEL_UNAVAILABLE"
	case ch.Transport == "instagram" && chatType != "instagram":
		return "MESSAGES_INVALID_CONTACT_TYPE"
	case ch.Transport != chatType:
		return "MESSAGES_ABNORMAL_SEND"
	}
	return ""
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// refuseMessage answers a send_message error code with its documented
// description: 500 for the two server-side codes, 400 otherwise.
func refuseMessage(w http.ResponseWriter, code string) {
	status := http.StatusBadRequest
	if code == "UNKNOWN_ERROR" || code == "MESSAGES_CAN_NOT_ADD" {
		status = http.StatusInternalServerError
	}
	writeError(w, status, code, messageErrors[code], nil)
}

// newUUID returns a random (version 4) UUID, the documented messageId form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
