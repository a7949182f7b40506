package resolver_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/crmhub/crmhub/graph"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestSchemaIsDocumented keeps the schema documented for the frontend
// developers who read it through introspection: every type, field,
// argument, input field, enum value and directive the server serves (the
// schema embedded in graph/, so a forgotten `make generate` fails too) has
// a description.
func TestSchemaIsDocumented(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	if missing := undocumented(schema); len(missing) > 0 {
		t.Errorf("%d schema elements have no description; write one (what it is, its format, limits and errors):", len(missing))
		for _, m := range missing {
			t.Errorf("  %s", m)
		}
	}
}

// TestUndocumented checks the checker: it names each kind of element that
// lacks a description, and leaves the built-in types alone.
func TestUndocumented(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Name: "test.graphqls", Input: `
"A scope."
directive @need(scope: String!) on FIELD_DEFINITION
directive @bare on FIELD_DEFINITION
scalar Money
"Documented."
type Query {
  "Documented."
  a(
    "Documented."
    x: Int
    y: Int
  ): Int @need(scope: "s")
  b: Color
}
"Documented."
enum Color {
  "Documented."
  RED
  BLUE
}
input Filter {
  "Documented."
  on: Boolean
  off: Boolean
}
interface Thing {
  id: ID!
}
union Either = Query
`})
	want := []string{"@bare", "@need(scope)", "Either", "Filter", "Filter.off", "Money",
		"Query.a(y)", "Query.b", "Thing", "Thing.id", "Color.BLUE"}
	got := undocumented(schema)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("undocumented =\n  %q\nwant\n  %q", got, want)
	}
}

// undocumented names, sorted, the elements of schema without a
// description: "Type", "Type.field", "Type.field(arg)", "Enum.VALUE",
// "Input.field", "@directive" and "@directive(arg)". Built-in types and
// directives (String, __Type, @include, ...) are the spec's, not ours.
func undocumented(schema *ast.Schema) []string {
	var out []string
	missing := func(desc, name string) {
		if desc == "" {
			out = append(out, name)
		}
	}
	args := func(list ast.ArgumentDefinitionList, owner string) {
		for _, a := range list {
			missing(a.Description, owner+"("+a.Name+")")
		}
	}
	for name, def := range schema.Types {
		if def.BuiltIn {
			continue
		}
		missing(def.Description, name)
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue // __schema and __type, which the parser adds to Query
			}
			missing(f.Description, name+"."+f.Name)
			args(f.Arguments, name+"."+f.Name)
		}
		for _, v := range def.EnumValues {
			missing(v.Description, name+"."+v.Name)
		}
	}
	for name, d := range schema.Directives {
		if d.Position != nil && d.Position.Src != nil && d.Position.Src.BuiltIn {
			continue
		}
		missing(d.Description, "@"+name)
		args(d.Arguments, "@"+name)
	}
	sort.Strings(out)
	return out
}
