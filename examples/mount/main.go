// Command mount serves the analytics API inside an existing application,
// under /admin/analytics/, behind the application's own authentication: a
// session cookie the application checks before any analytics handler runs.
// The application tells the analytics who the caller is; the analytics
// apply their own role rules (a viewer cannot read system-health, …).
//
//	go run ./examples/mount
//	curl -c jar -d 'user=dana&password=dana-password' http://127.0.0.1:8082/login
//	curl -b jar http://127.0.0.1:8082/admin/analytics/metrics/
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/examples/internal/exampleapp"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// account is the application's own user record.
type account struct {
	ID, Username, FullName, Password string
	Role                             analytics.Role
}

var accounts = map[string]account{
	"dana": {ID: "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c", Username: "dana", FullName: "Dana Reyes", Password: "dana-password", Role: analytics.RoleAdmin},
	"vic":  {ID: "8c7b6a59-4e3d-4c2b-9a1f-0e9d8c7b6a59", Username: "vic", FullName: "Vic Olsen", Password: "vic-password", Role: analytics.RoleViewer},
}

// sessions is the application's session store.
type sessions struct {
	mu   sync.Mutex
	byID map[string]account
}

func (s *sessions) create(a account) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID[id] = a
	return id
}

func (s *sessions) lookup(r *http.Request) (account, bool) {
	c, err := r.Cookie("session")
	if err != nil {
		return account{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byID[c.Value]
	return a, ok
}

type accountKey struct{}

// requireLogin is the application's own authentication middleware: no
// session, no access (the analytics handlers never run).
func (s *sessions) requireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := s.lookup(r)
		if !ok {
			http.Error(w, "please sign in at /login", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), accountKey{}, a)))
	})
}

// identify maps the signed-in account to the analytics Principal.
func identify(r *http.Request) (analytics.Principal, error) {
	a, ok := r.Context().Value(accountKey{}).(account)
	if !ok {
		return analytics.Principal{}, analytics.ErrUnauthenticated
	}
	return analytics.Principal{ID: a.ID, Username: a.Username, FullName: a.FullName, Role: a.Role}, nil
}

// newApp builds the application's mux with the analytics mounted under
// /admin/analytics/.
func newApp(st store.Store) (http.Handler, *analytics.Service, error) {
	svc, err := analytics.New(st, analytics.Config{IdentifyFunc: identify})
	if err != nil {
		return nil, nil, err
	}
	sess := &sessions{byID: map[string]account{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		a, ok := accounts[r.FormValue("user")]
		if !ok || r.FormValue("password") != a.Password {
			http.Error(w, "wrong user or password", http.StatusUnauthorized)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: sess.create(a), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		w.WriteHeader(http.StatusNoContent)
	})
	mux.Handle("/admin/analytics/", sess.requireLogin(svc.HandlerWithPrefix("/admin/analytics")))
	return mux, svc, nil
}

func main() {
	exampleapp.Main("127.0.0.1:8082", "mount-example.db", "listening on http://%s; sign in with POST /login (dana or vic)", newApp)
}
