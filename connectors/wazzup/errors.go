package wazzup

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/crmhub/crmhub/connectors"
)

// Error codes the documents name. The sync engine compares
// connectors.RequestError.Code and BatchError.Code with them.
const (
	CodeInvalidContactsData = "INVALID_CONTACTS_DATA"
	// CodeTooManyEntities keeps the documented spelling.
	CodeTooManyEntities = "TOO_MACH_ENTITIES"
	CodeValidation      = "VALIDATION_ERROR"
	CodeUnknown         = "UNKNOWN_ERROR"

	// send_message errors (wazzup-v2.txt, "Error sending messages").
	CodeMessageWrongContentType     = "MESSAGE_WRONG_CONTENT_TYPE"
	CodeMessageOnlyTextOrContent    = "MESSAGE_ONLY_TEXT_OR_CONTENT"
	CodeMessageNothingToSend        = "MESSAGE_NOTHING_TO_SEND"
	CodeMessageTextTooLong          = "MESSAGE_TEXT_TOO_LONG"
	CodeMessageContentCanNotBeBlank = "MESSAGE_CONTENT_CAN_NOT_BE_BLANK"
	CodeMessageContentSizeExceeded  = "MESSAGE_CONTENT_SIZE_EXCEEDED"
	CodeMessageTextCanNotBeBlank    = "MESSAGE_TEXT_CAN_NOT_BE_BLANK"
	CodeChannelNotFound             = "CHANNEL_NOT_FOUND"
	CodeChannelBlocked              = "CHANNEL_BLOCKED"
	CodeMessageDownloadContentError = "MESSAGE_DOWNLOAD_CONTENT_ERROR"
	CodeMessagesNotTextFirst        = "MESSAGES_NOT_TEXT_FIRST"
	CodeMessagesIsSpam              = "MESSAGES_IS_SPAM"
	CodeChatWrongChatType           = "CHAT_WRONG_CHAT_TYPE"
	CodeChatMissingChatType         = "CHAT_MISSING_CHAT_TYPE"
	CodeChatIncorrectChatIDWhatsApp = "CHAT_INCORRECT_CHAT_ID_WHATSAPP"
	CodeChatMissingChatID           = "CHAT_MISSING_CHAT_ID"
	CodeAccountNotFound             = "ACCOUNT_NOT_FOUND"
	CodeContactNotFound             = "CONTACT_NOT_FOUND"
	CodeChannelNoMoney              = "CHANNEL_NO_MONEY"
	CodeMessageChannelUnavailable   = "MESSAGE_CHANNEL_UNAVAILABLE"
	CodeContactDetailNotFound       = "CONTACT_DETAIL_NOT_FOUND"
	CodeMessagesAbnormalSend        = "MESSAGES_ABNORMAL_SEND"
	CodeMessagesInvalidContactType  = "MESSAGES_INVALID_CONTACT_TYPE"
	CodeMessagesCanNotAdd           = "MESSAGES_CAN_NOT_ADD"
	CodeReferenceMessageNotFound    = "REFERENCE_MESSAGE_NOT_FOUND"
)

// BatchError is a 400 that names the records of a batch it refused, such as
// INVALID_CONTACTS_DATA. The remote stored none of the batch, valid records
// included: use DropRejected to resend the rest. errors.As finds each
// connectors.ItemError through Unwrap.
type BatchError struct {
	Status      int
	Code        string
	Description string
	// Items holds one error per refused record, Index being its position
	// in the batch as sent and ID its id when the client knows it.
	Items []connectors.ItemError
}

func (e *BatchError) Error() string {
	parts := make([]string, len(e.Items))
	for i, it := range e.Items {
		parts[i] = fmt.Sprintf("#%d %s %v", it.Index, it.ID, it.Fields)
	}
	return fmt.Sprintf("wazzup: remote refused the batch (HTTP %d %s: %s): %s",
		e.Status, e.Code, e.Description, strings.Join(parts, "; "))
}

// Unwrap returns the per-record errors.
func (e *BatchError) Unwrap() []error {
	errs := make([]error, len(e.Items))
	for i, it := range e.Items {
		errs[i] = it
	}
	return errs
}

// TooManyEntitiesError is the v3 TOO_MACH_ENTITIES answer with the
// "data" it documents: Count, the records sent, and Limit, the most Wazzup
// takes in one request (0 when the body did not say). errors.As also finds
// the *connectors.RequestError it wraps.
type TooManyEntitiesError struct {
	*connectors.RequestError
	Count, Limit int
}

// Unwrap returns the request error.
func (e *TooManyEntitiesError) Unwrap() error { return e.RequestError }

// DropRejected splits a batch the remote refused as a whole. When err is
// (or wraps) a *BatchError, it returns the records the error does not name,
// in their order, ready to be resent, and the errors of the records it
// names; ok is true. For any other error, ok is false and the batch should
// not be resent unchanged.
func DropRejected[T any](batch []T, err error) (valid []T, rejected []connectors.ItemError, ok bool) {
	var be *BatchError
	if !errors.As(err, &be) {
		return nil, nil, false
	}
	bad := make(map[int]bool, len(be.Items))
	for _, it := range be.Items {
		bad[it.Index] = true
	}
	valid = make([]T, 0, len(batch))
	for i, rec := range batch {
		if !bad[i] {
			valid = append(valid, rec)
		}
	}
	return valid, be.Items, true
}

// IsNotFound reports whether err is the remote's 404 for a missing record.
func IsNotFound(err error) bool { return connectors.HasStatus(err, http.StatusNotFound) }

// nameItems fills in the id of each refused record from the batch sent.
func nameItems(err error, id func(i int) string, n int) error {
	var be *BatchError
	if errors.As(err, &be) {
		for i := range be.Items {
			if idx := be.Items[i].Index; idx >= 0 && idx < n {
				be.Items[i].ID = id(idx)
			}
		}
	}
	return err
}
