package wazzup

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

// TestSendErrorTableCoversTheDocument checks that every documented
// send_message code is classified, and nothing else.
func TestSendErrorTableCoversTheDocument(t *testing.T) {
	documented := wazzuptest.SendErrorCodes()
	if len(documented) != 27 {
		t.Fatalf("the document lists 27 codes, the fake %d", len(documented))
	}
	classified := slices.Sorted(maps.Keys(sendErrorTemporary))
	if !slices.Equal(documented, classified) {
		t.Fatalf("classified %v\ndocumented %v", classified, documented)
	}
}

// TestSendMessageClassifiesEachError sends one message per documented code
// through the connector against the fake, which refuses it with that code
// (500 for the server-side ones, 400 for the rest, as the fake's doc
// says), and checks the hub sees a permanent refusal or a retryable error.
func TestSendMessageClassifiesEachError(t *testing.T) {
	const channel = "3376e1c3-26a6-478b-b964-72bf01cc22cb"
	var refuse string
	f := startFake(t, wazzuptest.Options{
		Channels:      []wazzuptest.Channel{{ChannelID: channel, Transport: ChatWhatsApp, PlainID: "79865784457", State: StateActive}},
		RefuseMessage: func(wazzuptest.Message) string { return refuse },
	}, map[string]any{OptionChannelID: channel})
	text := "hello"
	msg := crmhub.OutboundMessage{Channel: crmhub.ChannelWhatsApp, ChatID: "+79991114433",
		Message: &crmhub.Message{Type: crmhub.MessageText, Text: &text}}
	temporary := map[string]bool{CodeMessageChannelUnavailable: true, CodeMessageDownloadContentError: true,
		CodeMessagesCanNotAdd: true}
	for _, code := range wazzuptest.SendErrorCodes() {
		refuse = code
		_, err := f.conn.SendMessage(t.Context(), msg)
		var se *crmhub.SendError
		var te *connectors.TransientError
		switch {
		case temporary[code]:
			if !errors.As(err, &te) || te.Code != code || errors.As(err, &se) {
				t.Errorf("%s: got %v, want a TransientError with the code", code, err)
			}
		case !errors.As(err, &se) || se.Code != code || se.Message == "":
			t.Errorf("%s: got %v, want a SendError with the code", code, err)
		}
	}
	refuse = ""
	if res, err := f.conn.SendMessage(t.Context(), msg); err != nil || res.ExternalID == "" {
		t.Fatalf("accepted message: %+v, %v", res, err)
	}
}

// TestClassifySendErrorUnknownCodes judges a code the document does not
// list by its HTTP status, and passes errors without a code through.
func TestClassifySendErrorUnknownCodes(t *testing.T) {
	var se *crmhub.SendError
	if err := classifySendError(&connectors.RequestError{Status: http.StatusBadRequest, Code: "NEW_CODE", Message: "m"}); !errors.As(err, &se) {
		t.Errorf("unknown 4xx: %v", err)
	}
	var te *connectors.TransientError
	if err := classifySendError(&connectors.TransientError{Status: 503, Code: "NEW_CODE", Err: errors.New("x")}); !errors.As(err, &te) ||
		errors.As(err, &se) {
		t.Errorf("unknown 5xx: %v", err)
	}
	rl := &connectors.RateLimitError{}
	if err := classifySendError(rl); err != rl {
		t.Errorf("429 changed: %v", err)
	}
}

// TestSendMessageRefusesWhatWazzupCannotCarry: templates, channels Wazzup
// has no chat type for, and a messenger without an active channel fail
// at once, without a request.
func TestSendMessageRefusesWhatWazzupCannotCarry(t *testing.T) {
	f := startFake(t, wazzuptest.Options{Channels: []wazzuptest.Channel{{ChannelID: "c1", Transport: ChatWhatsApp, State: StateQR}}}, nil)
	text := "hi"
	cases := map[string]crmhub.OutboundMessage{
		"TEMPLATE_NOT_SUPPORTED": {Channel: crmhub.ChannelWhatsApp, ChatID: "79991114433",
			Message: &crmhub.Message{Type: crmhub.MessageTemplate, Template: &crmhub.Template{Name: "t", Language: "en"}}},
		"UNSUPPORTED_CHANNEL": {Channel: crmhub.ChannelSMS, ChatID: "+79991114433", Message: &crmhub.Message{Type: crmhub.MessageText, Text: &text}},
		"NO_ACTIVE_CHANNEL":   {Channel: crmhub.ChannelWhatsApp, ChatID: "79991114433", Message: &crmhub.Message{Type: crmhub.MessageText, Text: &text}},
	}
	for code, m := range cases {
		var se *crmhub.SendError
		if _, err := f.conn.SendMessage(t.Context(), m); !errors.As(err, &se) || se.Code != code {
			t.Errorf("%s: %v", code, err)
		}
	}
	if n := f.s.Calls(wazzuptest.RouteSendMessage); n != 0 {
		t.Fatalf("%d sends reached Wazzup", n)
	}
}
