package resolver_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Helpers shared by the tests of consents, users, deals and conversations.

type consent struct {
	Channel, Status  string
	Source, Evidence *string
	At, RecordedAt   string
}

const consentFields = `channel status source evidence at recordedAt`

const setConsentMutation = `mutation($contactId: ID!, $channel: Channel!, $status: ConsentStatus!, $source: String,
	$evidence: String, $at: Time) { setConsent(contactId: $contactId, channel: $channel, status: $status, source: $source,
	evidence: $evidence, at: $at) { ` + consentFields + ` } }`

// setConsent records a consent; extra adds source, evidence or at.
func (c *client) setConsent(contactID, channel, status string, extra map[string]any) consent {
	c.t.Helper()
	vars := map[string]any{"contactId": contactID, "channel": channel, "status": status}
	for k, v := range extra {
		vars[k] = v
	}
	var out struct{ SetConsent consent }
	c.do(setConsentMutation, vars, &out)
	return out.SetConsent
}

type suppression struct {
	ID, Channel, Reason string
	ExpiresAt, LiftedAt *string
	Active              bool
	Contact             struct{ ID string }
}

const suppressionFields = `id channel reason expiresAt liftedAt active contact { id }`

const suppressMutation = `mutation($contactId: ID!, $channel: Channel!, $reason: String!, $expiresAt: Time) {
	suppressContact(contactId: $contactId, channel: $channel, reason: $reason, expiresAt: $expiresAt) { ` + suppressionFields + ` } }`

// suppress suppresses a channel of a contact; expiresAt may be nil.
func (c *client) suppress(contactID, channel, reason string, expiresAt *time.Time) suppression {
	c.t.Helper()
	vars := map[string]any{"contactId": contactID, "channel": channel, "reason": reason}
	if expiresAt != nil {
		vars["expiresAt"] = expiresAt.Format(time.RFC3339Nano)
	}
	var out struct{ SuppressContact suppression }
	c.do(suppressMutation, vars, &out)
	return out.SuppressContact
}

// itemStatuses renders the statuses of per-item results, checking that
// each result carries its input index.
func itemStatuses[R any](rs []R, of func(R) (index int, status string)) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		index, status := of(r)
		if index != i {
			return fmt.Sprintf("result %d has index %d", i, index)
		}
		s[i] = status
	}
	return strings.Join(s, ",")
}

type user struct {
	ID, ExternalID, Name string
	Email                *string
}

type itemError struct{ Field, Code, Message string }

type userResult struct {
	Index  int
	Status string
	User   *user
	Errors []itemError
}

const upsertUsersMutation = `mutation($input: [UserInput!]!) { upsertUsers(input: $input) {
	results { index status user { id externalId name email } errors { field code message } } } }`

func userInput(ext, name string) map[string]any {
	return map[string]any{"externalId": ext, "name": name}
}

func (c *client) upsertUsers(items ...map[string]any) []userResult {
	c.t.Helper()
	var out struct {
		UpsertUsers struct{ Results []userResult }
	}
	c.do(upsertUsersMutation, map[string]any{"input": items}, &out)
	return out.UpsertUsers.Results
}

// newUser creates one user and returns its id.
func (c *client) newUser(ext, name string) string {
	c.t.Helper()
	r := c.upsertUsers(userInput(ext, name))
	if r[0].Status != "CREATED" {
		c.t.Fatalf("user %s: %+v", ext, r[0])
	}
	return r[0].User.ID
}

type deal struct {
	ID              string
	Name            *string
	Status          string
	Closed          bool
	Amount          *float64
	Currency, Stage *string
	ClosedAt        *string
	ResponsibleUser *struct{ ID string }
	Contacts        []struct{ ID string }
	ExternalRefs    []struct{ Source, ExternalID string }
}

func (d deal) contactIDs() []string {
	out := make([]string, len(d.Contacts))
	for i, c := range d.Contacts {
		out[i] = c.ID
	}
	return out
}

const dealFields = `id name status closed amount currency stage closedAt responsibleUser { id } contacts { id }
	externalRefs { source externalId }`

type dealResult struct {
	Index  int
	Status string
	Deal   *deal
	Errors []itemError
}

const upsertDealsMutation = `mutation($input: [DealUpsertInput!]!) { upsertDeals(input: $input) {
	results { index status deal { ` + dealFields + ` } errors { field code message } } } }`

func (c *client) upsertDeals(items ...map[string]any) []dealResult {
	c.t.Helper()
	var out struct {
		UpsertDeals struct{ Results []dealResult }
	}
	c.do(upsertDealsMutation, map[string]any{"input": items}, &out)
	return out.UpsertDeals.Results
}

// newDeal creates one deal from an item and returns it.
func (c *client) newDeal(item map[string]any) deal {
	c.t.Helper()
	r := c.upsertDeals(item)
	if r[0].Status != "CREATED" || r[0].Deal == nil {
		c.t.Fatalf("deal %v: %+v", item, r[0])
	}
	return *r[0].Deal
}

type message struct {
	ID, Direction, Type, Status string
	Text, ContentURL, ErrorCode *string
	ExternalID                  *string
	Template                    *struct {
		Name, Language string
		Components     any
	}
	ReplyTo      *struct{ ID string }
	Conversation struct {
		ID, Channel, ChatID, Status string
		Unanswered                  bool
		Contact                     struct{ ID, Name string }
	}
}

const messageFields = `id direction type status text contentUrl errorCode externalId template { name language components }
	replyTo { id } conversation { id channel chatId status unanswered contact { id name } }`

const inboundMutation = `mutation($input: InboundMessageInput!) { recordInboundMessage(input: $input) { ` + messageFields + ` } }`

// inbound records an inbound TEXT message; extra adds or replaces input
// fields.
func (c *client) inbound(channel, chatID, text string, extra map[string]any) message {
	c.t.Helper()
	in := map[string]any{"channel": channel, "chatId": chatID, "type": "TEXT", "text": text}
	for k, v := range extra {
		in[k] = v
	}
	var out struct{ RecordInboundMessage message }
	c.do(inboundMutation, map[string]any{"input": in}, &out)
	return out.RecordInboundMessage
}

const sendMutation = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { ` + messageFields + ` } }`

func (c *client) send(in map[string]any) message {
	c.t.Helper()
	var out struct{ SendMessage message }
	c.do(sendMutation, map[string]any{"input": in}, &out)
	return out.SendMessage
}

// sendText sends a TEXT message into a conversation.
func (c *client) sendText(conversationID, text string) message {
	c.t.Helper()
	return c.send(map[string]any{"conversationId": conversationID, "type": "TEXT", "text": text})
}

// message reads a message by id.
func (c *client) message(id string) *message {
	c.t.Helper()
	var out struct{ Message *message }
	c.do(`query($id: ID!) { message(id: $id) { `+messageFields+` } }`, map[string]any{"id": id}, &out)
	return out.Message
}

// unanswered is unansweredCount, of one user when userID is not "".
func (c *client) unanswered(userID string) int {
	c.t.Helper()
	var out struct{ UnansweredCount int }
	vars := map[string]any{}
	if userID != "" {
		vars["u"] = userID
	}
	c.do(`query($u: ID) { unansweredCount(userId: $u) }`, vars, &out)
	return out.UnansweredCount
}

// modelSnapshot renders everything the API shows of a workspace's contacts,
// consents, suppressions, users, deals, conversations and messages, so a
// test can assert that a failed or foreign operation changed nothing.
func (c *client) modelSnapshot() string {
	c.t.Helper()
	res := c.post(`{
		users(first: 100) { edges { node { id externalId name email createdAt updatedAt } } }
		deals(first: 100) { totalCount edges { node { `+dealFields+` createdAt updatedAt } } }
		conversations(first: 100) { edges { node { id contact { id } channel chatId status assignee { id }
			lastMessageAt lastInboundAt unanswered createdAt updatedAt
			messages(first: 100) { edges { node { id direction type text contentUrl template { name language components }
				replyTo { id } status errorCode externalId createdAt updatedAt } } } } } }
		contacts(first: 100) { totalCount edges { node { `+contactFields+` updatedAt responsibleUser { id }
			consents { `+consentFields+` } consentHistory { `+consentFields+` }
			suppressions { id channel reason createdAt expiresAt liftedAt active }
			deals(first: 100) { totalCount edges { node { id } } }
			notes(first: 100) { edges { node { id body updatedAt } } } } } }
		unansweredCount
	}`, nil)
	if len(res.Errors) > 0 {
		c.t.Fatalf("snapshot: %s", res.Raw)
	}
	var parts map[string]json.RawMessage
	if err := json.Unmarshal(res.Data, &parts); err != nil {
		c.t.Fatal(err)
	}
	var b strings.Builder
	for _, k := range []string{"users", "deals", "conversations", "contacts", "unansweredCount"} {
		fmt.Fprintf(&b, "%s: %s\n", k, parts[k])
	}
	return b.String()
}

// unchanged fails the test when the workspace no longer matches before.
func (c *client) unchanged(t *testing.T, before string) {
	t.Helper()
	if after := c.modelSnapshot(); after != before {
		t.Fatalf("the workspace changed:\nbefore: %s\nafter:  %s", before, after)
	}
}

// errorCase is one bad input: the error code, the field it names ("-" for
// none), and nothing changed.
type errorCase struct {
	name  string
	query string
	vars  map[string]any
	code  string
	field string
}

// runErrorCases runs each case as a subtest against c and checks that the
// workspace snapshot is unchanged afterwards.
func runErrorCases(t *testing.T, c *client, cases []errorCase) {
	t.Helper()
	before := c.modelSnapshot()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := *c
			c.t = t
			e := c.fail(tc.query, tc.vars, tc.code)
			if tc.field != "-" && e.field() != tc.field {
				t.Errorf("extensions.field = %q, want %q (%s)", e.field(), tc.field, e.Message)
			}
			if e.Message == "" {
				t.Error("empty message")
			}
			c.unchanged(t, before)
		})
	}
}
