package db

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

var _ crmhub.UserService = (*UserService)(nil)

// UserService implements crmhub.UserService on PostgreSQL.
type UserService struct{ db *DB }

// NewUserService returns the service over d.
func NewUserService(d *DB) *UserService { return &UserService{db: d} }

type userRow struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	WorkspaceID uuid.UUID `bun:"workspace_id,pk,type:uuid"`
	ID          uuid.UUID `bun:"id,pk,type:uuid"`
	ExternalID  string    `bun:"external_id"`
	Name        string    `bun:"name"`
	Email       *string   `bun:"email"`
	CreatedAt   time.Time `bun:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at"`
}

func (r *userRow) domain() *crmhub.User {
	return &crmhub.User{ID: r.ID, ExternalID: r.ExternalID, Name: r.Name, Email: r.Email,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

const usersOrder = "USERS:NAME"

// normalizeUser validates one user as the CRM describes it. The input is
// the whole user: an absent or empty email means the user has none.
func normalizeUser(in crmhub.UserInput) (crmhub.UserInput, *crmhub.Error) {
	ext, err := requiredText(in.ExternalID, "externalId", crmhub.MaxExternalIDLength)
	if err != nil {
		return in, err
	}
	name, err := requiredText(in.Name, "name", crmhub.MaxUserNameLength)
	if err != nil {
		return in, err
	}
	out := crmhub.UserInput{ExternalID: ext, Name: name}
	if in.Email != nil && strings.TrimSpace(*in.Email) != "" {
		id, err := crmhub.Identifier{Type: crmhub.IdentityEmail, Value: *in.Email}.Normalize()
		if err != nil {
			return in, crmhub.Invalid("email", "%s", crmhub.ErrorMessage(err))
		}
		out.Email = &id.Value
	}
	return out, nil
}

// UpsertUsers creates or updates users by external id in one transaction.
// Items fail independently; an external id given twice fails the second
// item, since which of the two should win is anyone's guess.
func (s *UserService) UpsertUsers(ctx context.Context, in []crmhub.UserInput) ([]crmhub.UpsertUserResult, error) {
	if len(in) > crmhub.MaxBatch {
		return nil, tooMany(len(in))
	}
	results := make([]crmhub.UpsertUserResult, len(in))
	var items []crmhub.UserInput
	var index []int
	seen := map[string]bool{}
	for i, u := range in {
		results[i].Index = i
		n, err := normalizeUser(u)
		if err == nil && seen[n.ExternalID] {
			err = crmhub.Invalid("externalId", "externalId %q is given more than once", n.ExternalID)
		}
		if err != nil {
			results[i].Status = crmhub.UpsertFailed
			results[i].Errors = []crmhub.ItemError{itemError(err)}
			continue
		}
		seen[n.ExternalID] = true
		items = append(items, n)
		index = append(index, i)
	}
	if len(items) == 0 {
		return results, nil
	}
	err := s.db.write(ctx, crmhub.ScopeUsersWrite, func(ctx context.Context, t *tx) error {
		outs, err := applyUsers(ctx, t, items)
		if err != nil {
			return err
		}
		for j, o := range outs {
			results[index[j]].Status = o.status
			results[index[j]].User = o.row.domain()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// ReplaceUsers makes the workspace's users exactly in. Validation covers the
// whole list before anything is written, so a bad item changes nothing.
func (s *UserService) ReplaceUsers(ctx context.Context, in []crmhub.UserInput) (*crmhub.ReplaceUsersResult, error) {
	if len(in) > crmhub.MaxReplaceUsers {
		return nil, tooManyOf(len(in), crmhub.MaxReplaceUsers)
	}
	items := make([]crmhub.UserInput, len(in))
	exts := make([]string, len(in)) // never nil: an empty list deletes every user
	first := map[string]int{}
	for i, u := range in {
		n, err := normalizeUser(u)
		if err != nil {
			return nil, err.WithField(fmt.Sprintf("input[%d]", i))
		}
		if j, dup := first[n.ExternalID]; dup {
			return nil, crmhub.Invalid(fmt.Sprintf("input[%d].externalId", i),
				"externalId %q is also given at input[%d]", n.ExternalID, j)
		}
		first[n.ExternalID] = i
		items[i], exts[i] = n, n.ExternalID
	}
	var res *crmhub.ReplaceUsersResult
	err := s.db.write(ctx, crmhub.ScopeUsersWrite, func(ctx context.Context, t *tx) error {
		res = &crmhub.ReplaceUsersResult{Users: make([]*crmhub.User, 0, len(items))}
		outs, err := applyUsers(ctx, t, items)
		if err != nil {
			return err
		}
		for _, o := range outs {
			switch o.status {
			case crmhub.UpsertCreated:
				res.Created++
			case crmhub.UpsertUpdated:
				res.Updated++
			default:
				res.Unchanged++
			}
			res.Users = append(res.Users, o.row.domain())
		}
		// The foreign keys clear the assignments of deleted users.
		var gone []userRow
		err = t.NewDelete().Model(&gone).Where("workspace_id = ? AND NOT (external_id = ANY(?))", t.ws, pgdialect.Array(exts)).
			Returning("*").Scan(ctx)
		if err != nil {
			return fmt.Errorf("db: delete unlisted users: %w", err)
		}
		for i := range gone {
			emitUserDeleted(t, &gone[i])
		}
		res.Deleted = len(gone)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// userOutcome is what applyUsers did with one item.
type userOutcome struct {
	status crmhub.UpsertStatus
	row    *userRow
}

// applyUsers creates or updates normalized users with distinct external
// ids: one insert and one update whatever their number. User writes of a
// workspace are serialised, so two calls cannot both create one external id
// and a replace sees a stable set.
func applyUsers(ctx context.Context, t *tx, items []crmhub.UserInput) ([]userOutcome, error) {
	// The "users" class is no identity class, so this lock is the workspace's user lock.
	if err := lockKeys(ctx, t, []crmhub.MatchKey{{Class: "users"}}); err != nil {
		return nil, err
	}
	exts := make([]string, len(items))
	for i, it := range items {
		exts[i] = it.ExternalID
	}
	var rows []userRow
	if err := t.NewSelect().Model(&rows).Where("workspace_id = ? AND external_id = ANY(?)", t.ws, pgdialect.Array(exts)).
		Scan(ctx); err != nil {
		return nil, fmt.Errorf("db: read users: %w", err)
	}
	byExt := make(map[string]*userRow, len(rows))
	for i := range rows {
		byExt[rows[i].ExternalID] = &rows[i]
	}
	outs := make([]userOutcome, len(items))
	var inserts, updates []*userRow
	for i, it := range items {
		r := byExt[it.ExternalID]
		if r == nil {
			r = &userRow{WorkspaceID: t.ws, ID: newID(), ExternalID: it.ExternalID, Name: it.Name, Email: it.Email,
				CreatedAt: t.now, UpdatedAt: t.now}
			inserts = append(inserts, r)
			outs[i] = userOutcome{status: crmhub.UpsertCreated, row: r}
			t.emit(crmhub.EventUserUpserted, crmhub.GlobalID(crmhub.KindUser, r.ID), userPayload(r, nil))
			continue
		}
		var changed []string
		if r.Name != it.Name {
			r.Name = it.Name
			changed = append(changed, "name")
		}
		if setString(&r.Email, emailPatch(it.Email)) {
			changed = append(changed, "email")
		}
		if changed == nil {
			outs[i] = userOutcome{status: crmhub.UpsertUnchanged, row: r}
			continue
		}
		r.UpdatedAt = t.now
		updates = append(updates, r)
		outs[i] = userOutcome{status: crmhub.UpsertUpdated, row: r}
		t.emit(crmhub.EventUserUpserted, crmhub.GlobalID(crmhub.KindUser, r.ID), userPayload(r, changed))
	}
	if err := insertRows(ctx, t, inserts, "users"); err != nil {
		return nil, err
	}
	if len(updates) > 0 {
		ids, names, emails := make([]uuid.UUID, len(updates)), make([]string, len(updates)), make([]*string, len(updates))
		for i, r := range updates {
			ids[i], names[i], emails[i] = r.ID, r.Name, r.Email
		}
		_, err := t.NewRaw(`UPDATE users AS u SET name = v.name, email = v.email, updated_at = ?
			FROM unnest(?::uuid[], ?::text[], ?::text[]) AS v(id, name, email)
			WHERE u.workspace_id = ? AND u.id = v.id`,
			t.now, pgdialect.Array(ids), pgdialect.Array(names), pgdialect.Array(emails), t.ws).Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("db: update users: %w", err)
		}
	}
	return outs, nil
}

// emailPatch turns a normalized email into setString's patch: no email
// clears the stored one.
func emailPatch(email *string) *string {
	if email == nil {
		return new(string)
	}
	return email
}

// userPayload is the user.upserted payload; changed is nil for a new user.
func userPayload(r *userRow, changed []string) crmhub.UserPayload {
	return crmhub.UserPayload{ID: crmhub.GlobalID(crmhub.KindUser, r.ID), ExternalID: r.ExternalID,
		Name: r.Name, Email: r.Email, Created: changed == nil, Changed: changed}
}

func emitUserDeleted(t *tx, r *userRow) {
	gid := crmhub.GlobalID(crmhub.KindUser, r.ID)
	t.emit(crmhub.EventUserDeleted, gid, crmhub.UserDeletedPayload{ID: gid, ExternalID: r.ExternalID})
}

// DeleteUser deletes a user; the foreign keys clear its assignments.
func (s *UserService) DeleteUser(ctx context.Context, id uuid.UUID) error {
	return s.db.write(ctx, crmhub.ScopeUsersWrite, func(ctx context.Context, t *tx) error {
		var row userRow
		err := t.NewDelete().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).Returning("*").Scan(ctx)
		if err != nil {
			return notFound(err, crmhub.KindUser, "delete user")
		}
		emitUserDeleted(t, &row)
		return nil
	})
}

// User returns one user.
func (s *UserService) User(ctx context.Context, id uuid.UUID) (*crmhub.User, error) {
	users, err := s.UsersByIDs(ctx, []uuid.UUID{id})
	return single(crmhub.KindUser, users, err)
}

// UsersByIDs returns users in the order of ids, nil where missing.
func (s *UserService) UsersByIDs(ctx context.Context, ids []uuid.UUID) ([]*crmhub.User, error) {
	var rows []userRow
	err := s.db.read(ctx, crmhub.ScopeUsersRead, func(ctx context.Context, t *tx) (err error) {
		rows, err = queryRows(ctx, t, func(r *userRow) []any {
			return []any{uuidCol(&r.ID), &r.ExternalID, &r.Name, &r.Email, &r.CreatedAt, &r.UpdatedAt}
		}, "SELECT id, external_id, name, email, created_at, updated_at FROM users WHERE workspace_id = $1 AND id = ANY($2::uuid[])", t.ws, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("db: users by id: %w", err)
	}
	return inOrder(ids, rows, func(r *userRow) (uuid.UUID, *crmhub.User) { return r.ID, r.domain() }), nil
}

// Users lists one page of users by name, ties broken by id.
func (s *UserService) Users(ctx context.Context, first int, after string) (*crmhub.UserConnection, error) {
	n, cur, err := pageArgs(first, after, usersOrder)
	if err != nil {
		return nil, err
	}
	var rows []userRow
	err = s.db.read(ctx, crmhub.ScopeUsersRead, func(ctx context.Context, t *tx) error {
		q := t.NewSelect().Model(&rows).Where("u.workspace_id = ?", t.ws)
		if cur != nil {
			q.Where("(u.name, u.id) > (?, ?)", cur.Value, cur.ID)
		}
		return q.OrderExpr("u.name, u.id").Limit(int64(n + 1)).Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("db: list users: %w", err)
	}
	es, info := edges(rows, n, cur != nil, func(r *userRow) cursor {
		return cursor{Order: usersOrder, Value: r.Name, ID: r.ID}
	}, func(c string, r *userRow) *crmhub.UserEdge { return &crmhub.UserEdge{Cursor: c, Node: r.domain()} })
	return &crmhub.UserConnection{PageInfo: info, Edges: es}, nil
}

// The helpers below are shared by users and deals.

// single unwraps a batch read of one id: ENOTFOUND when it found nothing.
func single[T any](k crmhub.Kind, found []*T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	if found[0] == nil {
		return nil, crmhub.Errorf(crmhub.ENOTFOUND, "%s not found", k.Name())
	}
	return found[0], nil
}

// insertRows inserts rows in one statement; what names them in errors.
func insertRows[R any](ctx context.Context, t *tx, rows []R, what string) error {
	if len(rows) == 0 {
		return nil
	}
	if _, err := t.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return fmt.Errorf("db: insert %s: %w", what, err)
	}
	return nil
}

// requiredText trims s and checks that it has 1 to max characters.
func requiredText(s, field string, max int) (string, *crmhub.Error) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > max {
		return "", crmhub.Invalid(field, "%s must have 1 to %d characters", field, max)
	}
	return s, nil
}

// patchText trims a patched optional string for setString: nil leaves the
// value alone, "" clears it, more than max characters is EINVALID.
func patchText(s *string, field string, max int) (*string, *crmhub.Error) {
	if s == nil {
		return nil, nil
	}
	v := strings.TrimSpace(*s)
	if utf8.RuneCountInString(v) > max {
		return nil, crmhub.Invalid(field, "%s is longer than %d characters", field, max)
	}
	return &v, nil
}

// tooManyOf is tooMany for a call whose limit is not MaxBatch.
func tooManyOf(n, limit int) error {
	return &crmhub.Error{Code: crmhub.ETOOMANY, Message: fmt.Sprintf("at most %d items per call, got %d", limit, n),
		Extensions: map[string]any{"count": n, "limit": limit}}
}
