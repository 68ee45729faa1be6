// Package webui is a web dashboard for an analytics.Service: an
// http.Handler a host mounts on its own mux, like riverui for River or
// asynqmon for Asynq.
//
// The pages are rendered on the server (html/template) with their charts
// drawn as inline SVG, so every page works without JavaScript; a small
// script only enhances them. Every asset is embedded and served by the
// handler itself: the pages make no request to another origin and are
// sent with a strict Content-Security-Policy.
//
// The dashboard reads through the public Service methods with the caller
// Config.Identify returns, so roles apply exactly as in the JSON API: a
// viewer sees only their own activity and no Health page; only an admin
// can invalidate the cache. The one state-changing form (invalidate the
// cache) is protected against cross-site requests with
// http.CrossOriginProtection.
package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/analytics"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// ContentSecurityPolicy is sent with every page: nothing but this
// handler's own scripts, styles and images, no framing, forms posting only
// to this origin.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Config configures the dashboard. Identify is required; the zero value of
// every other field is its documented default.
type Config struct {
	// Identify returns the caller of a request, as the Service's
	// IdentifyFunc does (the host's own session cookie works as it is).
	// analytics.ErrUnauthenticated or an empty Principal means nobody is
	// signed in. Required.
	Identify func(*http.Request) (analytics.Principal, error)
	// Prefix is the path the handler is mounted at, such as "/dashboard"
	// (the host strips it, for example with http.StripPrefix); links and
	// form actions start with it. Defaults to "" (mounted at the root).
	Prefix string
	// SignInURL is where a browser without a session is sent (with the
	// page it asked for in the "next" parameter). Defaults to "": such
	// requests get a 401 page.
	SignInURL string
	// SignOutURL, when set, is the action of a sign-out button (a POST
	// form) in the header. Defaults to "" (no button).
	SignOutURL string
	// Title names the dashboard in the header and the page titles.
	// Defaults to "Advisor Analytics".
	Title string
	// Currency is the symbol written before amounts. Defaults to "$".
	Currency string
	// Location is the time zone of the dates shown and of the date
	// filters; use the Service's reporting zone. Defaults to UTC.
	Location *time.Location
	// Now returns the current time (relative dates). Defaults to time.Now.
	Now func() time.Time
	// Logger receives errors that become a 500 page. Defaults to
	// slog.Default().
	Logger *slog.Logger
}

// Handler serves the dashboard; create it with New.
type Handler struct {
	svc    *analytics.Service
	cfg    Config
	pages  map[string]*template.Template
	assets map[string]asset
	mux    *http.ServeMux
	cop    *http.CrossOriginProtection
	names  clientNameCache
}

// asset is one embedded static file.
type asset struct {
	body  []byte
	ctype string
	hash  string // first 12 hex digits of its SHA-256, the cache buster
}

// New returns the dashboard over svc.
func New(svc *analytics.Service, cfg Config) (*Handler, error) {
	if svc == nil {
		return nil, errors.New("webui: nil Service")
	}
	if cfg.Identify == nil {
		return nil, errors.New("webui: Config.Identify is required")
	}
	cfg.Prefix = strings.TrimRight(cfg.Prefix, "/")
	if cfg.Prefix != "" && !strings.HasPrefix(cfg.Prefix, "/") {
		return nil, fmt.Errorf("webui: Config.Prefix %q must start with /", cfg.Prefix)
	}
	if cfg.Title == "" {
		cfg.Title = "Advisor Analytics"
	}
	if cfg.Currency == "" {
		cfg.Currency = "$"
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Handler{svc: svc, cfg: cfg, assets: map[string]asset{}, cop: http.NewCrossOriginProtection()}
	if err := h.loadAssets(); err != nil {
		return nil, err
	}
	if err := h.parseTemplates(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.page("overview", h.overview))
	mux.HandleFunc("GET /activity", h.page("activity", h.activity))
	mux.HandleFunc("GET /activity/export", h.authed(h.export))
	mux.HandleFunc("GET /clients", h.page("clients", h.clients))
	mux.HandleFunc("GET /clients/{id}", h.page("client", h.client))
	mux.HandleFunc("GET /cost", h.page("cost", h.cost))
	mux.HandleFunc("GET /health", h.page("health", h.health))
	mux.Handle("POST /health/invalidate-cache", h.cop.Handler(http.HandlerFunc(h.authed(h.invalidate))))
	mux.HandleFunc("GET /static/{file}", h.static)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, h.assetURL("favicon.svg"), http.StatusMovedPermanently)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p, _ := h.identify(r)
		h.renderError(w, r, p, http.StatusNotFound, "Page not found", "There is no page at "+r.URL.Path+".")
	})
	h.mux = mux
	return h, nil
}

// ServeHTTP serves the pages, the CSV and NDJSON exports and the
// embedded assets.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	h.mux.ServeHTTP(w, r)
}

// setSecurityHeaders sets the headers every response of the dashboard
// carries.
func setSecurityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// SignInForm is the sign-in page a host without its own shows (the
// reference server does): one password field named "token".
type SignInForm struct {
	// Action is where the form posts. Required.
	Action string
	// Next is the page to return to, sent back in a hidden field "next".
	Next string
	// Problem explains why the last attempt failed; empty on the first.
	Problem string
	// Label names the field. Defaults to "Access token".
	Label string
	// Hint is a line of help under the field.
	Hint string
}

// SignIn writes a sign-in page in the dashboard's look with status (200
// when 0), with the same security headers as the pages. Hosts use it for
// the page Config.SignInURL points at.
func (h *Handler) SignIn(w http.ResponseWriter, r *http.Request, status int, f SignInForm) {
	setSecurityHeaders(w)
	if status == 0 {
		status = http.StatusOK
	}
	if f.Label == "" {
		f.Label = "Access token"
	}
	v := h.view(r, analytics.Principal{}, "signin", "Sign in")
	v.Data = f
	h.render(w, r, "signin", status, v)
}

func (h *Handler) loadAssets() error {
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
	return fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return fmt.Errorf("webui: read asset: %w", err)
		}
		sum := sha256.Sum256(b)
		h.assets[path.Base(p)] = asset{body: b, ctype: types[path.Ext(p)], hash: hex.EncodeToString(sum[:6])}
		return nil
	})
}

// assetURL is the URL of an embedded asset, with its content hash so that
// it can be cached for a year.
func (h *Handler) assetURL(name string) string {
	return h.cfg.Prefix + "/static/" + name + "?v=" + h.assets[name].hash
}

func (h *Handler) static(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.ctype)
	if r.URL.Query().Get("v") == a.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", `"`+a.hash+`"`)
	if r.Header.Get("If-None-Match") == `"`+a.hash+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(a.body)
}

// identify returns the caller; an error other than "not signed in" is
// returned as it is.
func (h *Handler) identify(r *http.Request) (analytics.Principal, error) {
	p, err := h.cfg.Identify(r)
	if err != nil {
		return analytics.Principal{}, err
	}
	if !p.Authenticated() {
		return analytics.Principal{}, analytics.ErrUnauthenticated
	}
	return p, nil
}

// view is what every page template receives.
type view struct {
	Title     string
	Heading   string // the page's own title
	Page      string // the page name, for the navigation
	App       string
	Prefix    string
	User      analytics.Principal
	SignOut   string
	CSS, JS   string
	Favicon   string
	ShowNav   bool
	CanHealth bool
	Flash     string
	Data      any
	Status    int
	Message   string
}

// pageFunc builds a page's data; its error is shown as an error page.
type pageFunc func(r *http.Request, p analytics.Principal) (title string, data any, err error)

// page wraps a page: it identifies the caller, builds the data and renders
// the template named name.
func (h *Handler) page(name string, build pageFunc) http.HandlerFunc {
	return h.authed(func(w http.ResponseWriter, r *http.Request, p analytics.Principal) {
		title, data, err := build(r, p)
		if to, ok := asRedirect(err); ok {
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		v := h.view(r, p, name, title)
		v.Data = data
		h.render(w, r, name, http.StatusOK, v)
	})
}

// authed runs fn for a signed-in caller; others go to the sign-in page or
// get a 401 page.
func (h *Handler) authed(fn func(http.ResponseWriter, *http.Request, analytics.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.identify(r)
		if err != nil {
			if errors.Is(err, analytics.ErrUnauthenticated) {
				if h.cfg.SignInURL != "" && r.Method == http.MethodGet {
					next := h.cfg.Prefix + r.URL.RequestURI()
					http.Redirect(w, r, h.cfg.SignInURL+"?next="+url.QueryEscape(next), http.StatusSeeOther)
					return
				}
				h.renderError(w, r, analytics.Principal{}, http.StatusUnauthorized, "Sign in required", "Sign in to see the dashboard.")
				return
			}
			h.fail(w, r, analytics.Principal{}, err)
			return
		}
		fn(w, r, p)
	}
}

func (h *Handler) view(r *http.Request, p analytics.Principal, page, title string) view {
	full := h.cfg.Title
	if title != "" {
		full = title + " · " + h.cfg.Title
	}
	return view{Title: full, Heading: title, Page: page, App: h.cfg.Title, Prefix: h.cfg.Prefix, User: p, SignOut: h.cfg.SignOutURL,
		CSS: h.assetURL("app.css"), JS: h.assetURL("app.js"), Favicon: h.assetURL("favicon.svg"),
		ShowNav: p.Authenticated(), CanHealth: p.AtLeast(analytics.RoleManager), Flash: r.URL.Query().Get("done")}
}

// fail renders err as an error page with the status StatusOf gives it.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, p analytics.Principal, err error) {
	status, body := analytics.StatusOf(err, "render the page")
	if status >= 500 {
		h.cfg.Logger.Error("dashboard page failed", "path", r.URL.Path, "err", err)
	}
	if status == 499 {
		return
	}
	title := body.Message
	if status == http.StatusForbidden {
		title = "Not allowed"
	}
	h.renderError(w, r, p, status, title, body.Error)
}

func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, p analytics.Principal, status int, title, msg string) {
	v := h.view(r, p, "error", title)
	v.Status, v.Message = status, msg
	h.render(w, r, "error", status, v)
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, name string, status int, v view) {
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		h.cfg.Logger.Error("dashboard template failed", "page", name, "err", err)
		http.Error(w, "Failed to render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}
