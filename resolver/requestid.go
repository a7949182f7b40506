package resolver

import (
	"net/http"

	"github.com/crmhub/crmhub/internal/reqlog"
)

// requestID gives every request an id: the caller's X-Request-Id when it is
// at most 128 visible ASCII characters, else a new one. The answer carries
// it, the request's log lines carry it (reqlog.Handler) and an INTERNAL
// error shows it as extensions.requestId, so a user can quote it to an
// operator.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !reqlog.ValidID(id) {
			id = reqlog.NewID()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(reqlog.With(r.Context(), &reqlog.Info{ID: id})))
	})
}
