package db_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/jackc/pgx/v5"
)

// nonTenantTables are the tables of the schema that hold no tenant's rows,
// each with the reason. Every other table is a tenant table and must be
// distributable by workspace_id (see lintSchema).
var nonTenantTables = map[string]string{
	"workspaces":          "the tenants themselves: its id is the workspace_id the others reference (distributed by id on Citus)",
	"bun_migrations":      "migration bookkeeping, cluster-wide",
	"bun_migration_locks": "migration bookkeeping, cluster-wide",
	"maintenance_runs":    "when cluster-wide background work last started, one row per task (a reference table on Citus)",
	"river_*":             "River's job queue: cluster-wide, its jobs name the workspace in their arguments (kept on the coordinator on Citus)",
}

// rlsNotForced are the tenant tables whose row-level security is enabled
// but not forced on their owner, each with the reason; crmhub_app is held
// to its workspace on them all the same.
var rlsNotForced = map[string]string{
	"contact_search": "its SECURITY DEFINER search function (contact_search_ids, owner-run) must reach the trigram index, " +
		"which PostgreSQL will not use for LIKE under a policy; the function filters by app_workspace_id() itself",
}

// isNonTenant reports whether table is listed in nonTenantTables, by name
// or by a prefix ending in "*".
func isNonTenant(table string) bool {
	for name := range nonTenantTables {
		if prefix, ok := strings.CutSuffix(name, "*"); ok && strings.HasPrefix(table, prefix) || name == table {
			return true
		}
	}
	return false
}

// lintSchemaSQL lists, for each table of the current schema, its
// workspace_id column, row-level security, and every primary key, unique,
// exclusion and foreign key constraint and unique index with its columns
// in order (and the referenced table and columns of a foreign key).
const lintSchemaSQL = `
SELECT c.relname,
       EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'workspace_id' AND NOT a.attisdropped),
       c.relrowsecurity, c.relforcerowsecurity,
       coalesce(k.kind, ''), coalesce(k.name, ''), coalesce(k.cols, '{}'), coalesce(k.ref, ''), coalesce(k.ref_cols, '{}')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
LEFT JOIN LATERAL (
  SELECT con.contype::text AS kind, con.conname::text AS name,
         (SELECT array_agg(a.attname::text ORDER BY u.i) FROM unnest(con.conkey) WITH ORDINALITY u(n, i)
          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = u.n) AS cols,
         coalesce(con.confrelid::regclass::text, '') AS ref,
         (SELECT array_agg(a.attname::text ORDER BY u.i) FROM unnest(con.confkey) WITH ORDINALITY u(n, i)
          JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = u.n) AS ref_cols
  FROM pg_constraint con WHERE con.conrelid = c.oid AND con.contype IN ('p', 'u', 'x', 'f')
  UNION ALL
  SELECT 'i', i.indexrelid::regclass::text,
         (SELECT array_agg(coalesce(a.attname::text, '(expression)') ORDER BY u.i) FROM unnest(i.indkey::int2[]) WITH ORDINALITY u(n, i)
          LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.n),
         '', NULL
  FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique
    AND NOT EXISTS (SELECT FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = c.oid)
) k ON true
WHERE c.relkind IN ('r', 'p')
ORDER BY c.relname, k.kind, k.name`

// lintSchema returns what in the live schema stops Citus from distributing
// the tenant tables by workspace_id, or lets a row point into another
// workspace: every tenant table has workspace_id, forced row-level
// security, and a primary key; its primary key, unique and exclusion
// constraints, unique indexes and foreign keys start with workspace_id;
// and a foreign key to another tenant table maps workspace_id to
// workspace_id (one to workspaces maps it to id).
func lintSchema(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	rows, err := conn.Query(ctx, lintSchemaSQL)
	if err != nil {
		return nil, err
	}
	var (
		problems []string
		table    string
		hasWS    bool
		rls      bool
		forced   bool
		kind     string
		name     string
		cols     []string
		ref      string
		refCols  []string
		pkeys    = map[string]bool{}
		tables   []string
	)
	_, err = pgx.ForEachRow(rows, []any{&table, &hasWS, &rls, &forced, &kind, &name, &cols, &ref, &refCols}, func() error {
		if isNonTenant(table) {
			return nil
		}
		if !slices.Contains(tables, table) {
			tables = append(tables, table)
			if !hasWS {
				problems = append(problems, fmt.Sprintf("%s: no workspace_id column (a tenant table, or list it in nonTenantTables with the reason)", table))
			}
			if _, owner := rlsNotForced[table]; !rls || !forced && !owner {
				problems = append(problems, fmt.Sprintf("%s: row-level security is not enabled and forced", table))
			}
		}
		if kind == "" {
			return nil
		}
		what := map[string]string{"p": "primary key", "u": "unique constraint", "x": "exclusion constraint",
			"f": "foreign key", "i": "unique index"}[kind]
		if kind == "p" {
			pkeys[table] = true
		}
		if len(cols) == 0 || cols[0] != "workspace_id" {
			problems = append(problems, fmt.Sprintf("%s: %s %s (%s) does not start with workspace_id", table, what, name, strings.Join(cols, ", ")))
			return nil
		}
		if kind != "f" {
			return nil
		}
		switch {
		case ref == "workspaces":
			if !slices.Equal(cols, []string{"workspace_id"}) || !slices.Equal(refCols, []string{"id"}) {
				problems = append(problems, fmt.Sprintf("%s: foreign key %s to workspaces is not (workspace_id) -> (id)", table, name))
			}
		case isNonTenant(ref):
			problems = append(problems, fmt.Sprintf("%s: foreign key %s references %s, which is not a tenant table", table, name, ref))
		case len(refCols) == 0 || refCols[0] != "workspace_id":
			problems = append(problems, fmt.Sprintf("%s: foreign key %s maps workspace_id to %s.%s: it may point into another workspace",
				table, name, ref, strings.Join(refCols, ",")))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		if !pkeys[t] {
			problems = append(problems, fmt.Sprintf("%s: no primary key", t))
		}
	}
	return problems, nil
}

// TestSchemaIsDistributableByWorkspace lints the live schema (every
// migration applied, including other branches' after a merge): see
// lintSchema. It also checks that the lint catches each kind of mistake,
// on tables made in a transaction that is rolled back.
func TestSchemaIsDistributableByWorkspace(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	problems, err := lintSchema(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}

	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `
		CREATE TABLE lint_no_ws (id uuid PRIMARY KEY);
		ALTER TABLE lint_no_ws ENABLE ROW LEVEL SECURITY;
		ALTER TABLE lint_no_ws FORCE ROW LEVEL SECURITY;
		CREATE TABLE lint_bad (workspace_id uuid NOT NULL, id uuid NOT NULL, contact_id uuid, code text,
			PRIMARY KEY (id, workspace_id), UNIQUE (code, workspace_id),
			FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (id, workspace_id));
		CREATE UNIQUE INDEX lint_bad_code ON lint_bad (code);`)
	if err != nil {
		t.Fatal(err)
	}
	problems, err = lintSchema(ctx, tx.Conn())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"lint_no_ws: no workspace_id column",
		"lint_bad: row-level security is not enabled and forced",
		"lint_bad: primary key lint_bad_pkey (id, workspace_id) does not start with workspace_id",
		"lint_bad: unique constraint lint_bad_code_workspace_id_key (code, workspace_id) does not start with workspace_id",
		"lint_bad: unique index lint_bad_code (code) does not start with workspace_id",
		"lint_bad: foreign key lint_bad_workspace_id_contact_id_fkey maps workspace_id to contacts.id,workspace_id",
	} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, want) }) {
			t.Errorf("the lint misses %q; it found:\n%s", want, strings.Join(problems, "\n"))
		}
	}
}
