package resolver_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/uptrace/bun"
)

// queryCounter counts the statements bun sends.
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}
func (q *queryCounter) AfterQuery(context.Context, *bun.QueryEvent) { q.n.Add(1) }

// TestNestedFieldsAreBatched checks that the number of statements for a
// page of contacts with their identities, tags and notes does not grow with
// the page size: the dataloaders must turn N per-contact reads into one.
func TestNestedFieldsAreBatched(t *testing.T) {
	e, counter := countingEnv(t)
	c := e.workspace()

	items := make([]map[string]any, 100)
	for i := range items {
		items[i] = map[string]any{"name": fmt.Sprintf("C%03d", i), "tags": []string{"t1", fmt.Sprintf("u%03d", i)},
			"identifiers": []any{ident("EMAIL", fmt.Sprintf("c%03d@example.com", i)), ident("PHONE", fmt.Sprintf("+1415555%04d", i))}}
	}
	results := c.upsert(items)
	for chunk := 0; chunk < len(results); chunk += 25 {
		var m strings.Builder
		m.WriteString("mutation {")
		for i := chunk; i < chunk+25; i++ {
			for j := range 2 {
				fmt.Fprintf(&m, " n%d_%d: addNote(contactId: %q, body: \"note %d of C%03d\") { id }", i, j, results[i].Contact.ID, j, i)
			}
		}
		m.WriteString(" }")
		c.do(m.String(), nil, nil)
	}

	const q = `query($n: Int!) { contacts(first: $n) { edges { node { id name email phone tags identities { type value }
		notes(first: 5) { edges { node { body } } } } } } }`
	type page struct {
		Contacts struct {
			Edges []struct {
				Node struct {
					Name, Email, Phone string
					Tags               []string
					Identities         []identity
					Notes              struct {
						Edges []struct{ Node struct{ Body string } }
					}
				}
			}
		}
	}
	statements := func(n int) int64 {
		return fewestStatements(counter, func() {
			var p page
			c.do(q, map[string]any{"n": n}, &p)
			if len(p.Contacts.Edges) != n {
				t.Fatalf("first: %d gave %d contacts", n, len(p.Contacts.Edges))
			}
			// The batched answers must reach the contact they belong to.
			for _, e := range p.Contacts.Edges {
				x := e.Node
				i := x.Name[1:]
				n, _ := strconv.Atoi(i)
				if x.Email != "c"+i+"@example.com" || x.Phone != fmt.Sprintf("+1415555%04d", n) ||
					len(x.Tags) != 2 || x.Tags[1] != "u"+i || len(x.Identities) != 2 || len(x.Notes.Edges) != 2 ||
					!strings.HasSuffix(x.Notes.Edges[0].Node.Body, "of C"+i) {
					t.Fatalf("contact %s has another contact's data: %+v", x.Name, x)
				}
			}
		})
	}
	c.count() // settles the key's last-use stamp, written at most once a minute
	assertConstant(t, statements(10), statements(100))
}
