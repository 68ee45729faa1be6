package webui_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/analytics/webui"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb/teststore"
)

// node is an element of a page's structure.
type node struct {
	tag      string
	attrs    string
	children []*node
}

var (
	tagRE  = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>`)
	attrRE = regexp.MustCompile(`\s([a-zA-Z:-]+)(?:="([^"]*)")?`)
	voids  = map[string]bool{"meta": true, "link": true, "input": true, "br": true, "img": true, "hr": true, "wbr": true}
	// kept are the attributes that make the structure: landmarks, labels,
	// the hooks of the tests and of the stylesheet.
	kept = map[string]bool{"id": true, "class": true, "role": true, "name": true, "type": true, "scope": true,
		"data-metric": true, "aria-labelledby": true, "aria-label": true, "aria-current": true, "aria-hidden": true, "method": true, "rel": true}
)

// structure parses our own (well-formed) HTML into its element tree,
// keeping the structural attributes only, and writes it one element a line
// with children indented; runs of identical siblings (table rows, list
// items, chart bars) are written once, marked "…", so the data does not
// change the structure.
func structure(t *testing.T, page string) string {
	t.Helper()
	root := &node{tag: "#document"}
	stack := []*node{root}
	for _, m := range tagRE.FindAllStringSubmatch(page, -1) {
		closing, tag, rest, self := m[1] == "/", strings.ToLower(m[2]), m[3], m[4] == "/"
		if closing {
			if top := stack[len(stack)-1]; top.tag != tag {
				t.Fatalf("</%s> closes <%s>", tag, top.tag)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		var attrs []string
		for _, a := range attrRE.FindAllStringSubmatch(rest, -1) {
			if kept[a[1]] {
				attrs = append(attrs, a[1]+"="+a[2])
			}
		}
		n := &node{tag: tag, attrs: strings.Join(attrs, " ")}
		parent := stack[len(stack)-1]
		parent.children = append(parent.children, n)
		if !self && !voids[tag] {
			stack = append(stack, n)
		}
	}
	if len(stack) != 1 {
		t.Fatalf("unclosed <%s>", stack[len(stack)-1].tag)
	}
	var b strings.Builder
	var write func(n *node, depth int)
	write = func(n *node, depth int) {
		for i := 0; i < len(n.children); i++ {
			c := n.children[i]
			sub := render(c)
			j := i + 1
			for j < len(n.children) && render(n.children[j]) == sub {
				j++
			}
			b.WriteString(strings.Repeat("  ", depth) + c.tag)
			if c.attrs != "" {
				b.WriteString(" " + c.attrs)
			}
			if j > i+1 {
				b.WriteString(" …")
			}
			b.WriteString("\n")
			write(c, depth+1)
			i = j - 1
		}
	}
	write(root, 0)
	return b.String()
}

func render(n *node) string {
	var b strings.Builder
	b.WriteString("<" + n.tag + " " + n.attrs + ">")
	prev := ""
	for _, c := range n.children {
		s := render(c)
		if s != prev {
			b.WriteString(s)
		}
		prev = s
	}
	return b.String()
}

// TestGoldenStructure compares the structure of every page, for the admin
// and the viewer, with testdata/*.golden, on both stores (-update rewrites
// them).
func TestGoldenStructure(t *testing.T) {
	for _, k := range teststore.Drivers {
		t.Run(k.Name, func(t *testing.T) {
			e := newEnv(t, k.Open(t), webui.Config{SignOutURL: "/logout"})
			client := e.firstClient(t)
			for _, g := range []struct{ name, role, path string }{
				{"overview-admin", "admin", "/ui/"},
				{"overview-viewer", "viewer", "/ui/"},
				{"activity-admin", "admin", "/ui/activity"},
				{"activity-viewer", "viewer", "/ui/activity"},
				{"clients-admin", "admin", "/ui/clients"},
				{"client-admin", "admin", "/ui/clients/" + client},
				{"client-viewer", "viewer", "/ui/clients/" + client},
				{"cost-admin", "admin", "/ui/cost"},
				{"health-admin", "admin", "/ui/health"},
				{"health-manager", "manager", "/ui/health"},
				{"forbidden-viewer", "viewer", "/ui/health"},
				{"signed-out", "", "/ui/"},
			} {
				_, body := e.get(t, g.path, g.role)
				got := structure(t, body)
				file := filepath.Join("testdata", g.name+".golden")
				if *update && k.Name == "sqlite" {
					if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("%v (run with -update)", err)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("%s structure (-golden +got):\n%s", g.name, diff)
				}
			}
		})
	}
}
