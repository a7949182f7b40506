package wazzuptest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

func TestDealsUpsertListGetDelete(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{})
	if a := call(t, s, "PATCH", "/v2/deals", testdata(t, "deals_upsert_request.json"), "Basic "+s.APIKey()); a.status != http.StatusOK {
		t.Fatalf("upsert: %d %s", a.status, a.body)
	}
	wantJSON(t, call(t, s, "GET", "/v2/deals", nil).body, testdata(t, "deals_list_response.json"))
	wantJSON(t, call(t, s, "GET", "/v2/deals/1002", nil).body,
		[]byte(`{"id":1002,"responsibleUserId":"5","name":"Deal 1002","closed":true,"contacts":[]}`))

	if a := call(t, s, "DELETE", "/v2/deals/1002", nil); a.status != http.StatusOK {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	wantError(t, call(t, s, "DELETE", "/v2/deals/1002", nil), http.StatusNotFound, "NOT_FOUND")
	wantError(t, call(t, s, "GET", "/v2/deals/x", nil), http.StatusNotFound, "NOT_FOUND")
	if d := s.Deals(); len(d) != 1 || d[0].ID != 1001 {
		t.Fatalf("deals %+v", d)
	}
}

func TestDealsValidation(t *testing.T) {
	tests := []struct {
		deal   string
		fields []string
	}{
		{`{"id":"1001","name":"a"}`, []string{"id"}},
		{`{"id":1.5}`, []string{"id"}},
		{`{"name":"no id"}`, []string{"id"}},
		{`{"id":1,"responsibleUserId":true}`, []string{"responsibleUserId"}},
		{`{"id":1,"closed":"yes"}`, []string{"closed"}},
		{`{"id":1,"contacts":[{"id":1}]}`, []string{"contacts"}},
		{`{"id":1,"contacts":"1"}`, []string{"contacts"}},
		{`7`, []string{"id"}},
	}
	for _, tt := range tests {
		s := wazzuptest.NewServer(t, wazzuptest.Options{})
		a := call(t, s, "PATCH", "/v2/deals", []byte(`[{"id":5},`+tt.deal+`]`))
		wantError(t, a, http.StatusBadRequest, "VALIDATION_ERROR")
		var body struct {
			Data []struct {
				Index  int      `json:"index"`
				Fields []string `json:"fields"`
			} `json:"data"`
		}
		if err := json.Unmarshal(a.body, &body); err != nil || len(body.Data) != 1 || body.Data[0].Index != 1 ||
			strings.Join(body.Data[0].Fields, ",") != strings.Join(tt.fields, ",") {
			t.Errorf("%s: %s", tt.deal, a.body)
		}
		if len(s.Deals()) != 0 {
			t.Errorf("%s: batch partly stored", tt.deal)
		}
	}
}

func TestDealsListOrderAndPages(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{})
	for i := 1; i <= 150; i++ {
		s.PutDeals(wazzuptest.Deal{ID: int64(i), Name: fmt.Sprintf("deal %03d", 151-i), ResponsibleUserID: fmt.Sprint(i % 2)})
	}
	ids := func(query string) []int64 {
		t.Helper()
		a := call(t, s, "GET", "/v2/deals?"+query, nil)
		var deals []wazzuptest.Deal
		if err := json.Unmarshal(a.body, &deals); err != nil {
			t.Fatalf("%s: %v %s", query, err, a.body)
		}
		out := make([]int64, len(deals))
		for i, d := range deals {
			out[i] = d.ID
		}
		return out
	}
	tests := []struct {
		query       string
		n           int
		first, last int64
	}{
		{"", 100, 1, 100},
		{"offset=100", 50, 101, 150},
		{"offset=150", 0, 0, 0},
		{"orderDirection=desc", 100, 150, 51},
		{"orderBy=name&orderDirection=asc", 100, 150, 51},
		{"orderBy=name&orderDirection=desc&offset=140", 10, 141, 150},
		{"orderBy=responsibleUserId", 100, 2, 49},
	}
	for _, tt := range tests {
		got := ids(tt.query)
		if len(got) != tt.n || (tt.n > 0 && (got[0] != tt.first || got[tt.n-1] != tt.last)) {
			t.Errorf("%q: %d deals %v", tt.query, len(got), got)
		}
	}
	for _, q := range []string{"orderBy=closed", "orderDirection=up", "offset=-3"} {
		wantError(t, call(t, s, "GET", "/v2/deals?"+q, nil), http.StatusBadRequest, "VALIDATION_ERROR")
	}
}

func TestUsersUpsertReplaceDelete(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{})
	if a := call(t, s, "PATCH", "/v2/users", testdata(t, "users_request.json")); a.status != http.StatusOK {
		t.Fatalf("patch: %d %s", a.status, a.body)
	}
	wantJSON(t, call(t, s, "GET", "/v2/users", nil).body, testdata(t, "users_request.json"))
	wantJSON(t, call(t, s, "GET", "/v2/users/2e0df379-0e3c-470f-9b36-06b9e34c3bdb", nil).body, testdata(t, "user_get_response.json"))

	// PATCH renames by id and adds; an integer id is accepted.
	call(t, s, "PATCH", "/v2/users", []byte(`[{"id":"2e0df379-0e3c-470f-9b36-06b9e34c3bdb","name":"Renamed"},{"id":42,"name":"Int"}]`))
	wantJSON(t, call(t, s, "GET", "/v2/users", nil).body,
		[]byte(`[{"id":"2e0df379-0e3c-470f-9b36-06b9e34c3bdb","name":"Renamed"},{"id":"42","name":"Int"}]`))

	// PUT replaces the whole list.
	call(t, s, "PUT", "/v2/users", []byte(`[{"id":"new","name":"Only"}]`))
	wantJSON(t, call(t, s, "GET", "/v2/users", nil).body, []byte(`[{"id":"new","name":"Only"}]`))

	if a := call(t, s, "DELETE", "/v2/users/new", nil); a.status != http.StatusOK {
		t.Fatalf("delete: %d", a.status)
	}
	wantJSON(t, call(t, s, "GET", "/v2/users", nil).body, []byte(`[]`))
	wantError(t, call(t, s, "DELETE", "/v2/users/new", nil), http.StatusNotFound, "NOT_FOUND")
	wantError(t, call(t, s, "GET", "/v2/users/new", nil), http.StatusNotFound, "NOT_FOUND")
}

func TestUsersValidation(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{Users: []wazzuptest.User{{ID: "keep", Name: "Keep"}}})
	tests := []struct {
		user   string
		fields string
	}{
		{`{"id":"` + long("i", 64) + `","name":"` + long("n", 150) + `"}`, ""},
		{`{"id":"` + long("i", 65) + `","name":"a"}`, "id"},
		{`{"id":"a","name":"` + long("n", 151) + `"}`, "name"},
		{`{"id":1.5,"name":"a"}`, "id"},
		{`{"name":"a"}`, "id"},
		{`{"id":"a"}`, "name"},
	}
	for _, method := range []string{"PATCH", "PUT"} {
		for _, tt := range tests {
			a := call(t, s, method, "/v2/users", []byte(`[`+tt.user+`]`))
			if tt.fields == "" {
				if a.status != http.StatusOK {
					t.Errorf("%s %s: %d %s", method, tt.user, a.status, a.body)
				}
				continue
			}
			wantJSON(t, a.body, []byte(`{"error":"VALIDATION_ERROR","description":"One or more of provided users are not valid.","data":[{"index":0,"fields":["`+tt.fields+`"]}]}`))
		}
	}
	wantError(t, call(t, s, "PUT", "/v2/users", []byte(`{}`)), http.StatusBadRequest, "VALIDATION_ERROR")
}

func TestChannelsList(t *testing.T) {
	var chs []wazzuptest.Channel
	if err := json.Unmarshal(testdata(t, "channels_response.json"), &chs); err != nil {
		t.Fatal(err)
	}
	s := wazzuptest.NewServer(t, wazzuptest.Options{Channels: chs})
	wantJSON(t, call(t, s, "GET", "/v2/channels", nil).body, testdata(t, "channels_response.json"))
	s.SetChannels()
	wantJSON(t, call(t, s, "GET", "/v2/channels", nil).body, []byte(`[]`))
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestSendMessageDocExample(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{Channels: []wazzuptest.Channel{
		{ChannelID: "3376e1c3-26a6-478b-b964-72bf01cc22cb", Transport: "whatsapp", PlainID: "79865784457", State: "active"},
	}})
	a := call(t, s, "POST", "/v2/send_message", testdata(t, "send_message_request.json"), "Basic "+s.APIKey())
	if a.status != http.StatusCreated {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var got, shape map[string]string
	if err := json.Unmarshal(a.body, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(testdata(t, "send_message_response.json"), &shape); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(shape) || !uuidRE.MatchString(got["messageId"]) || !uuidRE.MatchString(shape["messageId"]) {
		t.Fatalf("answer %s is not shaped like %v", a.body, shape)
	}
	m := s.Messages()
	if len(m) != 1 || m[0].MessageID != got["messageId"] || m[0].Content != "https://example.com/images/img_01.png" || m[0].ChatID != "79998887766" {
		t.Fatalf("messages %+v", m)
	}
}

func TestSendMessageErrors(t *testing.T) {
	channels := []wazzuptest.Channel{
		{ChannelID: "wa", Transport: "whatsapp", State: "active"},
		{ChannelID: "tg", Transport: "telegram", State: "active"},
		{ChannelID: "ig", Transport: "instagram", State: "active"},
		{ChannelID: "off", Transport: "whatsapp", State: "disabled"},
		{ChannelID: "unpaid", Transport: "whatsapp", State: "notEnoughMoney"},
		{ChannelID: "qr", Transport: "whatsapp", State: "qr"},
	}
	refuse := func(m wazzuptest.Message) string {
		if m.Text == "spam" {
			return "MESSAGES_IS_SPAM"
		}
		if m.Text == "boom" {
			return "MESSAGES_CAN_NOT_ADD"
		}
		return ""
	}
	tests := []struct {
		body   string
		status int
		code   string
	}{
		{`{"channelId":"wa","chatType":"whatsapp","chatId":"79998887766","text":"hi"}`, 201, ""},
		{`{"channelId":"tg","chatType":"telegram","chatId":"12345","text":"hi","content":"https://x.io/a.png"}`, 201, ""},
		{`{"channelId":"wa","chatType":"whatsapp","chatId":"79998887766","text":"` + long("я", 10000) + `"}`, 201, ""},
		{`{"channelId":"wa","chatType":"whatsapp","chatId":"79998887766","text":"` + long("я", 10001) + `"}`, 400, "MESSAGE_TEXT_TOO_LONG"},
		{`{"channelId":"wa","chatType":"whatsapp","chatId":"79998887766","text":"hi","content":"https://x.io/a.png"}`, 400, "MESSAGE_ONLY_TEXT_OR_CONTENT"},
		{`{"channelId":"wa","chatType":"whatsapp","chatId":"79998887766"}`, 400, "MESSAGE_NOTHING_TO_SEND"},
		{`{"channelId":"wa","chatType":"whatsapp","chatId":"79998887766","text":"  "}`, 400, "MESSAGE_TEXT_CAN_NOT_BE_BLANK"},
		{`{"channelId":"wa","chatType":"whatsapp","chatId":"79998887766","content":""}`, 400, "MESSAGE_CONTENT_CAN_NOT_BE_BLANK"},
		{`{"channelId":"wa","chatType":"whatsapp","chatId":"79998887766","content":"file.png"}`, 400, "MESSAGE_DOWNLOAD_CONTENT_ERROR"},
		{`{"channelId":"nope","chatType":"whatsapp","chatId":"79998887766","text":"hi"}`, 400, "CHANNEL_NOT_FOUND"},
		{`{"channelId":"off","chatType":"whatsapp","chatId":"79998887766","text":"hi"}`, 400, "CHANNEL_BLOCKED"},
		{`{"channelId":"unpaid","chatType":"whatsapp","chatId":"79998887766","text":"hi"}`, 400, "CHANNEL_NO_MONEY"},
		{`{"channelId":"qr","chatType":"whatsapp","chatId":"79998887766","text":"hi"}`, 400, "MESSAGE_CHANNEL_UNAVAILABLE"},
		{`{"channelId":"wa","chatId":"79998887766","text":"hi"}`, 400, "CHAT_MISSING_CHAT_TYPE"},
		{`{"channelId":"wa","chatType":"icq","chatId":"79998887766","text":"hi"}`, 400, "CHAT_WRONG_CHAT_TYPE"},
		{`{"channelId":"wa","chatType":"whatsapp","text":"hi"}`, 400, "CHAT_MISSING_CHAT_ID"},
		{`{"channelId":"wa","chatType":"whatsapp","chatId":"+79998887766","text":"hi"}`, 400, "CHAT_INCORRECT_CHAT_ID_WHATSAPP"},
		{`{"channelId":"wa","chatType":"whatsapp","chatId":"12345678","text":"hi"}`, 400, "CHAT_INCORRECT_CHAT_ID_WHATSAPP"},
		{`{"channelId":"wa","chatType":"instagram","chatId":"someone","text":"hi"}`, 400, "MESSAGES_ABNORMAL_SEND"},
		{`{"channelId":"ig","chatType":"whatsapp","chatId":"79998887766","text":"hi"}`, 400, "MESSAGES_INVALID_CONTACT_TYPE"},
		{`{"channelId":"wa","chatType":"whatsapp","chatId":"79998887766","text":"hi","refMessageId":"unknown"}`, 400, "REFERENCE_MESSAGE_NOT_FOUND"},
		{`{"channelId":"wa","chatType":"whatsapp","chatId":"79998887766","text":"spam"}`, 400, "MESSAGES_IS_SPAM"},
		{`{"channelId":"wa","chatType":"whatsapp","chatId":"79998887766","text":"boom"}`, 500, "MESSAGES_CAN_NOT_ADD"},
		{`{"chatType":"whatsapp","chatId":"79998887766","text":"hi"}`, 400, "VALIDATION_ERROR"},
		{`{"channelId":"wa","chatType":"whatsapp","chatId":79998887766,"text":"hi"}`, 400, "VALIDATION_ERROR"},
		{`[]`, 400, "VALIDATION_ERROR"},
	}
	s := wazzuptest.NewServer(t, wazzuptest.Options{Channels: channels, RefuseMessage: refuse})
	for _, tt := range tests {
		a := call(t, s, "POST", "/v2/send_message", []byte(tt.body))
		if tt.code == "" {
			if a.status != tt.status {
				t.Errorf("%.80s: %d %s", tt.body, a.status, a.body)
			}
			continue
		}
		t.Run(tt.code, func(t *testing.T) { wantError(t, a, tt.status, tt.code) })
	}
	if n := len(s.Messages()); n != 3 {
		t.Fatalf("%d messages stored, want 3", n)
	}

	// Quoting a message the fake sent works.
	ref := s.Messages()[0].MessageID
	a := call(t, s, "POST", "/v2/send_message", []byte(`{"channelId":"wa","chatType":"whatsapp","chatId":"79998887766","text":"re","refMessageId":"`+ref+`"}`))
	if a.status != http.StatusCreated {
		t.Fatalf("quote: %d %s", a.status, a.body)
	}
}
