package db

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// searchIDsMax caps how many matches a search collects from the trigram
// index (contact_search_ids, migration 0016): past it the listing walks its
// own order instead. The function picks that walk beforehand when the
// planner's estimate makes it cheaper; the cap guards against an estimate
// that is far off.
var searchIDsMax = 5000

// searchCondition returns the condition on contacts "c" that keeps the
// contacts a search matches: a case-insensitive substring of the name, of
// a phone or of an email. The search is matched against each contact's
// search document (contact_search.doc, migration 0015: the lower-case name
// and the phone and email values, one per line), and, when it is mostly
// digits (at least three, and at least half of it), its digits alone are
// matched too, so "+7 (916) 123" finds the phone +79161234567.
//
// need is how many matching rows the statement reads in the listing's
// order (a page and one more), or 0 for all (a count). There are two ways
// to find them. The trigram index returns every document that holds the
// term, from which the condition becomes the list of their ids, joined in
// any order the listing asks; or the listing walks its own index order and
// checks each contact's document, stopping at the end of the page, about
// need / (the share of contacts that match) rows. contact_search_ids
// estimates both from the planner's statistics and returns the ids when
// the index is cheaper (a rare term), NULL when the walk is (a common one:
// at 1,000,000 contacts "ivan" matches 65,000, and a page of 20 is found
// within ~320 contacts). A search too short for trigrams always walks.
func searchCondition(ctx context.Context, t *tx, search string, need int) (string, []any, error) {
	// Documents hold one field per line, names with spaces for line breaks.
	pattern := "%" + escapeLike(strings.ReplaceAll(strings.ToLower(search), "\n", " ")) + "%"
	alt := pattern
	if digits := onlyDigits(search); len(digits) >= 3 && len(digits) >= len(search)/2 {
		alt = "%" + digits + "%"
	}
	if hasTrigram(pattern) && hasTrigram(alt) {
		var common bool
		var ids []uuid.UUID
		err := t.NewRaw("SELECT m IS NULL, coalesce(m, '{}') FROM contact_search_ids(?, ?, ?, ?) AS m",
			pattern, alt, searchIDsMax, need).Scan(ctx, &common, pgdialect.Array(&ids))
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
