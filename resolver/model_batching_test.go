package resolver_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/crmhub/crmhub/db/dbtest"
)

// countingEnv is an env whose statements counter counts.
func countingEnv(t *testing.T) (*env, *queryCounter) {
	t.Helper()
	d := dbtest.Open(t, nil)
	counter := &queryCounter{}
	d.Bun = d.Bun.WithQueryHook(counter)
	return newEnvOn(t, d), counter
}

// fewestStatements runs f a few times and returns the fewest statements
// one run took: a batch that a slow scheduler splits in two is noise, a
// read per parent is not, and it shows in every run.
func fewestStatements(counter *queryCounter, f func()) int64 {
	best := int64(-1)
	for range 3 {
		counter.n.Store(0)
		f()
		if got := counter.n.Load(); best < 0 || got < best {
			best = got
		}
	}
	return best
}

// assertConstant fails unless a page of 100 took no more statements than a
// page of 10.
func assertConstant(t *testing.T, s10, s100 int64) {
	t.Helper()
	t.Logf("statements: first 10: %d, first 100: %d", s10, s100)
	if s10 == 0 {
		t.Fatal("the query hook saw no statements")
	}
	if s100 > s10 {
		t.Fatalf("first: 100 took %d statements, first: 10 took %d: a nested field is not batched", s100, s10)
	}
}

// aliased runs one mutation per item, in operations of 25 aliased fields.
func (c *client) aliased(n int, field func(i int) string) {
	c.t.Helper()
	for chunk := 0; chunk < n; chunk += 25 {
		var m strings.Builder
		m.WriteString("mutation {")
		for i := chunk; i < min(chunk+25, n); i++ {
			fmt.Fprintf(&m, " m%d: %s", i, field(i))
		}
		m.WriteString(" }")
		c.do(m.String(), nil, nil)
	}
}

// modelFixture is 100 contacts, each with a responsible user, a consent, a
// suppression, two deals (shared with the neighbours) and a conversation
// whose inbound message was answered with a quote; the conversations are
// assigned.
type modelFixture struct {
	contacts, conversations, messages []string
}

func newModelFixture(c *client) modelFixture {
	c.t.Helper()
	var users []string
	for i := range 5 {
		users = append(users, c.newUser(fmt.Sprintf("u%d", i), fmt.Sprintf("User %d", i)))
	}
	items := make([]map[string]any, 100)
	for i := range items {
		items[i] = map[string]any{"name": fmt.Sprintf("C%03d", i), "responsibleUserId": users[i%5],
			"identifiers": []any{ident("WHATSAPP", fmt.Sprintf("+1415555%04d", i))}}
	}
	var f modelFixture
	for _, r := range c.upsert(items) {
		f.contacts = append(f.contacts, r.Contact.ID)
	}
	deals := make([]map[string]any, 100)
	for i := range deals {
		deals[i] = map[string]any{"name": fmt.Sprintf("D%03d", i), "responsibleUserId": users[(i+1)%5],
			"contactIds": []string{f.contacts[i], f.contacts[(i+1)%100]}}
	}
	for _, r := range c.upsertDeals(deals...) {
		if r.Status != "CREATED" {
			c.t.Fatalf("deal: %+v", r)
		}
	}
	c.aliased(100, func(i int) string {
		return fmt.Sprintf(`setConsent(contactId: %q, channel: EMAIL, status: OPTED_IN, source: "s%d") { status }
			s%d: suppressContact(contactId: %q, channel: SMS, reason: "r%d") { id }`, f.contacts[i], i, i, f.contacts[i], i)
	})
	for i := range 100 {
		m := c.inbound("WHATSAPP", fmt.Sprintf("+1415555%04d", i), fmt.Sprintf("in %d", i), nil)
		f.conversations = append(f.conversations, m.Conversation.ID)
		f.messages = append(f.messages, m.ID)
	}
	c.aliased(100, func(i int) string {
		return fmt.Sprintf(`assignConversation(id: %q, userId: %q) { id }
			r%d: sendMessage(input: {conversationId: %q, type: TEXT, text: "re %d", replyToId: %q}) { id }`,
			f.conversations[i], users[i%5], i, f.conversations[i], i, f.messages[i])
	})
	return f
}

// TestModelFieldsAreBatched checks that the statements of a page of deals
// or contacts with every nested edge of the data model do not grow with the
// page size.
func TestModelFieldsAreBatched(t *testing.T) {
	e, counter := countingEnv(t)
	c := e.workspace()
	newModelFixture(c)

	for _, tc := range []struct {
		name, query string
		check       func(t *testing.T, data json.RawMessage, n int)
	}{
		{"deals", `query($n: Int!) { deals(first: $n) { edges { node { name
			contacts { name identities { value } } responsibleUser { name } } } } }`, checkDealsPage},
		{"contacts", `query($n: Int!) { contacts(first: $n) { edges { node { name
			deals(first: 5) { edges { node { name } } }
			conversations(first: 5) { edges { node { assignee { name } messages(first: 10) { edges { node { text replyTo { id } } } } } } }
			consents { status source } suppressions { reason } responsibleUser { name } } } } }`, checkContactsPage},
		{"edges below contacts' deals and suppressions", `query($n: Int!) { contacts(first: $n) { edges { node { name
			deals(first: 5) { edges { node { responsibleUser { name } contacts { name } } } }
			suppressions { contact { name } } } } } }`, checkNestedPage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *c
			c.t = t
			c.count() // settles the key's last-use stamp, written at most once a minute
			statements := func(n int) int64 {
				return fewestStatements(counter, func() {
					res := c.post(tc.query, map[string]any{"n": n})
					if len(res.Errors) > 0 {
						t.Fatalf("errors: %s", res.Raw)
					}
					tc.check(t, res.Data, n)
				})
			}
			assertConstant(t, statements(10), statements(100))
		})
	}
}

// pageNodes decodes the nodes of the connection root of data and checks
// that the page holds n of them.
func pageNodes[N any](t *testing.T, data json.RawMessage, root string, n int) []N {
	t.Helper()
	var p map[string]struct{ Edges []struct{ Node N } }
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	if len(p[root].Edges) != n {
		t.Fatalf("first: %d gave %d %s", n, len(p[root].Edges), root)
	}
	out := make([]N, n)
	for i, e := range p[root].Edges {
		out[i] = e.Node
	}
	return out
}

// num reads the number at the end of a fixture name such as D042 or "re 42".
func num(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(s[strings.LastIndexAny(s, "CD ")+1:], "%d", &n); err != nil {
		t.Fatalf("name %q: %v", s, err)
	}
	return n
}

// checkDealsPage checks that each deal got its own contacts and user.
func checkDealsPage(t *testing.T, data json.RawMessage, n int) {
	type node struct {
		Name     string
		Contacts []struct {
			Name       string
			Identities []struct{ Value string }
		}
		ResponsibleUser *struct{ Name string }
	}
	for _, d := range pageNodes[node](t, data, "deals", n) {
		i := num(t, d.Name)
		want := map[string]bool{fmt.Sprintf("C%03d", i): true, fmt.Sprintf("C%03d", (i+1)%100): true}
		if len(d.Contacts) != 2 || d.ResponsibleUser == nil || d.ResponsibleUser.Name != fmt.Sprintf("User %d", (i+1)%5) {
			t.Fatalf("deal %s = %+v", d.Name, d)
		}
		for _, c := range d.Contacts {
			if !want[c.Name] || len(c.Identities) != 1 || c.Identities[0].Value != fmt.Sprintf("+1415555%04d", num(t, c.Name)) {
				t.Fatalf("deal %s has another deal's contact: %+v", d.Name, d.Contacts)
			}
		}
	}
}

// checkContactsPage checks that each contact got its own deals,
// conversation, messages, consents, suppressions and users.
func checkContactsPage(t *testing.T, data json.RawMessage, n int) {
	type node struct {
		Name  string
		Deals struct {
			Edges []struct{ Node struct{ Name string } }
		}
		Conversations struct {
			Edges []struct {
				Node struct {
					Assignee *struct{ Name string }
					Messages struct {
						Edges []struct {
							Node struct {
								Text    string
								ReplyTo *struct{ ID string }
							}
						}
					}
				}
			}
		}
		Consents        []struct{ Status, Source string }
		Suppressions    []struct{ Reason string }
		ResponsibleUser *struct{ Name string }
	}
	for _, c := range pageNodes[node](t, data, "contacts", n) {
		i := num(t, c.Name)
		deals := map[string]bool{}
		for _, d := range c.Deals.Edges {
			deals[d.Node.Name] = true
		}
		if len(deals) != 2 || !deals[fmt.Sprintf("D%03d", i)] || !deals[fmt.Sprintf("D%03d", (i+99)%100)] {
			t.Fatalf("contact %s has deals %v", c.Name, deals)
		}
		if len(c.Consents) != 1 || c.Consents[0].Source != fmt.Sprintf("s%d", i) || len(c.Suppressions) != 1 ||
			c.Suppressions[0].Reason != fmt.Sprintf("r%d", i) || c.ResponsibleUser == nil || c.ResponsibleUser.Name != fmt.Sprintf("User %d", i%5) {
			t.Fatalf("contact %s = %+v", c.Name, c)
		}
		if len(c.Conversations.Edges) != 1 {
			t.Fatalf("contact %s has %d conversations", c.Name, len(c.Conversations.Edges))
		}
		cv := c.Conversations.Edges[0].Node
		ms := cv.Messages.Edges
		if cv.Assignee == nil || cv.Assignee.Name != fmt.Sprintf("User %d", i%5) || len(ms) != 2 ||
			ms[0].Node.Text != fmt.Sprintf("re %d", i) || ms[0].Node.ReplyTo == nil || ms[1].Node.Text != fmt.Sprintf("in %d", i) ||
			ms[1].Node.ReplyTo != nil {
			t.Fatalf("contact %s has conversation %+v", c.Name, cv)
		}
	}
}

// checkNestedPage checks the edges below a contact's deals and
// suppressions.
func checkNestedPage(t *testing.T, data json.RawMessage, n int) {
	type node struct {
		Name  string
		Deals struct {
			Edges []struct {
				Node struct {
					ResponsibleUser *struct{ Name string }
					Contacts        []struct{ Name string }
				}
			}
		}
		Suppressions []struct{ Contact struct{ Name string } }
	}
	for _, c := range pageNodes[node](t, data, "contacts", n) {
		if len(c.Suppressions) != 1 || c.Suppressions[0].Contact.Name != c.Name || len(c.Deals.Edges) != 2 {
			t.Fatalf("contact %s = %+v", c.Name, c)
		}
		for _, d := range c.Deals.Edges {
			if d.Node.ResponsibleUser == nil || len(d.Node.Contacts) != 2 ||
				!slices.Contains([]string{d.Node.Contacts[0].Name, d.Node.Contacts[1].Name}, c.Name) {
				t.Fatalf("contact %s has deal %+v", c.Name, d.Node)
			}
		}
	}
}
