package db_test

import (
	"reflect"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors/loopback"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
)

// TestPgxReadsMatchBun: the reads that scan their rows with pgx (messages
// and conversations by parent, contacts and users by id, the deal list)
// give the same objects, field for field, as the reads that scan through
// bun (a message, conversation or deal by id, the contact and user lists),
// on rows whose nullable and JSON columns are set: a post, a template, a
// reply, an error code, an assignee, custom fields, a responsible user, an
// amount, a closing time, field sources.
//
// It runs on the system clock: events stamped with dbtest's clock would be
// old enough for TestEventRetention to prune along with its own.
func TestPgxReadsMatchBun(t *testing.T) {
	f := &convFixture{ch: &loopback.Channel{}}
	f.d = dbtest.Open(t, nil)
	f.svc = db.NewConversationService(f.d, f.ch)
	f.ctx, f.ws, _ = dbtest.Workspace(t, f.d)
	contacts := db.NewContactService(f.d)
	res, err := db.NewUserService(f.d).UpsertUsers(f.ctx, []crmhub.UserInput{{ExternalID: "agent", Name: "Agent"}})
	if err != nil {
		t.Fatal(err)
	}
	user := res[0].User.ID

	in, err := f.svc.RecordInboundMessage(f.ctx, crmhub.InboundMessageInput{Channel: crmhub.ChannelWhatsApp, ChatID: "447700900101",
		SenderName: ptr("Ana"), Type: crmhub.MessageText, Text: ptr("about the post"), ExternalID: ptr("wamid.p1"),
		Post: &crmhub.MessagePost{ID: "post-1", URL: ptr("https://example.com/p/1")}})
	if err != nil {
		t.Fatal(err)
	}
	conv := in.ConversationID
	if _, err := f.svc.AssignConversation(f.ctx, conv, &user); err != nil {
		t.Fatal(err)
	}
	sent, err := f.svc.SendMessage(f.ctx, crmhub.SendMessageInput{ConversationID: &conv, Type: crmhub.MessageTemplate,
		Template:  &crmhub.Template{Name: "reminder", Language: "en", Components: map[string]any{"body": []any{"x", 2.5}}},
		ReplyToID: &in.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdateMessageStatus(f.ctx, sent.ID, crmhub.MessageFailed, ptr("131047")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SendMessage(f.ctx, text(conv, "plain")); err != nil {
		t.Fatal(err)
	}

	// Messages by conversation against each message read by id.
	key := crmhub.PageKey{ParentID: conv, First: 10}
	pages, err := f.svc.MessagesByConversation(f.ctx, []crmhub.PageKey{key})
	if err != nil {
		t.Fatal(err)
	}
	var sawPost, sawTemplate, sawReply, sawError bool
	for _, e := range pages[key].Edges {
		want, err := f.svc.Message(f.ctx, e.Node.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(e.Node, want) {
			t.Errorf("message by conversation\n%+v\nby id\n%+v", e.Node, want)
		}
		sawPost = sawPost || e.Node.Post != nil
		sawTemplate = sawTemplate || (e.Node.Template != nil && e.Node.Template.Components != nil)
		sawReply = sawReply || e.Node.ReplyToID != nil
		sawError = sawError || e.Node.ErrorCode != nil
	}
	if len(pages[key].Edges) != 3 || !sawPost || !sawTemplate || !sawReply || !sawError {
		t.Fatalf("%d messages; post %v, template %v, reply %v, error code %v",
			len(pages[key].Edges), sawPost, sawTemplate, sawReply, sawError)
	}

	// Conversations by contact against the conversation read by id.
	c, err := f.svc.Conversation(f.ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	owner := crmhub.PageKey{ParentID: c.ContactID, First: 5}
	byContact, err := f.svc.ConversationsByContact(f.ctx, []crmhub.PageKey{owner})
	if err != nil {
		t.Fatal(err)
	}
	if es := byContact[owner].Edges; len(es) != 1 || es[0].Node.AssigneeID == nil || !reflect.DeepEqual(es[0].Node, c) {
		t.Fatalf("conversations by contact %+v, want %+v", es, c)
	}

	// Contacts by id against the contact list.
	rich, err := contacts.CreateContact(f.ctx, crmhub.ContactInput{Name: ptr("Rich"), URI: ptr("https://crm.example/c/1"),
		Identifiers:  []crmhub.Identifier{email("rich@x.io")},
		CustomFields: map[string]any{"tier": "gold", "score": 4.5, "tags": []any{"a", true}}, ResponsibleUserID: &user})
	if err != nil {
		t.Fatal(err)
	}
	list, err := contacts.Contacts(f.ctx, crmhub.ContactFilter{}, crmhub.ContactOrder{}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	ids := []uuid.UUID{uuid.New()} // a missing id reads as nil
	for _, e := range list.Edges {
		ids = append(ids, e.Node.ID)
	}
	got, err := contacts.ContactsByIDs(f.ctx, ids)
	if err != nil || len(got) != len(ids) || got[0] != nil {
		t.Fatalf("%d contacts for %d ids, first %v: %v", len(got), len(ids), got, err)
	}
	for i, e := range list.Edges {
		if !reflect.DeepEqual(got[i+1], e.Node) {
			t.Errorf("contact by id\n%+v\nlisted\n%+v", got[i+1], e.Node)
		}
	}
	var sawRich bool
	for _, c := range got[1:] {
		sawRich = sawRich || c.ID == rich.ID && c.ResponsibleUserID != nil && c.CustomFields["tier"] == "gold"
	}
	if len(list.Edges) != 2 || !sawRich {
		t.Fatalf("contacts %+v: want Ana and Rich, with Rich's fields", got[1:])
	}

	// The deal list against deals by id, users by id against the user list.
	deals := db.NewDealService(f.d)
	if _, err := deals.UpsertDeals(f.ctx, []crmhub.DealUpsertInput{
		{ExternalRef: &crmhub.ExternalRef{Source: "crm", ExternalID: "d1"}, Name: ptr("Big"), Status: ptr(crmhub.DealWon),
			Amount: ptr(1234.56), Currency: ptr("EUR"), Stage: ptr("signed"), ResponsibleUserID: &user, ContactIDs: &[]uuid.UUID{rich.ID}},
		{Name: ptr("Bare")},
	}); err != nil {
		t.Fatal(err)
	}
	dealPage, err := deals.Deals(f.ctx, crmhub.DealFilter{}, 10, "")
	if err != nil || len(dealPage.Edges) != 2 {
		t.Fatalf("%d deals listed: %v", len(dealPage.Edges), err)
	}
	var big *crmhub.Deal
	for _, e := range dealPage.Edges {
		if e.Node.Name != nil && *e.Node.Name == "Big" {
			big = e.Node
		}
		want, err := deals.Deal(f.ctx, e.Node.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(e.Node, want) {
			t.Errorf("listed deal\n%+v\nby id\n%+v", e.Node, want)
		}
	}
	if big == nil || big.Amount == nil || big.ResponsibleUserID == nil || big.ClosedAt == nil || len(big.ExternalRefs) != 1 || len(big.FieldSources) == 0 {
		t.Errorf("the deal read lacks fields: %+v", big)
	}
	userSvc := db.NewUserService(f.d)
	users, err := userSvc.Users(f.ctx, 10, "")
	if err != nil || len(users.Edges) != 1 {
		t.Fatalf("users %+v: %v", users, err)
	}
	byID, err := userSvc.UsersByIDs(f.ctx, []uuid.UUID{user})
	if err != nil || len(byID) != 1 || !reflect.DeepEqual(byID[0], users.Edges[0].Node) {
		t.Errorf("user by id %+v, listed %+v: %v", byID, users.Edges[0].Node, err)
	}
}
