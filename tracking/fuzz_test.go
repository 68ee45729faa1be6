package tracking

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/store"
)

func FuzzParseIP(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "[::1]:80", "fe80::1%eth0", "[fe80::1%25en0]:1", "::ffff:1.2.3.4", "1.2.3.4:99999", "[", "]:", "%", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a := parseIP(s)
		if !a.IsValid() {
			return
		}
		if a.Zone() != "" || a.Is4In6() {
			t.Errorf("parseIP(%q) = %v: zones and IPv4-mapped forms must be stripped", s, a)
		}
		if again := parseIP(a.String()); again != a {
			t.Errorf("parseIP(%q) = %v, but parsing that gives %v", s, a, again)
		}
	})
}

func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.1:1", "1.2.3.4, 10.0.0.2", "5.6.7.8")
	f.Add("203.0.113.1:1", "garbage", "")
	f.Add("[fd00::1]:443", ", ,", "[2001:db8::1]:80")
	r, err := NewIPResolver(IPConfig{TrustedProxies: []string{"10.0.0.0/8", "fd00::/8"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, remote, xff1, xff2 string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = remote
		req.Header["X-Forwarded-For"] = []string{xff1, xff2}
		got := r.ClientIP(req)
		peer := parseIP(remote)
		if !r.trusted(peer) && got != peer {
			t.Errorf("untrusted peer %q: ClientIP = %v, want the peer", remote, got)
		}
		if got.IsValid() && r.trusted(got) && got != peer {
			// A trusted address is only returned when the whole chain is trusted.
			for _, part := range strings.Split(xff1+","+xff2, ",") {
				if a := parseIP(part); a.IsValid() && !r.trusted(a) {
					t.Errorf("ClientIP = %v (trusted) although %v is untrusted", got, a)
				}
			}
		}
	})
}

func FuzzRuleMatch(f *testing.F) {
	for _, p := range []string{"/api/v1/reports/", "/api/v1/reports/3f2a8c1e-5b7d-4e9f-a1c2-d3e4f5a6b7c8/download/pdf/", "//", "/", "", "/api/v1/clients//"} {
		f.Add("GET", p)
		f.Add("POST", p)
	}
	rules, err := compileRules(DefaultRules())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		r, id, format := rules.match(method, path)
		if r == nil {
			return
		}
		if id != "" && !store.ValidUUID(id) {
			t.Errorf("match(%q) id = %q, not a UUID", path, id)
		}
		if strings.Contains(format, "/") {
			t.Errorf("match(%q) format = %q spans segments", path, format)
		}
		if !strings.HasPrefix(path, "/api/v1/") {
			t.Errorf("match(%q) matched %q", path, r.Pattern)
		}
	})
}
