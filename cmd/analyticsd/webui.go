package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/analytics/webui"
	"github.com/advisoranalytics/advisor-analytics/internal/auth"
	"github.com/advisoranalytics/advisor-analytics/tracking"
)

// The dashboard's session cookie.
const (
	sessionCookie     = "analytics_session"
	sessionKeyMinLen  = 32
	sessionTTLDefault = 8 * time.Hour
	loginBodyMax      = 16 << 10
)

// uiFlags are the settings of the web dashboard at /.
type uiFlags struct {
	uiDisabled     bool
	sessionKeyFile string
	sessionTTL     time.Duration

	sessionKey []byte // from -session-key-file; nil: a random key per process
}

func (f *uiFlags) register(fs *flagSet) {
	fs.boolVarEnv(&f.uiDisabled, "no-dashboard", false, "do not serve the web dashboard at / (the API and the health checks stay)", "ANALYTICS_NO_DASHBOARD")
	fs.stringVarEnv(&f.sessionKeyFile, "session-key-file", "", "file holding the key (at least 32 bytes) that signs the dashboard's session cookies; replicas behind one address need the same key. Empty: a random key per process (sessions end on restart)", "ANALYTICS_SESSION_KEY_FILE")
	fs.durationVarEnv(&f.sessionTTL, "session-ttl", sessionTTLDefault, "how long a dashboard sign-in lasts", "ANALYTICS_SESSION_TTL")
}

func (f *uiFlags) validate(fs *flagSet) error {
	if f.sessionTTL < time.Minute || f.sessionTTL > 30*24*time.Hour {
		return fs.invalid("session-ttl", "must be between 1m and 720h, got %s", f.sessionTTL)
	}
	f.sessionKey = nil
	if f.sessionKeyFile != "" {
		key, _, err := auth.ReadSecretFile(f.sessionKeyFile)
		if err != nil {
			return fs.invalid("session-key-file", "%v", err)
		}
		if len(key) < sessionKeyMinLen {
			return fs.invalid("session-key-file", "the key is %d bytes; it needs at least %d", len(key), sessionKeyMinLen)
		}
		f.sessionKey = key
	}
	return nil
}

// dashboard is the web dashboard with the sign-in of the reference
// server: a bearer token, accepted by the same authenticators as the API,
// exchanged for a signed session cookie.
type dashboard struct {
	ui      *webui.Handler
	ident   *identity
	key     []byte
	ttl     time.Duration
	now     func() time.Time
	log     *slog.Logger
	proxies []netip.Prefix // trusted to say X-Forwarded-Proto
	anyHop  bool           // -trusted-hops: the peer is always a proxy
	cop     *http.CrossOriginProtection
	fails   authFailures
}

// authFailures is the API's failed-authentication budget of a client
// address (-auth-fail-limit), which failed sign-ins spend too: the same
// limiter and the same keys as the analytics handler.
type authFailures struct {
	limiter analytics.RateLimiter // nil: no limit
	limit   int                   // per analytics.RateLimitWindowDefault; 0: no limit
	ip      *tracking.IPResolver
}

func (f authFailures) key(r *http.Request) string {
	if f.ip != nil {
		if a := f.ip.ClientIP(r); a.IsValid() {
			return "auth:" + a.String()
		}
	}
	return "auth:" + r.RemoteAddr
}

// check reports whether r's address may still try; when it may not, the
// time until it may. A failing limiter lets the attempt through.
func (f authFailures) check(r *http.Request, take bool) (bool, time.Duration) {
	if f.limiter == nil || f.limit <= 0 {
		return true, 0
	}
	l := analytics.Limit{Requests: f.limit, Per: analytics.RateLimitWindowDefault}
	do := f.limiter.Peek
	if take {
		do = f.limiter.Take
	}
	res, err := do(r.Context(), f.key(r), l)
	if err != nil {
		return true, 0
	}
	return res.Allowed, res.RetryAfter
}

// newDashboard builds the dashboard over svc.
func newDashboard(sf *serveFlags, svc *analytics.Service, ident *identity, fails authFailures, log *slog.Logger) (*dashboard, error) {
	d := &dashboard{ident: ident, key: sf.sessionKey, ttl: sf.sessionTTL, now: time.Now, log: log, fails: fails,
		anyHop: sf.trustedHops > 0, cop: http.NewCrossOriginProtection()}
	if d.key == nil {
		d.key = make([]byte, sessionKeyMinLen)
		if _, err := rand.Read(d.key); err != nil {
			return nil, fmt.Errorf("dashboard session key: %w", err)
		}
	}
	for _, p := range sf.proxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, fmt.Errorf("-trusted-proxies: %w", aerr)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		d.proxies = append(d.proxies, pfx)
	}
	ui, err := webui.New(svc, webui.Config{
		Identify:   d.identify,
		SignInURL:  "/login",
		SignOutURL: "/logout",
		Location:   sf.location,
		Logger:     log,
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	d.ui = ui
	return d, nil
}

// mount adds the dashboard and its sign-in routes to mux, at / (the most
// general pattern: the API and health routes keep theirs).
func (d *dashboard) mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", d.loginPage)
	mux.Handle("POST /login", d.cop.Handler(http.HandlerFunc(d.login)))
	mux.Handle("POST /logout", d.cop.Handler(http.HandlerFunc(d.logout)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// GET / without a session shows the sign-in page itself.
		if r.URL.Path == "/" && r.Method == http.MethodGet {
			if _, err := d.identify(r); errors.Is(err, analytics.ErrUnauthenticated) {
				d.ui.SignIn(w, r, http.StatusOK, d.form("", ""))
				return
			}
		}
		d.ui.ServeHTTP(w, r)
	})
}

func (d *dashboard) form(next, problem string) webui.SignInForm {
	return webui.SignInForm{Action: "/login", Next: next, Problem: problem,
		Hint: "A bearer token of the API (from the tokens file, or a platform or OpenID Connect access token)."}
}

func (d *dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, err := d.identify(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	d.ui.SignIn(w, r, http.StatusOK, d.form(next, ""))
}

// login checks the token with the API's authenticators and sets the
// session cookie.
func (d *dashboard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, loginBodyMax)
	if err := r.ParseForm(); err != nil {
		d.ui.SignIn(w, r, http.StatusBadRequest, d.form("/", "The form could not be read."))
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	if ok, wait := d.fails.check(r, false); !ok {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(max(time.Second, wait).Round(time.Second)/time.Second), 10))
		d.ui.SignIn(w, r, http.StatusTooManyRequests, d.form(next, "Too many failed sign-ins from this address; try again later."))
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	if token == "" {
		d.ui.SignIn(w, r, http.StatusUnauthorized, d.form(next, "Enter a token."))
		return
	}
	who, err := d.ident.chain.Authenticate(r.Context(), token)
	if err != nil {
		status, problem := http.StatusUnauthorized, "That token was not accepted."
		if errors.Is(err, auth.ErrNoRole) {
			status, problem = http.StatusForbidden, "That token gives no role in the analytics API."
		} else {
			d.fails.check(r, true) // a failed authentication, as in the API
		}
		d.log.Info("dashboard sign-in refused", "request_id", requestIDFrom(r.Context()), "reason", err)
		d.ui.SignIn(w, r, status, d.form(next, problem))
		return
	}
	exp := d.now().Add(d.ttl)
	value, err := d.sign(session{ID: who.ID, Username: who.Username, FullName: who.FullName, Email: who.Email,
		Role: who.Role, Staff: who.Staff, Expires: exp.Unix()})
	if err != nil {
		d.log.Error("dashboard sign-in failed", "err", err)
		http.Error(w, "Failed to sign in", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, d.cookie(r, value, exp))
	d.log.Info("dashboard sign-in", "request_id", requestIDFrom(r.Context()), "user_id", who.ID, "role", who.Role)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (d *dashboard) logout(w http.ResponseWriter, r *http.Request) {
	c := d.cookie(r, "", time.Unix(0, 0))
	c.MaxAge = -1
	http.SetCookie(w, c)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// cookie is the session cookie: HttpOnly, SameSite=Strict, Secure when the
// request came over TLS or a trusted proxy says it did.
func (d *dashboard) cookie(r *http.Request, value string, exp time.Time) *http.Cookie {
	return &http.Cookie{Name: sessionCookie, Value: value, Path: "/", Expires: exp, MaxAge: int(exp.Sub(d.now()).Round(time.Second).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: d.secure(r)}
}

// secure reports whether r reached the client side over HTTPS.
func (d *dashboard) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https") {
		return false
	}
	if d.anyHop {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range d.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// identify is the dashboard's IdentifyFunc: the session cookie, else the
// API's own bearer authentication.
func (d *dashboard) identify(r *http.Request) (analytics.Principal, error) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if s, ok := d.verify(c.Value); ok {
			return analytics.Principal{ID: s.ID, Username: s.Username, FullName: s.FullName, Email: s.Email,
				Role: analytics.Role(s.Role), Staff: s.Staff}, nil
		}
	}
	return d.ident.identify(r)
}

// session is the signed content of the cookie.
type session struct {
	ID       string `json:"id"`
	Username string `json:"u,omitempty"`
	FullName string `json:"n,omitempty"`
	Email    string `json:"e,omitempty"`
	Role     string `json:"r"`
	Staff    bool   `json:"s,omitempty"`
	Expires  int64  `json:"exp"`
}

// sign returns base64url(JSON) "." base64url(HMAC-SHA256(key, JSON part)).
func (d *dashboard) sign(s session) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encode session: %w", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(d.mac(payload)), nil
}

func (d *dashboard) mac(payload string) []byte {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// verify returns the session of a cookie value with a valid signature and
// a future expiry.
func (d *dashboard) verify(v string) (session, bool) {
	payload, sig, ok := strings.Cut(v, ".")
	if !ok {
		return session{}, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, d.mac(payload)) {
		return session{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return session{}, false
	}
	var s session
	if err := json.Unmarshal(b, &s); err != nil || s.ID == "" || d.now().Unix() >= s.Expires {
		return session{}, false
	}
	return s, true
}

// safeNext keeps a post-sign-in destination on this site: a path, never
// another host ("//host", "/\host") or scheme.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") || strings.HasPrefix(next, "/login") {
		return "/"
	}
	return next
}
