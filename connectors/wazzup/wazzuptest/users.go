package wazzuptest

import (
	"net/http"
	"slices"
)

// Documented limits of the v2 user routes.
const (
	maxUserID   = 64
	maxUserName = 150
)

// User is a stored v2 user; an integer id is kept as its decimal text.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// PutUsers adds users or renames existing ones, as PATCH /v2/users does,
// without validation.
func (f *Fake) PutUsers(users ...User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.upsertUsersLocked(users)
}

// Users returns the stored users in the order they were first added.
func (f *Fake) Users() []User {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]User{}, f.users...)
}

func (f *Fake) upsertUsersLocked(users []User) {
	for _, u := range users {
		if i := f.userIndex(u.ID); i >= 0 {
			f.users[i] = u
		} else {
			f.users = append(f.users, u)
		}
	}
}

func (f *Fake) userIndex(id string) int {
	return slices.IndexFunc(f.users, func(u User) bool { return u.ID == id })
}

// writeUsers serves PATCH (upsert) and PUT (replace) of the user list.
func (f *Fake) writeUsers(replace bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		items, err := readArray(r)
		if err != nil {
			validationError(w, "The body must be an array of users.", nil)
			return
		}
		users, bad := validateBatch(items, parseUser)
		if len(bad) > 0 {
			validationError(w, "One or more of provided users are not valid.", bad)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if replace {
			f.users = nil
		}
		f.upsertUsersLocked(users)
		w.WriteHeader(http.StatusOK)
	}
}

// parseUser checks one user: id a string up to 64 characters or an
// integer, name a string up to 150 characters.
func parseUser(o object) (User, problems) {
	var u User
	var p problems
	var ok bool
	if u.ID, ok = o.anyID("id", maxUserID, true); !ok {
		p.add("id")
	}
	if u.Name, ok = o.str("name", maxUserName, true); !ok {
		p.add("name")
	}
	return u, p
}

func (f *Fake) listUsers(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, f.Users())
}

func (f *Fake) getUser(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	i := f.userIndex(r.PathValue("id"))
	var u User
	if i >= 0 {
		u = f.users[i]
	}
	f.mu.Unlock()
	if i < 0 {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (f *Fake) deleteUser(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.userIndex(r.PathValue("id"))
	if i < 0 {
		notFound(w)
		return
	}
	f.users = slices.Delete(f.users, i, i+1)
	w.WriteHeader(http.StatusOK)
}
