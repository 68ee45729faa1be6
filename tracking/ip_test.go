package tracking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestParseIP(t *testing.T) {
	tests := []struct {
		in, want string // want "" = invalid
	}{
		{"1.2.3.4", "1.2.3.4"},
		{" 1.2.3.4 ", "1.2.3.4"},
		{"1.2.3.4:8080", "1.2.3.4"},
		{"::1", "::1"},
		{"[::1]", "::1"},
		{"[::1]:443", "::1"},
		{"[fe80::1%eth0]:443", "fe80::1"},
		{"fe80::1%eth0", "fe80::1"},
		{"2001:db8::1", "2001:db8::1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"[::ffff:192.0.2.1]:80", "192.0.2.1"},
		{"", ""},
		{"   ", ""},
		{"unknown", ""},
		{"example.com:80", ""},
		{"1.2.3.4:port", ""},
		{"1.2.3.4:", ""},
		{"1.2.3.4:1234567", ""},
		{"[::1", ""},
		{"[::1]x", ""},
		{"[::1]:", ""},
		{"1.2.3", ""},
		{"256.1.1.1", ""},
		{"1.2.3.4/24", ""},
		{"<script>", ""},
		{"1.2.3.4, 5.6.7.8", ""},
		{"0.0.0.0", ""},
		{"[::]:80", ""},
		{"::ffff:0.0.0.0", ""},
		{"@", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := parseIP(tt.in)
			if tt.want == "" {
				if got.IsValid() {
					t.Errorf("parseIP(%q) = %v, want invalid", tt.in, got)
				}
				return
			}
			if got != netip.MustParseAddr(tt.want) {
				t.Errorf("parseIP(%q) = %v, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	proxies := IPConfig{TrustedProxies: []string{"10.0.0.0/8", "192.168.1.1", "fd00::/8", "::ffff:172.16.0.0/108"}}
	tests := []struct {
		name   string
		cfg    *IPConfig // nil = no resolver
		remote string
		xff    []string // X-Forwarded-For header lines
		hdr    map[string][]string
		want   string // "" = no IP
	}{
		{name: "default uses peer", remote: "203.0.113.7:5555", want: "203.0.113.7"},
		{name: "default ignores spoofed XFF", remote: "203.0.113.7:5555", xff: []string{"1.1.1.1"}, want: "203.0.113.7"},
		{name: "default ignores CF header", remote: "203.0.113.7:5555", hdr: map[string][]string{"Cf-Connecting-Ip": {"1.1.1.1"}}, want: "203.0.113.7"},
		{name: "default IPv6 peer with zone", remote: "[fe80::1%eth0]:443", want: "fe80::1"},
		{name: "default garbage peer", remote: "not-an-ip", want: ""},
		{name: "default empty peer", remote: "", want: ""},

		{name: "untrusted peer XFF ignored", cfg: &proxies, remote: "203.0.113.7:1", xff: []string{"1.1.1.1, 10.0.0.1"}, want: "203.0.113.7"},
		{name: "trusted peer no XFF", cfg: &proxies, remote: "10.0.0.2:1", want: "10.0.0.2"},
		{name: "trusted peer one hop", cfg: &proxies, remote: "10.0.0.2:1", xff: []string{"198.51.100.9"}, want: "198.51.100.9"},
		{name: "client spoofs leftmost", cfg: &proxies, remote: "10.0.0.2:1", xff: []string{"6.6.6.6, 198.51.100.9"}, want: "198.51.100.9"},
		{name: "skips trusted proxies from the right", cfg: &proxies, remote: "10.0.0.2:1", xff: []string{"6.6.6.6, 198.51.100.9, 10.1.1.1, 192.168.1.1"}, want: "198.51.100.9"},
		{name: "multiple XFF lines read in order", cfg: &proxies, remote: "10.0.0.2:1", xff: []string{"6.6.6.6", "198.51.100.9, 10.0.0.3", "10.0.0.4"}, want: "198.51.100.9"},
		{name: "spoof in an earlier line", cfg: &proxies, remote: "10.0.0.2:1", xff: []string{"10.9.9.9", "203.0.113.50"}, want: "203.0.113.50"},
		{name: "all trusted chain gives leftmost", cfg: &proxies, remote: "10.0.0.2:1", xff: []string{"10.0.0.9, 192.168.1.1"}, want: "10.0.0.9"},
		{name: "garbage in chain stops the walk", cfg: &proxies, remote: "10.0.0.2:1", xff: []string{"198.51.100.9, garbage, 10.0.0.3"}, want: ""},
		{name: "garbage left of the client is ignored", cfg: &proxies, remote: "10.0.0.2:1", xff: []string{"garbage, 198.51.100.9"}, want: "198.51.100.9"},
		{name: "empty items skipped", cfg: &proxies, remote: "10.0.0.2:1", xff: []string{" , 198.51.100.9,, "}, want: "198.51.100.9"},
		{name: "XFF entry with port", cfg: &proxies, remote: "10.0.0.2:1", xff: []string{"198.51.100.9:4711"}, want: "198.51.100.9"},
		{name: "XFF IPv6 bracketed with port", cfg: &proxies, remote: "10.0.0.2:1", xff: []string{"[2001:db8::7]:4711"}, want: "2001:db8::7"},
		{name: "XFF IPv6 with zone", cfg: &proxies, remote: "10.0.0.2:1", xff: []string{"fe80::9%25eth0, fe80::9%eth1"}, want: "fe80::9"},
		{name: "trusted IPv6 proxy", cfg: &proxies, remote: "[fd00::1]:8080", xff: []string{"2001:db8::7"}, want: "2001:db8::7"},
		{name: "IPv4-mapped peer matches IPv4 prefix", cfg: &proxies, remote: "[::ffff:10.0.0.2]:1", xff: []string{"198.51.100.9"}, want: "198.51.100.9"},
		{name: "mapped prefix trusts IPv4 peer", cfg: &proxies, remote: "172.16.0.5:1", xff: []string{"198.51.100.9"}, want: "198.51.100.9"},
		{name: "unspecified in chain", cfg: &proxies, remote: "10.0.0.2:1", xff: []string{"198.51.100.9, 0.0.0.0"}, want: ""},
		{name: "garbage peer is not trusted", cfg: &proxies, remote: "garbage", xff: []string{"198.51.100.9"}, want: ""},

		{name: "hops 1", cfg: &IPConfig{TrustedHops: 1}, remote: "10.0.0.2:1", xff: []string{"6.6.6.6, 198.51.100.9"}, want: "198.51.100.9"},
		{name: "hops 2 across lines", cfg: &IPConfig{TrustedHops: 2}, remote: "10.0.0.2:1", xff: []string{"6.6.6.6, 198.51.100.9", "10.0.0.1"}, want: "198.51.100.9"},
		{name: "hops more than chain", cfg: &IPConfig{TrustedHops: 3}, remote: "10.0.0.2:1", xff: []string{"198.51.100.9, 10.0.0.1"}, want: ""},
		{name: "hops without XFF", cfg: &IPConfig{TrustedHops: 1}, remote: "10.0.0.2:1", want: ""},
		{name: "hops garbage at position", cfg: &IPConfig{TrustedHops: 1}, remote: "10.0.0.2:1", xff: []string{"1.1.1.1, bogus"}, want: ""},

		{name: "header without proxies", cfg: &IPConfig{TrustedHeader: "CF-Connecting-IP"}, remote: "10.0.0.2:1", hdr: map[string][]string{"Cf-Connecting-Ip": {"198.51.100.9"}}, want: "198.51.100.9"},
		{name: "header missing falls back to peer", cfg: &IPConfig{TrustedHeader: "CF-Connecting-IP"}, remote: "10.0.0.2:1", xff: []string{"6.6.6.6"}, want: "10.0.0.2"},
		{name: "header last line wins", cfg: &IPConfig{TrustedHeader: "x-real-ip"}, remote: "10.0.0.2:1", hdr: map[string][]string{"X-Real-Ip": {"6.6.6.6", "198.51.100.9"}}, want: "198.51.100.9"},
		{name: "header garbage", cfg: &IPConfig{TrustedHeader: "X-Real-IP"}, remote: "10.0.0.2:1", hdr: map[string][]string{"X-Real-Ip": {"1.2.3.4, 5.6.7.8"}}, want: ""},
		{name: "header from trusted peer", cfg: &IPConfig{TrustedProxies: []string{"10.0.0.0/8"}, TrustedHeader: "CF-Connecting-IP"}, remote: "10.0.0.2:1", hdr: map[string][]string{"Cf-Connecting-Ip": {"198.51.100.9"}}, want: "198.51.100.9"},
		{name: "header from untrusted peer ignored", cfg: &IPConfig{TrustedProxies: []string{"10.0.0.0/8"}, TrustedHeader: "CF-Connecting-IP"}, remote: "203.0.113.7:1", hdr: map[string][]string{"Cf-Connecting-Ip": {"1.1.1.1"}}, want: "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *IPResolver
			if tt.cfg != nil {
				var err error
				if r, err = NewIPResolver(*tt.cfg); err != nil {
					t.Fatal(err)
				}
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.remote
			if tt.xff != nil {
				req.Header["X-Forwarded-For"] = tt.xff
			}
			for k, v := range tt.hdr {
				req.Header[k] = v
			}
			got := r.ClientIP(req)
			var want netip.Addr
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if got != want {
				t.Errorf("ClientIP = %v, want %v", got, want)
			}
		})
	}
}

func TestNewIPResolverValidation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     IPConfig
		wantErr string
	}{
		{"bad cidr", IPConfig{TrustedProxies: []string{"10.0.0.0/33"}}, "TrustedProxies[0]"},
		{"name", IPConfig{TrustedProxies: []string{"10.0.0.0/8", "proxy.internal"}}, "TrustedProxies[1]"},
		{"zone", IPConfig{TrustedProxies: []string{"fe80::1%eth0"}}, "TrustedProxies[0]"},
		{"negative hops", IPConfig{TrustedHops: -1}, "TrustedHops"},
		{"hops with proxies", IPConfig{TrustedHops: 1, TrustedProxies: []string{"10.0.0.0/8"}}, "TrustedHops"},
		{"hops with header", IPConfig{TrustedHops: 1, TrustedHeader: "X-Real-IP"}, "TrustedHops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewIPResolver(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewIPResolver = %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestClientIPDoesNotAllocate(t *testing.T) {
	r, err := NewIPResolver(IPConfig{TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "10.0.0.2:1234"
	req.Header["X-Forwarded-For"] = []string{"6.6.6.6, 2001:db8::1", "10.0.0.3"}
	if n := testing.AllocsPerRun(100, func() { _ = r.ClientIP(req) }); n != 0 {
		t.Errorf("ClientIP allocates %v times", n)
	}
}

func TestIPStoreApply(t *testing.T) {
	key := []byte("0123456789abcdef")
	v4, v6 := netip.MustParseAddr("203.0.113.77"), netip.MustParseAddr("2001:db8:abcd:12::1")
	tests := []struct {
		mode     IPStorage
		in       netip.Addr
		want     string
		wantHash bool
	}{
		{"", v4, "203.0.113.77", false},
		{IPFull, v6, "2001:db8:abcd:12::1", false},
		{IPTruncate, v4, "203.0.113.0", false},
		{IPTruncate, v6, "2001:db8:abcd::", false},
		{IPNone, v4, "", false},
		{IPHash, v4, "", true},
		{IPFull, netip.Addr{}, "", false},
		{IPHash, netip.Addr{}, "", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode)+"/"+tt.in.String(), func(t *testing.T) {
			s, err := NewIPStore(tt.mode, key)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Apply(tt.in)
			if tt.wantHash {
				other, err := NewIPStore(IPHash, []byte("another key 1234"))
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 64 || got == other.Apply(tt.in) || got != s.Apply(tt.in) || strings.Contains(got, tt.in.String()) {
					t.Errorf("hash = %q: want 64 stable hex characters depending on the key", got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("Apply = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIPStoreZeroValueStoresInFull(t *testing.T) {
	var s IPStore
	if got := s.Apply(netip.MustParseAddr("2001:db8::7")); got != "2001:db8::7" {
		t.Errorf("zero IPStore Apply = %q, want the address in full", got)
	}
}

func TestIPStoreHashIsHMACSHA256(t *testing.T) {
	key := []byte("0123456789abcdef")
	s, err := NewIPStore(IPHash, key)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("198.51.100.9"))
	want := hex.EncodeToString(m.Sum(nil))
	// The key is copied: changing the caller's slice later changes nothing.
	key[0] = 'X'
	if got := s.Apply(netip.MustParseAddr("198.51.100.9")); got != want {
		t.Errorf("Apply = %q, want %q", got, want)
	}
}

func TestNewIPStoreErrors(t *testing.T) {
	tests := []struct {
		name string
		mode IPStorage
		key  []byte
		want string
	}{
		{"hash without key", IPHash, nil, "IPHashKey"},
		{"hash with short key", IPHash, make([]byte, MinIPHashKeyLen-1), "IPHashKey"},
		{"unknown mode", "mask", nil, "IPStorage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewIPStore(tt.mode, tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewIPStore(%q, %d-byte key) = %v, want an error naming %s", tt.mode, len(tt.key), err, tt.want)
			}
		})
	}
	if _, err := NewIPStore(IPHash, make([]byte, MinIPHashKeyLen)); err != nil {
		t.Errorf("NewIPStore with a %d-byte key: %v", MinIPHashKeyLen, err)
	}
}
