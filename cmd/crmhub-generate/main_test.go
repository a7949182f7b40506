package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The executor make generate wrote has been rewritten everywhere: the
// generate step in CI then checks that gqlgen's output still has the shape
// the rewrites expect, and this that they left none of its calls behind.
func TestGeneratedExecutorRewritten(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "graph", "generated.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, left := range []string{"MarshalSliceConcurrently", "graphql.GetPath(ctx)", "NewScalarFieldContext"} {
		if n := strings.Count(string(src), left); n > 0 {
			t.Errorf("graph/generated.go still calls %s %d times: run make generate", left, n)
		}
	}
}

func TestRewriteRefusesChangedOutput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "generated.go")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const list = "ret := graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, f)\n"
	const deferred = "ec.ProcessDeferredGroup(graphql.DeferredGroup{\n\tPath:     graphql.GetPath(ctx),\n})\n"
	const scalar = `graphql.NewScalarFieldContext("Message", field, false, false, errors.New("field of type String does not have child fields"))` + "\n"
	body := "package graph\n\nfunc f() {\n" + list + deferred + scalar + "}\n"

	write(body)
	if err := rewriteExec(file); err != nil {
		t.Fatalf("rewrite of gqlgen's shapes: %v", err)
	}
	got, _ := os.ReadFile(file)
	for _, want := range []string{"marshalList(ctx, sel, len(v), 0, false, f)", "Path: deferredPath(ctx, deferLabelToView),",
		`scalarFieldContext("Message", field, false, false, "String")`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("rewritten executor lacks %q:\n%s", want, got)
		}
	}

	// A call in a shape the rewrite does not know fails generation rather
	// than being left as it was.
	for _, changed := range []string{
		strings.Replace(body, list, list+"ret = graphql.MarshalSliceConcurrently(ctx, n, 0, false, f)\n", 1),
		strings.Replace(body, "Path:     graphql.GetPath(ctx),", "Path: graphql.PathOf(ctx),", 1),
		strings.Replace(body, scalar, scalar+`graphql.NewScalarFieldContext("Message", field, false, false, nil)`+"\n", 1),
	} {
		write(changed)
		if err := rewriteExec(file); err == nil {
			t.Errorf("rewrite accepted gqlgen output it does not know:\n%s", changed)
		}
	}
}
