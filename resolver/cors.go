package resolver

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// corsMaxAge lets browsers cache a preflight answer for ten minutes.
const corsMaxAge = "600"

// originAllowed reports whether a browser origin may call the API. Patterns
// follow the websocket library's OriginPatterns, so HTTP and websocket
// agree: a pattern with "://" matches scheme://host[:port]
// ("https://app.example.com"), any other matches the host[:port]
// ("*.example.com", "localhost:3000"), both with path.Match wildcards and
// case-insensitively. A request from the server's own origin is always
// allowed.
func originAllowed(r *http.Request, origin string, patterns []string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(strings.TrimSpace(p)), strings.ToLower(target)); ok {
			return true
		}
	}
	return false
}

// cors answers preflights and marks responses readable by the allowed
// origins. Authentication is by header, never by cookie, so credentials are
// not allowed and the allowed origin is echoed rather than "*".
func cors(patterns []string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin == "" {
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h.Add("Vary", "Origin")
			allowed := originAllowed(r, origin, patterns)
			if allowed {
				h.Set("Access-Control-Allow-Origin", origin)
			}
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Add("Vary", "Access-Control-Request-Method")
				h.Add("Vary", "Access-Control-Request-Headers")
				if allowed {
					h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
					h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
					h.Set("Access-Control-Max-Age", corsMaxAge)
				}
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
