package wazzup

import (
	"errors"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
)

// sendErrorTemporary classifies every send_message error code of
// wazzup-v2.txt ("Error sending messages"): true when sending the same
// message again later may succeed, false when it cannot without someone
// changing the message, the contact or the account. A temporary refusal
// leaves the hub's message QUEUED, retried with backoff until it expires;
// a permanent one makes it FAILED with the code at once. Each entry says
// from the document's text why.
var sendErrorTemporary = map[string]bool{
	// The message itself is wrong: the same message fails the same way.
	CodeMessageWrongContentType:     false, // the content type is unsupported
	CodeMessageOnlyTextOrContent:    false, // text and content together
	CodeMessageNothingToSend:        false, // no text
	CodeMessageTextTooLong:          false, // over 10,000 characters
	CodeMessageContentCanNotBeBlank: false, // no content attached
	CodeMessageContentSizeExceeded:  false, // larger than WhatsApp allows
	CodeMessageTextCanNotBeBlank:    false, // blank text
	CodeChatWrongChatType:           false, // a messenger Wazzup does not send to
	CodeChatMissingChatType:         false, // chatType not passed
	CodeChatIncorrectChatIDWhatsApp: false, // not a 9-16 digit number
	CodeChatMissingChatID:           false, // chatId not passed
	CodeValidation:                  false, // a parameter fails validation
	CodeReferenceMessageNotFound:    false, // the quoted message does not exist
	CodeMessagesIsSpam:              false, // Wazzup rated it spam: resending is more spam

	// The account, the channel or the contact is not set up for this send:
	// someone must act (connect, pay, switch on, change tariff) first, and
	// a message sent hours later once they have would surprise everyone.
	CodeChannelNotFound:            false, // no such channel in the integration
	CodeChannelBlocked:             false, // "the channel ... is off"
	CodeChannelNoMoney:             false, // "the channel is not paid"
	CodeMessagesNotTextFirst:       false, // the "Start" tariff cannot write first
	CodeAccountNotFound:            false, // no such account in the integration
	CodeContactNotFound:            false, // no chat with this number
	CodeContactDetailNotFound:      false, // no contact information
	CodeMessagesAbnormalSend:       false, // chat type does not match the contact's source
	CodeMessagesInvalidContactType: false, // the same, for Instagram

	// The channel is momentarily unavailable: "Phone not available" or
	// "Wait a minute" are states that pass by themselves.
	CodeMessageChannelUnavailable: true,
	// Wazzup failed to fetch the file at the link: the host may be down
	// for a while; a link Wazzup cannot use at all is
	// MESSAGE_WRONG_CONTENT_TYPE or MESSAGE_CONTENT_SIZE_EXCEEDED.
	CodeMessageDownloadContentError: true,
	// "The message was not sent. An unexpected server error has occurred":
	// nothing was sent, so a retry cannot duplicate it, and an unexpected
	// server error is the textbook passing failure.
	CodeMessagesCanNotAdd: true,
	// "Unknown error. Contact support.": the document sends the integrator
	// to support, not to retry; retrying for days would hide the problem.
	CodeUnknown: false,
}

// SendErrorTemporary reports whether Wazzup's send_message error code is
// worth retrying later (see sendErrorTemporary for each code's reason);
// known is false for a code the document does not list.
func SendErrorTemporary(code string) (temporary, known bool) {
	temporary, known = sendErrorTemporary[code]
	return temporary, known
}

// classifySendError turns send_message's error into what the hub's outbox
// branches on: a *crmhub.SendError (the message FAILS with the code) for a
// permanent refusal, a *connectors.TransientError carrying the code (the
// message stays QUEUED and is retried) for a temporary one. A code the
// document does not list is judged by the HTTP status: 5xx temporary, 4xx
// permanent. Errors without a code (no answer, 429, 401) pass unchanged.
func classifySendError(err error) error {
	var refused *connectors.RequestError
	var failed *connectors.TransientError
	status, code, msg := 0, "", ""
	switch {
	case errors.As(err, &refused) && refused.Code != "":
		status, code, msg = refused.Status, refused.Code, refused.Message
	case errors.As(err, &failed) && failed.Code != "":
		status, code, msg = failed.Status, failed.Code, failed.Err.Error()
	default:
		return err
	}
	temporary, known := SendErrorTemporary(code)
	if !known {
		temporary = status >= 500
	}
	if temporary {
		return &connectors.TransientError{Status: status, Code: code, Err: err}
	}
	if failed != nil {
		msg = "Wazzup answered " + code // a 5xx body is not the user's to read
	}
	return &crmhub.SendError{Code: code, Message: msg}
}
