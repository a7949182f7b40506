package db

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// searchIDsMax is how many matches a search may have for the listing to
// start from them. Past it the term is common, and walking the contacts in
// the listing's order while checking each one's document finds a page
// sooner: at 1,000,000 contacts a term matching 5,000 needs ~4,000 rows
// walked for a page of 20, and one matching 65,000 ("ivan") ~300, while
// collecting every match of the latter costs ~100 ms. Both sides of the
// threshold stay under a few milliseconds plus the index read.
var searchIDsMax = 5000

// searchCondition returns the condition on contacts "c" that keeps the
// contacts a search matches: a case-insensitive substring of the name, of
// a phone or of an email. The search is matched against each contact's
// search document (contact_search.doc, migration 0015: the lower-case name
// and the phone and email values, one per line), and, when it is mostly
// digits (at least three, and at least half of it), its digits alone are
// matched too, so "+7 (916) 123" finds the phone +79161234567.
//
// When the search has letters or digits enough for the trigram index (a
// run of three), the matching contacts are looked up there first, through
// contact_search_ids; if they are few the condition is the list of their
// ids, which PostgreSQL joins in any order the listing asks. Otherwise
// (a common term, or one too short for trigrams) it checks each contact's
// document while walking the listing's own index order, which stops at the
// end of the page.
func searchCondition(ctx context.Context, t *tx, search string) (string, []any, error) {
	// Documents hold one field per line, names with spaces for line breaks.
	pattern := "%" + escapeLike(strings.ReplaceAll(strings.ToLower(search), "\n", " ")) + "%"
	alt := pattern
	if digits := onlyDigits(search); len(digits) >= 3 && len(digits) >= len(search)/2 {
		alt = "%" + digits + "%"
	}
	if hasTrigram(pattern) && hasTrigram(alt) {
		var common bool
		var ids []uuid.UUID
		err := t.NewRaw("SELECT m IS NULL, coalesce(m, '{}') FROM contact_search_ids(?, ?, ?) AS m",
			pattern, alt, searchIDsMax).Scan(ctx, &common, pgdialect.Array(&ids))
		if err != nil {
			return "", nil, fmt.Errorf("db: search contacts: %w", err)
		}
		if !common {
			return "c.id = ANY(?)", []any{pgdialect.Array(ids)}, nil
		}
	}
	return `EXISTS (SELECT 1 FROM contact_search s WHERE s.workspace_id = c.workspace_id AND s.contact_id = c.id
		AND (s.doc LIKE ? OR s.doc LIKE ?))`, []any{pattern, alt}, nil
}

// hasTrigram reports whether a LIKE pattern holds a run of three letters
// or digits outside its wildcards, from which pg_trgm takes the trigrams
// that narrow an index scan; without one the index would return every row.
func hasTrigram(pattern string) bool {
	run := 0
	for _, r := range pattern {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if run++; run >= 3 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
