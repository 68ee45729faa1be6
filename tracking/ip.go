package tracking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// IPConfig configures an IPResolver. The zero value trusts no proxy: the
// client IP is the connection's peer address (Request.RemoteAddr).
type IPConfig struct {
	// TrustedProxies lists the reverse proxies allowed to report the
	// client address, as CIDR prefixes ("10.0.0.0/8") or single addresses.
	// When the peer is one of them, the client is the rightmost address of
	// the X-Forwarded-For chain (all header lines, in order) that is not a
	// trusted proxy; when every address is trusted, it is the leftmost one.
	// A peer outside the list is the client, whatever headers it sends.
	TrustedProxies []string
	// TrustedHops is the number of reverse proxies in front of the
	// application, for deployments whose proxy addresses are not known in
	// advance: the client is the TrustedHops-th address from the right of
	// the X-Forwarded-For chain. Fewer addresses than that yield no IP.
	// Cannot be combined with TrustedProxies or TrustedHeader.
	TrustedHops int
	// TrustedHeader names a header holding the single client address set
	// by a trusted edge, such as "CF-Connecting-IP", "True-Client-IP" or
	// "X-Real-IP". With TrustedProxies it is read only when the peer is a
	// trusted proxy. When the header is absent the peer address is used.
	TrustedHeader string
}

// IPResolver finds the client IP of a request without trusting headers an
// untrusted peer could forge. A nil *IPResolver uses the peer address. It
// is safe for concurrent use.
type IPResolver struct {
	proxies []netip.Prefix
	hops    int
	header  string
}

// NewIPResolver validates cfg and returns a resolver.
func NewIPResolver(cfg IPConfig) (*IPResolver, error) {
	r := &IPResolver{hops: cfg.TrustedHops}
	if cfg.TrustedHops < 0 {
		return nil, fmt.Errorf("tracking: IPConfig.TrustedHops must not be negative, got %d", cfg.TrustedHops)
	}
	if cfg.TrustedHops > 0 && (len(cfg.TrustedProxies) > 0 || cfg.TrustedHeader != "") {
		return nil, errors.New("tracking: IPConfig.TrustedHops cannot be combined with TrustedProxies or TrustedHeader")
	}
	for i, s := range cfg.TrustedProxies {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(s)
			if err == nil && a.Zone() != "" {
				err = errors.New("zone")
			}
			if err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil || p.Addr().Zone() != "" {
			return nil, fmt.Errorf("tracking: IPConfig.TrustedProxies[%d]: %q is not an IP address or CIDR prefix", i, s)
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return nil, fmt.Errorf("tracking: IPConfig.TrustedProxies[%d]: %q: an IPv4-mapped prefix needs at least 96 bits", i, s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		r.proxies = append(r.proxies, p.Masked())
	}
	if h := strings.TrimSpace(cfg.TrustedHeader); h != "" {
		r.header = http.CanonicalHeaderKey(h)
	}
	return r, nil
}

// ClientIP returns the client address of req, or the zero (invalid) Addr
// when it cannot be determined. Ports and IPv6 zones are stripped and
// IPv4-mapped IPv6 addresses are unmapped. It does not allocate.
func (r *IPResolver) ClientIP(req *http.Request) netip.Addr {
	peer := parseIP(req.RemoteAddr)
	if r == nil {
		return peer
	}
	if r.hops > 0 {
		return r.fromHops(req.Header[headerXFF])
	}
	if len(r.proxies) > 0 && !r.trusted(peer) {
		return peer
	}
	if r.header != "" {
		if v := req.Header[r.header]; len(v) > 0 {
			return parseIP(v[len(v)-1])
		}
		return peer
	}
	if len(r.proxies) == 0 {
		return peer
	}
	return r.fromChain(req.Header[headerXFF], peer)
}

const headerXFF = "X-Forwarded-For"

func (r *IPResolver) trusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range r.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// fromChain walks the X-Forwarded-For chain from the right, skipping
// trusted proxies. An unparsable entry ends the walk with no IP: what lies
// to its left cannot be trusted.
func (r *IPResolver) fromChain(lines []string, peer netip.Addr) netip.Addr {
	leftmost := peer
	c := xffCursor{lines: lines}
	for item, ok := c.next(); ok; item, ok = c.next() {
		a := parseIP(item)
		if !a.IsValid() {
			return netip.Addr{}
		}
		if !r.trusted(a) {
			return a
		}
		leftmost = a
	}
	return leftmost
}

// fromHops returns the hops-th entry from the right of the chain.
func (r *IPResolver) fromHops(lines []string) netip.Addr {
	c := xffCursor{lines: lines}
	for n := 1; ; n++ {
		item, ok := c.next()
		if !ok {
			return netip.Addr{}
		}
		if n == r.hops {
			return parseIP(item)
		}
	}
}

// xffCursor yields the non-blank entries of X-Forwarded-For header lines
// from the right: the last entry of the last line first. It does not
// allocate.
type xffCursor struct {
	lines []string // lines not started yet
	line  string   // what is left of the current line
}

// next returns the next entry to the left, untrimmed, and false at the end.
func (c *xffCursor) next() (string, bool) {
	for {
		for c.line != "" {
			var item string
			if j := strings.LastIndexByte(c.line, ','); j >= 0 {
				item, c.line = c.line[j+1:], c.line[:j]
			} else {
				item, c.line = c.line, ""
			}
			if strings.TrimSpace(item) != "" {
				return item, true
			}
		}
		if len(c.lines) == 0 {
			return "", false
		}
		c.line, c.lines = c.lines[len(c.lines)-1], c.lines[:len(c.lines)-1]
	}
}

// parseIP parses an address that may carry a port, brackets or an IPv6
// zone ("1.2.3.4:80", "[fe80::1%eth0]:443", " ::1 "). Anything else, and
// the unspecified addresses 0.0.0.0 and ::, yield the zero Addr.
func parseIP(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}
		}
		if rest := s[end+1:]; rest != "" && !validPort(rest) {
			return netip.Addr{}
		}
		s = s[1:end]
	} else if i := strings.IndexByte(s, ':'); i >= 0 && strings.LastIndexByte(s, ':') == i {
		// One colon: an IPv4 address (or a name) with a port.
		if !validPort(s[i:]) {
			return netip.Addr{}
		}
		s = s[:i]
	}
	if i := strings.IndexByte(s, '%'); i >= 0 {
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	a = a.Unmap()
	if a.IsUnspecified() { // 0.0.0.0 or :: is never a client
		return netip.Addr{}
	}
	return a
}

// validPort reports whether s is ":" followed by 1–5 digits.
func validPort(s string) bool {
	if len(s) < 2 || len(s) > 6 || s[0] != ':' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IPStorage says how a client IP is stored.
type IPStorage string

// IP storage modes.
const (
	// IPFull stores the address as it is. It is the default.
	IPFull IPStorage = "full"
	// IPTruncate stores the network only: the /24 of an IPv4 address, the
	// /48 of an IPv6 address ("203.0.113.0", "2001:db8:1::").
	IPTruncate IPStorage = "truncate"
	// IPHash stores the hex HMAC-SHA256 of the address under a secret key,
	// so events from one address can be correlated without keeping it.
	IPHash IPStorage = "hash"
	// IPNone stores no address.
	IPNone IPStorage = "none"
)

// IPStore turns a client address into the form stored in
// Activity.IPAddress under an IPStorage mode. The middleware uses one built
// from MiddlewareConfig.IPStorage and IPHashKey; a host recording
// activities itself can use its own to store addresses the same way. The
// zero value stores addresses in full. It is safe for concurrent use.
type IPStore struct {
	mode IPStorage
	key  []byte
}

// MinIPHashKeyLen is the shortest key NewIPStore accepts with IPHash.
const MinIPHashKeyLen = 16

// NewIPStore returns the IPStore for mode ("" means IPFull). key is the
// secret HMAC key of IPHash, at least MinIPHashKeyLen bytes; it is copied,
// and ignored by the other modes.
func NewIPStore(mode IPStorage, key []byte) (IPStore, error) {
	switch mode {
	case "":
		mode = IPFull
	case IPFull, IPTruncate, IPNone:
		key = nil
	case IPHash:
		if len(key) < MinIPHashKeyLen {
			return IPStore{}, fmt.Errorf("tracking: IPHashKey must be at least %d bytes with IPStorage hash, got %d", MinIPHashKeyLen, len(key))
		}
		key = append([]byte(nil), key...)
	default:
		return IPStore{}, fmt.Errorf("tracking: IPStorage: unknown mode %q (use full, truncate, hash or none)", mode)
	}
	return IPStore{mode: mode, key: key}, nil
}

// Apply returns the stored form of a: the address itself, its network,
// its hex HMAC-SHA256 or "" depending on the mode. An invalid (zero) Addr,
// an address that could not be determined, is always "".
func (s IPStore) Apply(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	switch s.mode {
	case IPTruncate:
		bits := 24
		if a.Is6() {
			bits = 48
		}
		p, _ := a.Prefix(bits)
		return p.Addr().String()
	case IPHash:
		m := hmac.New(sha256.New, s.key)
		m.Write([]byte(a.String()))
		return hex.EncodeToString(m.Sum(nil))
	case IPNone:
		return ""
	}
	return a.String()
}
