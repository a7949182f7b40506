package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors/syncer"
	"github.com/crmhub/crmhub/connectors/wazera/wazeratest"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/internal/proctest"
	"github.com/google/uuid"
)

// fakeWazzup serves n contacts with WhatsApp numbers and their one user.
func fakeWazzup(t *testing.T, n int) *wazzuptest.Server {
	contacts := make([]wazzuptest.Contact, n)
	for i := range contacts {
		contacts[i] = wazzuptest.Contact{ID: fmt.Sprintf("c%d", i), ResponsibleUserID: "u1", Name: fmt.Sprintf("N%d", i),
			ContactData: []wazzuptest.ContactData{{ChatType: "whatsapp", ChatID: fmt.Sprintf("7999%07d", i)}}}
	}
	return wazzuptest.NewServer(t, wazzuptest.Options{Contacts: contacts, Users: []wazzuptest.User{{ID: "u1", Name: "Agent"}}})
}

func TestSyncCommand(t *testing.T) {
	fake := fakeWazzup(t, 120)
	secret := db.NewSecretKey()
	key, _ := db.ParseSecretKey(secret)
	sealer, err := db.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	d := dbtest.Open(t, nil)
	ctx, _, _ := dbtest.Workspace(t, d)
	conn, err := db.NewConnectionService(d, db.ConnectionConfig{Sealer: sealer, AllowPrivate: true}).CreateConnection(ctx,
		crmhub.ConnectionInput{Kind: crmhub.ConnectorWazzup, Name: "w", BaseURL: fake.URL, APIKey: fake.APIKey(),
			Direction: crmhub.SyncPull, Entities: []crmhub.SyncEntity{crmhub.SyncUsers, crmhub.SyncContacts}})
	if err != nil {
		t.Fatal(err)
	}
	getenv := env(t, map[string]string{"CRMHUB_SECRET_KEY": secret, "CRMHUB_CONNECTOR_ALLOW_PRIVATE": "true"})

	code, stdout, stderr := run(t, getenv, "sync", "--connection", conn.GlobalID(), "--full")
	if code != 0 {
		t.Fatalf("sync: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"SUCCEEDED", "FULL", "fetched    121", "created    121"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	// Not a terminal: a plain line per step, no escapes.
	if !strings.Contains(stderr, "sync: pull contacts\n") || strings.Contains(stderr, "\033") {
		t.Errorf("stderr is not a terminal, yet:\n%q", stderr)
	}
	// On a terminal, the bar is drawn and redrawn in place.
	var term strings.Builder
	bar := &progressBar{w: &term}
	bar.update(syncer.Progress{Step: "pull", Entity: crmhub.SyncContacts, Done: 60, Total: 120})
	bar.update(syncer.Progress{Step: "pull", Entity: crmhub.SyncContacts, Done: 120, Total: 120})
	bar.finish()
	if !strings.Contains(term.String(), "\r\033[Kpull contacts    [##############################] 120/120") {
		t.Errorf("terminal bar:\n%q", term.String())
	}

	code, stdout, stderr = run(t, getenv, "sync", "--connection", conn.GlobalID(), "--json")
	var got struct {
		Status string
		Mode   string
		Stats  crmhub.SyncStats
	}
	if err := json.Unmarshal([]byte(stdout), &got); code != 0 || err != nil {
		t.Fatalf("sync --json: exit %d %v\n%s\n%s", code, err, stdout, stderr)
	}
	if got.Status != "SUCCEEDED" || got.Mode != "INCREMENTAL" || got.Stats != (crmhub.SyncStats{Fetched: 121, Unchanged: 121}) {
		t.Fatalf("second run: %+v", got)
	}

	// A dry run lists what it would do and changes nothing.
	fake.PutContacts(wazzuptest.Contact{ID: "new", ResponsibleUserID: "u1", Name: "New",
		ContactData: []wazzuptest.ContactData{{ChatType: "telegram", Username: "newbie"}}})
	code, stdout, _ = run(t, getenv, "sync", "--connection", conn.GlobalID(), "--dry-run")
	if code != 0 || !strings.Contains(stdout, "Would change:") || !strings.Contains(stdout, "CONTACTS  CREATE  new") {
		t.Fatalf("dry run: exit %d\n%s", code, stdout)
	}
	if n, _ := db.NewContactService(d).CountContacts(ctx, crmhub.ContactFilter{}); n != 120 {
		t.Fatalf("the dry run wrote: %d contacts", n)
	}

	// Mistakes: no flag, a malformed id, an unknown connection, no key.
	if code, _, _ := run(t, getenv, "sync"); code != 2 {
		t.Errorf("sync without --connection: exit %d", code)
	}
	if code, _, stderr := run(t, getenv, "sync", "--connection", "ct_nope"); code != 1 || !strings.Contains(stderr, "no connection") {
		t.Errorf("malformed id: exit %d %s", code, stderr)
	}
	if code, _, stderr := run(t, getenv, "sync", "--connection", crmhub.GlobalID(crmhub.KindConnection, uuid.New())); code != 1 ||
		!strings.Contains(stderr, "no connection") {
		t.Errorf("unknown connection: exit %d %s", code, stderr)
	}
	if code, _, stderr := run(t, env(t, nil), "sync", "--connection", conn.GlobalID()); code != 1 || !strings.Contains(stderr, "CRMHUB_SECRET_KEY") {
		t.Errorf("no secret key: exit %d %s", code, stderr)
	}
}

// TestServeWorksQueuedSync goes through the running server: a connection
// made over GraphQL, runSync queued, River's worker running the engine,
// syncRun reporting the result.
func TestServeWorksQueuedSync(t *testing.T) {
	fake := fakeWazzup(t, 30)
	_, gql := startServe(t, "")
	var created struct{ CreateConnection struct{ ID string } }
	gql(`mutation($url: String!, $key: String!) { createConnection(input: {kind: WAZZUP, name: "Wazzup", baseUrl: $url, apiKey: $key,
		direction: PULL, entities: [USERS, CONTACTS]}) { id } }`, map[string]any{"url": fake.URL, "key": fake.APIKey()}, &created)
	var queued struct{ RunSync struct{ ID, Status string } }
	gql(`mutation($id: ID!) { runSync(connectionId: $id, mode: FULL) { id status } }`, map[string]any{"id": created.CreateConnection.ID}, &queued)
	if queued.RunSync.Status != "QUEUED" {
		t.Fatalf("runSync: %+v", queued)
	}
	var got struct {
		SyncRun struct {
			Status string
			Stats  crmhub.SyncStats
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for got.SyncRun.Status != "SUCCEEDED" {
		if time.Now().After(deadline) || got.SyncRun.Status == "FAILED" {
			t.Fatalf("run: %+v", got)
		}
		time.Sleep(50 * time.Millisecond)
		gql(`query($id: ID!) { syncRun(id: $id) { status stats { fetched created updated unchanged conflicts failed pushed deleted } } }`,
			map[string]any{"id": queued.RunSync.ID}, &got)
	}
	if got.SyncRun.Stats != (crmhub.SyncStats{Fetched: 31, Created: 31}) {
		t.Fatalf("stats %+v", got.SyncRun.Stats)
	}
	var count struct{ Contacts struct{ TotalCount int } }
	gql(`{ contacts { totalCount } }`, nil, &count)
	if count.Contacts.TotalCount != 30 {
		t.Fatalf("%d contacts", count.Contacts.TotalCount)
	}
	var lastSync struct{ Connection struct{ LastSyncAt *string } }
	gql(`query($id: ID!) { connection(id: $id) { lastSyncAt } }`, map[string]any{"id": created.CreateConnection.ID}, &lastSync)
	if lastSync.Connection.LastSyncAt == nil {
		t.Fatal("lastSyncAt not set")
	}
}

// TestSyncEveryKindFromFakeCRM: for each connector the binary registers,
// `crmhub fake-crm` serves its fake with sample contacts and `crmhub sync`
// pulls them all. The fakes seed the same phone numbers, so after the first
// CRM the others' records match the same hub contacts: updated, not
// duplicated.
func TestSyncEveryKindFromFakeCRM(t *testing.T) {
	d := dbtest.Open(t, nil)
	ctx, _, _ := dbtest.Workspace(t, d)
	secret := db.NewSecretKey()
	key, _ := db.ParseSecretKey(secret)
	sealer, _ := db.NewSealer(key)
	conns := db.NewConnectionService(d, db.ConnectionConfig{Sealer: sealer, AllowPrivate: true})
	getenv := env(t, map[string]string{"CRMHUB_SECRET_KEY": secret, "CRMHUB_CONNECTOR_ALLOW_PRIVATE": "true"})
	for i, kind := range crmhub.ConnectorKinds {
		t.Run(string(kind), func(t *testing.T) {
			base, apiKey, stop := startFakeCRM(t, "--kind", strings.ToLower(string(kind)), "--addr", "127.0.0.1:0", "--seed-contacts", "7")
			defer stop()
			conn, err := conns.CreateConnection(ctx, crmhub.ConnectionInput{Kind: kind, Name: string(kind), BaseURL: base, APIKey: apiKey,
				Direction: crmhub.SyncPull, Entities: []crmhub.SyncEntity{crmhub.SyncContacts}})
			if err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := run(t, getenv, "sync", "--connection", conn.GlobalID(), "--json")
			var got struct {
				Status string
				Stats  crmhub.SyncStats
				Errors []crmhub.SyncError
			}
			if err := json.Unmarshal([]byte(stdout), &got); code != 0 || err != nil {
				t.Fatalf("sync: exit %d %v\n%s\n%s", code, err, stdout, stderr)
			}
			want := crmhub.SyncStats{Fetched: 7, Created: 7}
			if i > 0 {
				want = crmhub.SyncStats{Fetched: 7, Updated: 7}
			}
			if got.Status != "SUCCEEDED" || got.Stats != want {
				t.Fatalf("run %+v, want stats %+v", got, want)
			}
			if n, _ := db.NewContactService(d).CountContacts(ctx, crmhub.ContactFilter{}); n != 7 {
				t.Fatalf("%d hub contacts, want 7", n)
			}
		})
	}
}

// TestServeConversationThroughWazzup goes through the running server as a
// CRM and a frontend would: Wazzup posts a message to the hook URL, an
// agent answers with sendMessage over GraphQL, the answer reaches Wazzup's
// send_message with the documented body, and Wazzup's refusal of the next
// one shows on that message.
func TestServeConversationThroughWazzup(t *testing.T) {
	refuse := ""
	var mu sync.Mutex
	fake := wazzuptest.NewServer(t, wazzuptest.Options{
		Channels: []wazzuptest.Channel{{ChannelID: "11111111-1111-4111-8111-111111111111", Transport: "whatsapp",
			PlainID: "79001234567", State: "active"}},
		RefuseMessage: func(wazzuptest.Message) string { mu.Lock(); defer mu.Unlock(); return refuse },
	})
	base, gql := startServe(t, "")
	var created struct {
		CreateConnection struct{ ID, WebhookPath string }
	}
	gql(`mutation($url: String!, $key: String!) { createConnection(input: {kind: WAZZUP, name: "W", baseUrl: $url, apiKey: $key,
		direction: PULL}) { id webhookPath } }`, map[string]any{"url": fake.URL, "key": fake.APIKey()}, &created)
	var secret struct{ SetConnectionWebhookSecret string }
	gql(`mutation($id: ID!) { setConnectionWebhookSecret(id: $id) }`, map[string]any{"id": created.CreateConnection.ID}, &secret)

	hook := fmt.Sprintf(`{"messages": [{"messageId": "wz-in-1", "channelId": "11111111-1111-4111-8111-111111111111",
	  "chatType": "whatsapp", "chatId": "79124698489", "dateTime": %d, "type": 1, "status": 99, "text": "Hi", "authorType": 99}]}`,
		time.Now().Add(-time.Minute).UnixMilli())
	res, err := http.Post(base+created.CreateConnection.WebhookPath+"?token="+secret.SetConnectionWebhookSecret,
		"application/json", strings.NewReader(hook))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("webhook: %v %v", res, err)
	}
	res.Body.Close()
	var convs struct {
		Conversations struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	gql(`{ conversations { edges { node { id } } } }`, nil, &convs)
	if len(convs.Conversations.Edges) != 1 {
		t.Fatalf("conversations %+v", convs)
	}
	conv := convs.Conversations.Edges[0].Node.ID
	type sent struct {
		SendMessage struct {
			ID, Status string
			ErrorCode  *string
		}
	}
	var ok sent
	gql(`mutation($c: ID!) { sendMessage(input: {conversationId: $c, type: TEXT, text: "Hello from the hub"}) { id status errorCode } }`,
		map[string]any{"c": conv}, &ok)
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].ChannelID != "11111111-1111-4111-8111-111111111111" || msgs[0].ChatType != "whatsapp" ||
		msgs[0].ChatID != "79124698489" || msgs[0].Text != "Hello from the hub" {
		t.Fatalf("send_message got %+v", msgs)
	}
	var status struct{ Node struct{ Status string } }
	gql(`query($id: ID!) { node(id: $id) { ... on Message { status } } }`, map[string]any{"id": ok.SendMessage.ID}, &status)
	if status.Node.Status != "SENT" {
		t.Fatalf("sent message %s", status.Node.Status)
	}

	mu.Lock()
	refuse = "CHANNEL_BLOCKED"
	mu.Unlock()
	var refused sent
	gql(`mutation($c: ID!) { sendMessage(input: {conversationId: $c, type: TEXT, text: "blocked"}) { id status errorCode } }`,
		map[string]any{"c": conv}, &refused)
	var failed struct {
		Node struct {
			Status    string
			ErrorCode *string
		}
	}
	gql(`query($id: ID!) { node(id: $id) { ... on Message { status errorCode } } }`, map[string]any{"id": refused.SendMessage.ID}, &failed)
	if failed.Node.Status != "FAILED" || failed.Node.ErrorCode == nil || *failed.Node.ErrorCode != "CHANNEL_BLOCKED" {
		t.Fatalf("refused message %+v", failed.Node)
	}
}

// startServe runs `crmhub serve --dev-key` with connections allowed to
// reach loopback, as `make run` does, keeping its dev key in keyFile (a
// temporary file when ""), and returns its base URL and a GraphQL caller
// with its dev key.
func startServe(t *testing.T, keyFile string) (string, func(query string, vars map[string]any, out any)) {
	t.Helper()
	stdout := proctest.NewLines()
	var stderr proctest.Buffer
	c := &cli{getenv: env(t, map[string]string{"CRMHUB_CONNECTOR_ALLOW_PRIVATE": "true"}), stdout: stdout, stderr: &stderr}
	if keyFile == "" {
		keyFile = t.TempDir() + "/key"
	}
	ctx, cancel := context.WithCancel(t.Context())
	exited := make(chan int, 1)
	go func() {
		exited <- c.run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--dev-key", "--dev-key-file", keyFile})
		stdout.Close()
	}()
	t.Cleanup(func() { cancel(); <-exited })
	base := stdout.Next(t, "crmhub listening on ")
	key := stdout.Next(t, "Dev API key: ")
	gql := func(query string, vars map[string]any, out any) {
		t.Helper()
		proctest.GraphQL(t, base, key, query, vars, out)
	}
	return base, gql
}

// TestServeConversationThroughWazera: the same through Wazera, which signs
// its webhooks: a signed message.received opens the conversation, the
// reply reaches messages/send, signed status events move it to READ, and
// a refusal shows on the message.
func TestServeConversationThroughWazera(t *testing.T) {
	refuse := ""
	var mu sync.Mutex
	fake := wazeratest.NewServer(t, wazeratest.Options{
		RefuseMessage: func(wazeratest.Message) string { mu.Lock(); defer mu.Unlock(); return refuse }})
	base, gql := startServe(t, "")
	var created struct {
		CreateConnection struct{ ID, WebhookPath string }
	}
	gql(`mutation($url: String!, $key: String!) { createConnection(input: {kind: WAZERA, name: "W", baseUrl: $url, apiKey: $key,
		direction: PULL, options: {whatsapp_account_id: 1}}) { id webhookPath } }`,
		map[string]any{"url": fake.URL, "key": wazeratest.DefaultAPIKey}, &created)
	const signing = "wazera-signing-secret-1234"
	var secret struct{ SetConnectionWebhookSecret string }
	gql(`mutation($id: ID!, $s: String!) { setConnectionWebhookSecret(id: $id, secret: $s) }`,
		map[string]any{"id": created.CreateConnection.ID, "s": signing}, &secret)

	ev := wazeratest.Examples()[wazeratest.EventMessageReceived]
	m := ev.Data.(wazeratest.WebhookMessage)
	m.From = "+14155550123"                    // the document's example number is not a valid phone
	m.CreatedAt = time.Now().Add(-time.Minute) // inside the service window
	ev.Data, ev.Timestamp = m, m.CreatedAt
	req, err := wazeratest.NewWebhookRequest(t.Context(), base+created.CreateConnection.WebhookPath, ev, signing)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("webhook: %v %v", res, err)
	}
	res.Body.Close()
	var convs struct {
		Conversations struct {
			Edges []struct{ Node struct{ ID, ChatID string } }
		}
	}
	gql(`{ conversations { edges { node { id chatId } } } }`, nil, &convs)
	if len(convs.Conversations.Edges) != 1 || convs.Conversations.Edges[0].Node.ChatID != "+14155550123" {
		t.Fatalf("conversations %+v", convs)
	}
	conv := convs.Conversations.Edges[0].Node.ID
	var msg struct{ SendMessage struct{ ID string } }
	gql(`mutation($c: ID!) { sendMessage(input: {conversationId: $c, type: TEXT, text: "Hello from the hub"}) { id } }`,
		map[string]any{"c": conv}, &msg)
	if got := fake.Messages(); len(got) != 1 || got[0].To != "+14155550123" || got[0].WhatsAppAccountID != 1 ||
		got[0].Type != "text" || got[0].Body != "Hello from the hub" {
		t.Fatalf("messages/send got %+v", got)
	}
	// Wazera reports the message delivered, then read: the message follows.
	sentID := msg.SendMessage.ID
	for _, event := range []string{wazeratest.EventMessageDelivered, wazeratest.EventMessageRead} {
		ev, ok := fake.StatusEvent(fake.Messages()[0].ID, event)
		if !ok {
			t.Fatal("the fake does not know its message")
		}
		req, _ := wazeratest.NewWebhookRequest(t.Context(), base+created.CreateConnection.WebhookPath, ev, signing)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%s webhook: %v %v", event, res, err)
		}
		res.Body.Close()
	}
	var read struct{ Node struct{ Status string } }
	gql(`query($id: ID!) { node(id: $id) { ... on Message { status } } }`, map[string]any{"id": sentID}, &read)
	if read.Node.Status != "READ" {
		t.Fatalf("after the status webhooks the message is %s, want READ", read.Node.Status)
	}

	mu.Lock()
	refuse = "TEMPLATE_REQUIRED"
	mu.Unlock()
	gql(`mutation($c: ID!) { sendMessage(input: {conversationId: $c, type: TEXT, text: "refused"}) { id } }`,
		map[string]any{"c": conv}, &msg)
	var failed struct {
		Node struct {
			Status    string
			ErrorCode *string
		}
	}
	gql(`query($id: ID!) { node(id: $id) { ... on Message { status errorCode } } }`, map[string]any{"id": msg.SendMessage.ID}, &failed)
	if failed.Node.Status != "FAILED" || failed.Node.ErrorCode == nil || *failed.Node.ErrorCode != "TEMPLATE_REQUIRED" {
		t.Fatalf("refused message %+v", failed.Node)
	}
}

// TestSyncAfterMakeRun: `crmhub sync` from the README works, unchanged,
// beside a development server (serve --dev-key with loopback allowed and
// no CRMHUB_SECRET_KEY, as make run leaves it, in the same directory), and
// when a setting keeps a run from starting, its code and the setting to
// change are printed.
func TestSyncAfterMakeRun(t *testing.T) {
	fake := fakeWazzup(t, 120)
	t.Chdir(t.TempDir())
	_, gql := startServe(t, defaultDevKeyFile)
	var created struct{ CreateConnection struct{ ID string } }
	gql(`mutation($url: String!, $key: String!) { createConnection(input: {kind: WAZZUP, name: "W", baseUrl: $url,
		apiKey: $key, direction: PULL, entities: [USERS, CONTACTS]}) { id } }`,
		map[string]any{"url": fake.URL, "key": fake.APIKey()}, &created)
	conn := created.CreateConnection.ID

	code, stdout, stderr := run(t, env(t, nil), "sync", "--connection", conn)
	if code != 0 || !strings.Contains(stdout, "SUCCEEDED") || !strings.Contains(stdout, "created    121") {
		t.Fatalf("sync after make run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, tc := range []struct {
		env        map[string]string
		code, says string
	}{
		{map[string]string{"CRMHUB_CONNECTOR_ALLOW_PRIVATE": "false"}, "REMOTE_UNREACHABLE", "set CRMHUB_CONNECTOR_ALLOW_PRIVATE=true"},
		{map[string]string{"CRMHUB_SECRET_KEY": db.NewSecretKey()}, "SECRET_UNREADABLE", "CRMHUB_SECRET_KEY"},
	} {
		code, stdout, stderr := run(t, env(t, tc.env), "sync", "--connection", conn)
		if code != 1 || !strings.Contains(stdout, "FAILED") || !strings.Contains(stdout, tc.code) ||
			!strings.Contains(stderr, "the sync run failed ("+tc.code+")") || !strings.Contains(stderr, tc.says) {
			t.Errorf("sync with %v: exit %d\n%s\n%s", tc.env, code, stdout, stderr)
		}
	}
}
