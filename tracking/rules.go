package tracking

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// Built-in activity types.
const (
	TypeLogin          = "login"
	TypeLogout         = "logout"
	TypeCreateClient   = "create_client"
	TypeUpdateClient   = "update_client"
	TypeDeleteClient   = "delete_client"
	TypeUploadCSV      = "upload_csv"
	TypeGenerateReport = "generate_report"
	TypeDownloadReport = "download_report"
	TypeDeleteReport   = "delete_report"
	TypeShareReport    = "share_report"
	TypeViewDashboard  = "view_dashboard"
	TypeOther          = "other"
)

// IDField names the activity field an {id} path segment fills.
type IDField string

// ID fields.
const (
	// IDReport fills Activity.ReportID and the "report_id" metadata key.
	IDReport IDField = "report_id"
	// IDClient fills Activity.ClientID and the "client_id" metadata key.
	IDClient IDField = "client_id"
)

// Rule maps requests to an activity. Rules are tried in order and the first
// match wins, so put a rule before the defaults to override them:
//
//	rules := append([]tracking.Rule{mine}, tracking.DefaultRules()...)
type Rule struct {
	// Methods lists the HTTP methods the rule applies to (upper case).
	// Required.
	Methods []string
	// Pattern is the URL path the rule matches: literal segments,
	// "{id}" (a UUID) and "{format}" (any non-empty segment), for example
	// "/api/v1/reports/{id}/download/{format}/". A trailing slash is
	// optional in requests; the query string is never part of the match.
	Pattern string
	// ActivityType is the activity type recorded (at most 50 characters).
	// Required.
	ActivityType string
	// Description is the description template; "{id}", "{format}",
	// "{method}" and "{path}" are replaced by the request's values. The
	// result is cut to 255 characters. Defaults to "{method} {path}".
	Description string
	// IDField says which activity field the {id} segment fills. Defaults
	// to the one named by the segment before it ("reports" → IDReport,
	// "clients" → IDClient); otherwise the id is kept in the metadata
	// under "id" only.
	IDField IDField
}

// AnalyticsPathDefault is where DefaultRules expect the analytics handler
// to be mounted: its dashboard is AnalyticsPathDefault + "/dashboard/".
const AnalyticsPathDefault = "/api/v1/analytics"

// DefaultRules returns the rules for the Advisor reports platform's routes,
// with the analytics handler at AnalyticsPathDefault. It is
// DefaultRulesAt(AnalyticsPathDefault). The returned slice is a fresh copy
// the caller may modify.
func DefaultRules() []Rule {
	return DefaultRulesAt(AnalyticsPathDefault)
}

// DefaultRulesAt is DefaultRules for an analytics handler mounted at
// analyticsPath (for example "/admin/analytics"): dashboard views are the
// GETs of analyticsPath + "/dashboard/". A trailing slash of analyticsPath
// is ignored, "/" is the root and "" means AnalyticsPathDefault. The other
// rules do not depend on it.
func DefaultRulesAt(analyticsPath string) []Rule {
	if analyticsPath == "" {
		analyticsPath = AnalyticsPathDefault
	}
	dashboard := strings.TrimRight(analyticsPath, "/") + "/dashboard/"
	post, get, del := []string{"POST"}, []string{"GET"}, []string{"DELETE"}
	return []Rule{
		{Methods: post, Pattern: "/api/v1/reports/", ActivityType: TypeGenerateReport, Description: "Generated a new report"},
		{Methods: post, Pattern: "/api/v1/reports/{id}/generate/", ActivityType: TypeGenerateReport, Description: "Generated report {id}"},
		{Methods: get, Pattern: "/api/v1/reports/{id}/download/", ActivityType: TypeDownloadReport, Description: "Downloaded report {id}"},
		{Methods: get, Pattern: "/api/v1/reports/{id}/download/{format}/", ActivityType: TypeDownloadReport, Description: "Downloaded report {id} as {format}"},
		{Methods: del, Pattern: "/api/v1/reports/{id}/", ActivityType: TypeDeleteReport, Description: "Deleted report {id}"},
		{Methods: post, Pattern: "/api/v1/reports/{id}/share/", ActivityType: TypeShareReport, Description: "Shared report {id}"},
		{Methods: post, Pattern: "/api/v1/reports/shares/", ActivityType: TypeShareReport, Description: "Shared a report"},
		{Methods: post, Pattern: "/api/v1/reports/upload/", ActivityType: TypeUploadCSV, Description: "Uploaded CSV"},
		{Methods: post, Pattern: "/api/v1/clients/", ActivityType: TypeCreateClient, Description: "Created a new client"},
		{Methods: []string{"PUT", "PATCH"}, Pattern: "/api/v1/clients/{id}/", ActivityType: TypeUpdateClient, Description: "Updated client {id}"},
		{Methods: del, Pattern: "/api/v1/clients/{id}/", ActivityType: TypeDeleteClient, Description: "Deleted client {id}"},
		{Methods: post, Pattern: "/api/v1/clients/{id}/upload-csv/", ActivityType: TypeUploadCSV, Description: "Uploaded CSV for client {id}"},
		{Methods: post, Pattern: "/api/v1/auth/login/", ActivityType: TypeLogin, Description: "Logged in"},
		{Methods: post, Pattern: "/api/v1/auth/logout/", ActivityType: TypeLogout, Description: "Logged out"},
		{Methods: get, Pattern: dashboard, ActivityType: TypeViewDashboard, Description: "Viewed dashboard"},
	}
}

type segKind uint8

const (
	segLiteral segKind = iota
	segID
	segFormat
)

type segment struct {
	kind segKind
	lit  string
}

type compiledRule struct {
	Rule
	prefix  string // the leading literal segments with their slashes, a quick first check
	segs    []segment
	idField IDField
	desc    []tmplPart
}

type tmplPart struct {
	lit string // literal text, or the placeholder name when ph is true
	ph  bool
}

// ruleSet is the compiled rule list, indexed by method; each method's list
// keeps the configured order.
type ruleSet struct {
	all                        []*compiledRule
	get, post, put, patch, del []*compiledRule
	other                      map[string][]*compiledRule
}

func compileRules(rules []Rule) (*ruleSet, error) {
	rs := &ruleSet{other: map[string][]*compiledRule{}}
	for i, r := range rules {
		c, err := compileRule(r)
		if err != nil {
			return nil, fmt.Errorf("tracking: MiddlewareConfig.Rules[%d]: %w", i, err)
		}
		rs.all = append(rs.all, c)
		for _, m := range c.Methods {
			if l := rs.forMethod(m); l != nil {
				*l = append(*l, c)
			} else {
				rs.other[m] = append(rs.other[m], c)
			}
		}
	}
	return rs, nil
}

// forMethod returns the list of a common method, or nil for others.
func (rs *ruleSet) forMethod(m string) *[]*compiledRule {
	switch m {
	case http.MethodGet:
		return &rs.get
	case http.MethodPost:
		return &rs.post
	case http.MethodPut:
		return &rs.put
	case http.MethodPatch:
		return &rs.patch
	case http.MethodDelete:
		return &rs.del
	}
	return nil
}

func compileRule(r Rule) (*compiledRule, error) {
	if len(r.Methods) == 0 {
		return nil, fmt.Errorf("methods is empty")
	}
	methods := make([]string, len(r.Methods))
	for i, m := range r.Methods {
		if m == "" || strings.ToUpper(m) != m {
			return nil, fmt.Errorf("method %q must be non-empty and upper case", m)
		}
		methods[i] = m
	}
	r.Methods = methods
	if strings.TrimSpace(r.ActivityType) == "" {
		return nil, fmt.Errorf("activity type is required")
	}
	if len(r.ActivityType) > store.MaxActivityTypeLen {
		return nil, fmt.Errorf("activity type %q is longer than %d characters", r.ActivityType, store.MaxActivityTypeLen)
	}
	if !strings.HasPrefix(r.Pattern, "/") {
		return nil, fmt.Errorf("pattern %q must start with /", r.Pattern)
	}
	c := &compiledRule{Rule: r}
	p := strings.TrimSuffix(r.Pattern[1:], "/")
	var prevLit string
	if p != "" {
		for _, s := range strings.Split(p, "/") {
			switch {
			case s == "{id}":
				if c.idField == "" {
					c.idField = inferIDField(prevLit)
				}
				c.segs = append(c.segs, segment{kind: segID})
			case s == "{format}":
				c.segs = append(c.segs, segment{kind: segFormat})
			case s == "":
				return nil, fmt.Errorf("pattern %q has an empty segment", r.Pattern)
			case strings.ContainsAny(s, "{}"):
				return nil, fmt.Errorf("pattern %q: unknown placeholder %q (use {id} or {format})", r.Pattern, s)
			default:
				c.segs = append(c.segs, segment{kind: segLiteral, lit: s})
			}
			prevLit = s
		}
	}
	switch r.IDField {
	case "":
	case IDReport, IDClient:
		c.idField = r.IDField
	default:
		return nil, fmt.Errorf("id field %q must be %q or %q", r.IDField, IDReport, IDClient)
	}
	for _, seg := range c.segs {
		if seg.kind != segLiteral {
			break
		}
		c.prefix += seg.lit + "/"
	}
	if len(c.prefix) > 0 && len(c.segs) > 0 && c.segs[len(c.segs)-1].kind == segLiteral && strings.Count(c.prefix, "/") == len(c.segs) {
		c.prefix = c.prefix[:len(c.prefix)-1] // every segment is literal: no slash after the last
	}
	desc := r.Description
	if desc == "" {
		desc = "{method} {path}"
	}
	parts, err := parseTemplate(desc)
	if err != nil {
		return nil, err
	}
	c.desc = parts
	return c, nil
}

func inferIDField(prev string) IDField {
	switch prev {
	case "reports", "report":
		return IDReport
	case "clients", "client":
		return IDClient
	}
	return ""
}

func parseTemplate(s string) ([]tmplPart, error) {
	var parts []tmplPart
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			parts = append(parts, tmplPart{lit: s})
			break
		}
		if i > 0 {
			parts = append(parts, tmplPart{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("description %q: unclosed placeholder", s)
		}
		name := s[i+1 : i+j]
		switch name {
		case "id", "format", "method", "path":
		default:
			return nil, fmt.Errorf("description: unknown placeholder {%s} (use {id}, {format}, {method} or {path})", name)
		}
		parts = append(parts, tmplPart{lit: name, ph: true})
		s = s[i+j+1:]
	}
	return parts, nil
}

// match returns the first rule matching method and path with the values of
// its {id} and {format} segments. It does not allocate.
func (rs *ruleSet) match(method, path string) (rule *compiledRule, id, format string) {
	var list []*compiledRule
	if l := rs.forMethod(method); l != nil {
		list = *l
	} else if len(rs.other) > 0 {
		list = rs.other[method]
	}
	for _, r := range list {
		if id, format, ok := r.matchPath(path); ok {
			return r, id, format
		}
	}
	return nil, "", ""
}

func (r *compiledRule) matchPath(path string) (id, format string, ok bool) {
	if len(path) == 0 || path[0] != '/' {
		return "", "", false
	}
	rest := path[1:]
	if len(rest) > 1 && rest[len(rest)-1] == '/' {
		rest = rest[:len(rest)-1]
	}
	if !strings.HasPrefix(rest, r.prefix) {
		return "", "", false
	}
	if len(r.segs) == 0 {
		return "", "", rest == ""
	}
	last := len(r.segs) - 1
	for i, seg := range r.segs {
		switch seg.kind {
		case segLiteral:
			if !strings.HasPrefix(rest, seg.lit) {
				return "", "", false
			}
			rest = rest[len(seg.lit):]
		case segID:
			if len(rest) < 36 || !store.ValidUUID(rest[:36]) {
				return "", "", false
			}
			id, rest = rest[:36], rest[36:]
		case segFormat:
			j := strings.IndexByte(rest, '/')
			if j < 0 {
				j = len(rest)
			}
			if j == 0 {
				return "", "", false
			}
			format, rest = rest[:j], rest[j:]
		}
		if i == last {
			if rest != "" {
				return "", "", false
			}
		} else {
			if rest == "" || rest[0] != '/' {
				return "", "", false
			}
			rest = rest[1:]
		}
	}
	return id, format, true
}

// describe expands the rule's description template.
func (r *compiledRule) describe(method, path, id, format string) string {
	if len(r.desc) == 1 && !r.desc[0].ph {
		return r.desc[0].lit
	}
	var b strings.Builder
	for _, p := range r.desc {
		if !p.ph {
			b.WriteString(p.lit)
			continue
		}
		switch p.lit {
		case "id":
			b.WriteString(id)
		case "format":
			b.WriteString(format)
		case "method":
			b.WriteString(method)
		case "path":
			b.WriteString(path)
		}
	}
	return b.String()
}
