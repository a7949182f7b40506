package wazzup_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazzup"
)

func TestParseWebhookMessages(t *testing.T) {
	body := `{"messages": [
	  {"messageId": "m-in", "channelId": "ch-1", "chatType": "whatsapp", "chatId": "79124698489", "dateTime": 1603977171000,
	   "type": 1, "status": 99, "text": "Hello", "authorType": 99, "authorName": "Ivan"},
	  {"messageId": "m-img", "channelId": "ch-1", "chatType": "instagram", "chatId": "wazzuptest", "dateTime": 1603977172000,
	   "type": 2, "status": 99, "content": "https://store.example/abc", "authorType": 99},
	  {"messageId": "m-phone", "channelId": "ch-1", "chatType": "whatsapp", "chatId": 79124698489, "dateTime": 1603977173000,
	   "type": 1, "status": 1, "text": "sent from the phone", "authorType": 0},
	  {"messageId": "m-group", "channelId": "ch-1", "chatType": "whatsgroup", "chatId": "79124698489-1611143663", "type": 1, "status": 99},
	  {"messageId": "m-call", "channelId": "ch-1", "chatType": "whatsapp", "chatId": "79124698489", "type": 21, "status": 99},
	  {"messageId": "m-unsupported", "channelId": "ch-1", "chatType": "telegram", "chatId": "123", "type": 0, "status": 99}
	]}`
	got, err := wazzup.ParseWebhook([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d events, want 3 (group chat, missed call and unsupported skipped): %+v", len(got), got)
	}
	in := got[0].Message
	if got[0].ID != "m-in" || in.Direction != crmhub.Inbound || in.Channel != crmhub.ChannelWhatsApp || in.ChatID != "79124698489" ||
		in.Type != crmhub.MessageText || *in.Text != "Hello" || *in.SenderName != "Ivan" || in.ChannelID != "ch-1" ||
		!in.SentAt.Equal(time.UnixMilli(1603977171000)) {
		t.Errorf("inbound text %+v", in)
	}
	img := got[1].Message
	if img.Channel != crmhub.ChannelInstagram || img.Type != crmhub.MessageImage || *img.ContentURL != "https://store.example/abc" || img.Text != nil {
		t.Errorf("inbound image %+v", img)
	}
	if out := got[2].Message; out.Direction != crmhub.Outbound || out.ChatID != "79124698489" || out.SenderName != nil {
		t.Errorf("message from the phone %+v", out)
	}
}

func TestParseWebhookStatusesAndChannels(t *testing.T) {
	body := `{"statuses": [{"messageId": "a", "status": "0"}, {"messageId": "b", "status": "1"}, {"messageId": "c", "status": 2},
	  {"messageId": "d", "status": "3"}, {"messageId": "e", "status": "14"}, {"messageId": "f", "status": "77"}],
	 "channels": [{"channelId": "ch-1", "transport": "whatsapp", "plainId": "79001234567", "state": "disabled"}],
	 "channelsList": [{"channelId": "ch-2", "transport": "instagram", "plainId": "shop", "state": "active"}]}`
	got, err := wazzup.ParseWebhook([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id     string
		status crmhub.MessageStatus
		code   string
	}{{"b", crmhub.MessageSent, ""}, {"c", crmhub.MessageDelivered, ""}, {"d", crmhub.MessageRead, ""},
		{"e", crmhub.MessageFailed, "MESSAGE_TEXT_TOO_LONG"}, {"f", crmhub.MessageFailed, "WAZZUP_STATUS_77"}}
	if len(got) != len(want)+2 {
		t.Fatalf("%d events: %+v", len(got), got)
	}
	for i, w := range want {
		s := got[i].Status
		code := ""
		if s.ErrorCode != nil {
			code = *s.ErrorCode
		}
		if s.ExternalID != w.id || s.Status != w.status || code != w.code {
			t.Errorf("status %d: %+v (code %q), want %+v", i, s, code, w)
		}
	}
	if ch := got[5].Channel; ch.ChannelID != "ch-1" || ch.State != "disabled" || ch.PlainID != "79001234567" {
		t.Errorf("channel %+v", ch)
	}
	if l := got[6].ChannelList; l == nil || len(l.Channels) != 1 || l.Channels[0].ChannelID != "ch-2" ||
		l.Channels[0].Transport != "instagram" || l.Channels[0].State != "active" {
		t.Errorf("channelsList %+v", got[6])
	}
	// An empty channelsList is a list (every channel removed); no key is none.
	if got, err := wazzup.ParseWebhook([]byte(`{"channelsList": []}`)); err != nil || len(got) != 1 ||
		got[0].ChannelList == nil || len(got[0].ChannelList.Channels) != 0 {
		t.Errorf("empty channelsList: %+v, %v", got, err)
	}
	if got, err := wazzup.ParseWebhook([]byte(`{"channels": []}`)); err != nil || len(got) != 0 {
		t.Errorf("no channelsList: %+v, %v", got, err)
	}
	if _, err := wazzup.ParseWebhook([]byte(`{"messages": [`)); err == nil {
		t.Error("a broken body parsed")
	}
	if _, err := wazzup.ParseWebhook([]byte(`{"statuses": [{"messageId": "x", "status": "sent"}]}`)); err == nil {
		t.Error("a non-numeric status parsed")
	}
}

// TestParseWebhookInstagramPost keeps every field of the documented
// Instagram post object, and reads an image from imageSrc.
func TestParseWebhookInstagramPost(t *testing.T) {
	got, err := wazzup.ParseWebhook(connectortest.ReadTestdata(t, "webhook_instagram_post.json"))
	if err != nil || len(got) != 2 {
		t.Fatalf("%+v, %v", got, err)
	}
	post := got[0].Message.Post
	if post == nil {
		t.Fatal("instPost dropped")
	}
	want := crmhub.MessagePost{ID: "2430659146657243411_41370968890", URL: ptr("https://www.instagram.com/p/CG7b52ejyET"),
		Author: ptr("wztestdlv"), Description: ptr("Красота"),
		ImageURL:    ptr("https://store.dev-wazzup24.com/dc8c036b4a0122bb238fc38dcb0391c125e916f2"),
		PreviewURL:  ptr("https://store.dev-wazzup24.com/3a55c2920912de4b6a66d24568470dd4ad367c34"),
		ImageSHA1:   ptr("dc8c036b4a0122bb238fc38dcb0391c125e916f2"),
		PreviewSHA1: ptr("3a55c2920912de4b6a66d24568470dd4ad367c34"),
		Likes:       ptr(0), Comments: ptr(22),
		PublishedAt: ptr(time.UnixMilli(1603977171000).UTC()), UpdatedAt: ptr(time.UnixMilli(1608905897958).UTC())}
	connectortest.WantEqual(t, "post", *post, want)
	if img := got[1].Message; img.Post != nil || img.ContentURL == nil || *img.ContentURL != "https://store.dev-wazzup24.com/full" {
		t.Errorf("image message %+v", img)
	}
}

func ptr[T any](v T) *T { return &v }

// TestParseWebhookEveryDocumentedCode: every documented message type and
// outgoing status code maps as the package says.
func TestParseWebhookEveryDocumentedCode(t *testing.T) {
	types := map[int]crmhub.MessageType{1: crmhub.MessageText, 2: crmhub.MessageImage, 3: crmhub.MessageAudio,
		4: crmhub.MessageVideo, 5: crmhub.MessageDocument, 0: "", 21: ""}
	for code, want := range types {
		body := fmt.Sprintf(`{"messages": [{"messageId": "m", "channelId": "c", "chatType": "vk", "chatId": "id1", "type": %d,
		  "status": 99, "text": "t", "content": "https://x.io/f", "authorType": 99}]}`, code)
		got, err := wazzup.ParseWebhook([]byte(body))
		switch {
		case err != nil:
			t.Errorf("type %d: %v", code, err)
		case want == "" && len(got) != 0:
			t.Errorf("type %d is skipped, got %+v", code, got)
		case want != "" && (len(got) != 1 || got[0].Message.Type != want || got[0].Message.Channel != crmhub.ChannelVK):
			t.Errorf("type %d: %+v, want %s", code, got, want)
		}
	}
	// Every authorType but 99 is someone on the company's side.
	for _, author := range []int{0, 1, 3, 4, 5, 6, 7, 8, 9, 99} {
		body := fmt.Sprintf(`{"messages": [{"messageId": "m", "channelId": "c", "chatType": "telegram", "chatId": "42", "type": 1,
		  "status": 1, "text": "t", "authorType": %d}]}`, author)
		got, err := wazzup.ParseWebhook([]byte(body))
		want := crmhub.Outbound
		if author == 99 {
			want = crmhub.Inbound
		}
		if err != nil || len(got) != 1 || got[0].Message.Direction != want {
			t.Errorf("authorType %d: %+v %v", author, got, err)
		}
	}
	statuses := map[int]string{13: "RECIPIENT_NOT_FOUND", 14: "MESSAGE_TEXT_TOO_LONG", 15: "LINK_BLOCKED_BY_INSTAGRAM",
		17: "FILE_TOO_LARGE", 18: "SUSPECTED_SPAM", 19: "TOO_MANY_MESSAGES", 21: "CONTENT_REJECTED_BY_INSTAGRAM", 66: "WAZZUP_ERROR"}
	for code, want := range statuses {
		got, err := wazzup.ParseWebhook([]byte(fmt.Sprintf(`{"statuses": [{"messageId": "m", "status": "%d"}]}`, code)))
		if err != nil || len(got) != 1 || got[0].Status.Status != crmhub.MessageFailed || *got[0].Status.ErrorCode != want {
			t.Errorf("status %d: %+v %v", code, got, err)
		}
	}
}
