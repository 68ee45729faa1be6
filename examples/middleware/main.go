// Command middleware shows the activity-tracking middleware in an existing
// net/http application: the application keeps its own routes and its own
// authentication, and every tracked request (report downloads, client
// updates, dashboard views, …) becomes an activity written in the
// background, without slowing the request down.
//
//	go run ./examples/middleware
//	curl -u alice:alice-password -X POST http://127.0.0.1:8081/api/v1/clients/
//	curl -u alice:alice-password http://127.0.0.1:8081/api/v1/reports/6f1c9c53-3f5e-4a7e-9f53-2b1f7c0e4d11/download/pdf/
//	curl -u alice:alice-password http://127.0.0.1:8081/activity
package main

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/examples/internal/exampleapp"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/tracking"
)

// user is the application's own user record.
type user struct {
	ID, Name, Password string
	Role               analytics.Role
}

// users stands in for the application's user database.
var users = map[string]user{
	"alice": {ID: "0b8f7a1e-5f43-4c1d-9a57-1c2b3d4e5f60", Name: "Alice Martin", Password: "alice-password", Role: analytics.RoleAnalyst},
	"bob":   {ID: "7d9e2c41-8a6b-4f0e-b3c2-9e8d7c6b5a49", Name: "Bob Stone", Password: "bob-password", Role: analytics.RoleAdmin},
}

// authenticate is the application's existing authentication (HTTP Basic
// here; a session cookie or a JWT in a real application).
func authenticate(r *http.Request) (string, user, bool) {
	name, pass, ok := r.BasicAuth()
	u, known := users[name]
	if !ok || !known || pass != u.Password {
		return "", user{}, false
	}
	return name, u, true
}

// identify tells the analytics who made a request.
func identify(r *http.Request) (analytics.Principal, error) {
	name, u, ok := authenticate(r)
	if !ok {
		return analytics.Principal{}, analytics.ErrUnauthenticated
	}
	return analytics.Principal{ID: u.ID, Username: name, FullName: u.Name, Role: u.Role}, nil
}

// appRoutes are the application's own handlers, unchanged by the tracking.
func appRoutes(svc *analytics.Service) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/clients/", func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := authenticate(r); !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		id := store.NewID()
		// Handlers can add to the activity the middleware records.
		tracking.AddMetadata(r, "client_id", id)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "{\"id\":%q}\n", id)
	})
	mux.HandleFunc("GET /api/v1/reports/{id}/download/{format}/", func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := authenticate(r); !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		fmt.Fprintf(w, "%%PDF-1.7 report %s\n", r.PathValue("id"))
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	// The signed-in user's own recent activity, through the Service.
	mux.HandleFunc("GET /activity", func(w http.ResponseWriter, r *http.Request) {
		p, err := identify(r)
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		page, err := svc.UserActivity(r.Context(), p, analytics.UserActivityQuery{Limit: 10})
		if err != nil {
			status, body := analytics.StatusOf(err, "retrieve activity")
			analytics.WriteErrorJSON(w, status, body)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(page)
	})
	return mux
}

// newApp builds the application: its routes wrapped in the tracking
// middleware of svc.
func newApp(st store.Store) (http.Handler, *analytics.Service, error) {
	svc, err := analytics.New(st, analytics.Config{
		IdentifyFunc: identify,
		Tracking: analytics.TrackingConfig{
			Middleware: tracking.MiddlewareConfig{SkipPaths: []string{"/healthz"}},
		},
	})
	if err != nil {
		return nil, nil, err
	}
	return svc.Middleware()(appRoutes(svc)), svc, nil
}

func main() {
	exampleapp.Main("127.0.0.1:8081", "middleware-example.db", "listening on http://%s (users alice and bob)", newApp)
}
