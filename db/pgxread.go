package db

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// The loaders of a nested page (messages and conversations by parent,
// contacts and identities by id, a deal's contacts) read hundreds of rows
// per request. Through bun and database/sql each value of each row went
// through reflection and driver.Value conversions, a fifth of the CPU of
// the nested page. These reads run their statement with pgx on the
// transaction's own connection, inside the same transaction as bun's
// reads (the tenant and row-level security apply as to them), and scan
// each row with explicit destinations.

// queryRows runs sql on t's connection and returns one R per row. dest
// returns the destinations of the columns of sql, in their order, as
// fields of r: it is called once, for a scratch row that each row is
// scanned into and then copied out of, so that a row allocates only what
// its values need.
func queryRows[R any](ctx context.Context, t *tx, dest func(r *R) []any, sql string, args ...any) ([]R, error) {
	// A writeBatched transaction may not have sent its BEGIN and tenant yet.
	if t.conn == nil || t.batched {
		return nil, errors.New("db: a pgx read needs the connection of a begun transaction")
	}
	var out []R
	var r R
	scans := dest(&r)
	err := t.conn(func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		_, err = pgx.ForEachRow(rows, scans, func() error {
			out = append(out, r)
			var zero R
			r = zero // nothing of this row (a pointer, a map) is reused by the next
			return nil
		})
		return err
	})
	return out, err
}

// uuidCol is the destination of a uuid column in u. Scanned into a
// uuid.UUID itself, pgx would go through its sql.Scanner: the value
// decoded to text and parsed back, with an allocation each.
func uuidCol(u *uuid.UUID) any { return (*[16]byte)(u) }

// nullUUIDCol is the destination of a nullable uuid column in *p: nil for
// NULL, else a new uuid.UUID.
func nullUUIDCol(p **uuid.UUID) any { return nullUUID{p} }

type nullUUID struct{ p **uuid.UUID }

// ScanUUID implements pgtype.UUIDScanner.
func (n nullUUID) ScanUUID(v pgtype.UUID) error {
	if !v.Valid {
		*n.p = nil
		return nil
	}
	u := uuid.UUID(v.Bytes)
	*n.p = &u
	return nil
}
