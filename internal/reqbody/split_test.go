package reqbody

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// splitAll splits all of data with an ArraySplitter: its groups and
// their number of elements, or false when data is not as the splitter
// wants it.
func splitAll(data []byte, key string, per int) (groups [][]byte, n int, ok bool) {
	sp, ok := NewArraySplitter(data, key, per)
	if !ok {
		return nil, 0, false
	}
	for {
		g, _, ok := sp.Next()
		if !ok {
			return nil, 0, false
		}
		if g == nil {
			return groups, sp.Count(), true
		}
		groups = append(groups, g)
	}
}

func TestSplitArray(t *testing.T) {
	for _, tc := range []struct {
		in     string
		per    int
		groups []string // nil: not split
	}{
		{`{"a":[1,2,3]}`, 2, []string{`[1,2]`, `[3]`}},
		{`{"a":[1,2,3,4]}`, 2, []string{`[1,2]`, `[3,4]`}},
		{` { "a" : [ {"x":[1,{"y":"]},"}]} , "s\"]" ,[[]] ] } ` + "\n", 1,
			[]string{`[{"x":[1,{"y":"]},"}]} ]`, `[ "s\"]" ]`, `[[[]] ]`}},
		{`{"a":["\\",2]}`, 1, []string{`["\\"]`, `[2]`}},
		{`{"a":[1,2,3]}`, 10, []string{`[1,2,3]`}},
		{`{"a":[]}`, 2, nil},        // empty: the decoder's error
		{`{"a":[1],"b":2}`, 2, nil}, // another member
		{`{"b":2,"a":[1]}`, 2, nil}, // another member first
		{`{"A":[1]}`, 2, nil},       // another spelling
		{`{"\u0061":[1]}`, 2, nil},  // an escaped key
		{`{"a":null}`, 2, nil},      // not an array
		{`{"a":[1]}x`, 2, nil},      // trailing data
		{`{"a":[1]} {}`, 2, nil},    // a second value
		{`[{"a":[1]}]`, 2, nil},     // not an object
		{`{"a":[1,"x]}`, 2, nil},    // an unterminated string
		{`{"a":[1}]}`, 2, nil},      // a stray brace
		{`{"a":[1,[2]`, 2, nil},     // truncated
		{`{"a":[1]`, 2, nil},        // truncated after the array
		{`{"a":[1,2]}`, 0, nil},     // no group size
	} {
		groups, n, ok := splitAll([]byte(tc.in), "a", tc.per)
		if ok != (tc.groups != nil) {
			t.Errorf("%s: ok = %v", tc.in, ok)
			continue
		}
		if !ok {
			continue
		}
		var got []string
		elems := 0
		for _, g := range groups {
			got = append(got, string(g))
			var v []any
			if err := json.Unmarshal(g, &v); err != nil {
				t.Errorf("%s: group %s: %v", tc.in, g, err)
			}
			elems += len(v)
		}
		if diff := cmp.Diff(tc.groups, got); diff != "" {
			t.Errorf("%s: groups (-want +got):\n%s", tc.in, diff)
		}
		if elems != n {
			t.Errorf("%s: n = %d, the groups hold %d", tc.in, n, elems)
		}
	}
}

// FuzzSplitArray checks that when every group of a split decodes, the
// whole body decodes to the same elements, n of them.
func FuzzSplitArray(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,3]}`, `{"a":[{"x":"],\"["},[1,[2]],"\\"]}`, `{"a":[1,,2]}`, `{"a":[1,]}`,
		`{"a":["\u005d",{}]}`, `{"a":[1]}` + strings.Repeat(" ", 3)} {
		for per := 1; per <= 3; per++ {
			f.Add(s, per)
		}
	}
	f.Fuzz(func(t *testing.T, body string, per int) {
		groups, n, ok := splitAll([]byte(body), "a", per)
		if !ok {
			return
		}
		var elems []any
		for _, g := range groups {
			var v []any
			if err := json.Unmarshal(g, &v); err != nil {
				return // the caller decodes the whole body for the error
			}
			elems = append(elems, v...)
		}
		var whole map[string]any
		if err := json.Unmarshal([]byte(body), &whole); err != nil {
			t.Fatalf("the groups decode but the body does not: %v", err)
		}
		if len(whole) != 1 {
			t.Fatalf("body has %d members", len(whole))
		}
		if diff := cmp.Diff(whole["a"], any(elems)); diff != "" {
			t.Fatalf("elements differ (-whole +groups):\n%s", diff)
		}
		if len(elems) != n {
			t.Fatalf("n = %d, %d elements", n, len(elems))
		}
		if want := (n + per - 1) / per; len(groups) != want {
			t.Fatalf("%d groups of at most %d for %d elements", len(groups), per, n)
		}
	})
}

// BenchmarkSplitArray splits an ingest body of 10,000 activities (5.4 MB)
// into groups of 1,000, as the ingest/activities route does: all of it
// (what the route waited for before its first write), and only its first
// group (what it waits for now).
func BenchmarkSplitArray(b *testing.B) {
	records := make([]map[string]any, 10_000)
	for i := range records {
		records[i] = map[string]any{
			"id":            fmt.Sprintf("66666666-0000-4000-8000-%012d", i),
			"user":          map[string]any{"id": fmt.Sprintf("user-%d", i%500), "username": fmt.Sprintf("name-%d", i%500)},
			"activity_type": []string{"login", "view_report", "export"}[i%3],
			"description":   fmt.Sprint("Viewed report ", i),
			"ip_address":    "198.51.100.7",
			"user_agent":    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
			"path":          "/api/v1/reports/66666666-0000-4000-8000-000000000001/",
			"status_code":   200,
			"metadata":      map[string]any{"i": i, "method": "GET"},
			"created_at":    time.Date(2025, 3, 1, 0, i, 0, 0, time.UTC).Format(time.RFC3339Nano),
		}
	}
	data, err := json.Marshal(map[string]any{"activities": records})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			if _, n, ok := splitAll(data, "activities", 1000); !ok || n != 10_000 {
				b.Fatalf("split %d, %v", n, ok)
			}
		}
	})
	b.Run("first-group", func(b *testing.B) {
		for b.Loop() {
			sp, ok := NewArraySplitter(data, "activities", 1000)
			if !ok {
				b.Fatal("not split")
			}
			if g, n, ok := sp.Next(); !ok || g == nil || n != 1000 {
				b.Fatalf("first group of %d, %v", n, ok)
			}
		}
	})
}

// TestArraySplitterLate checks that the splitter hands out the groups
// before the end it has not reached, and reports a malformed end, or
// stops at it, only when it gets there.
func TestArraySplitterLate(t *testing.T) {
	for _, tc := range []struct {
		in    string
		valid int // groups returned before the failure (all of them when ok)
		ok    bool
	}{
		{`{"a":[1,2,3]}`, 3, true},
		{`{"a":[1,2,3]}x`, 2, false},
		{`{"a":[1,2,3],"b":1}`, 2, false},
		{`{"a":[1,2,,3]}`, 2, false},
		{`{"a":[1,2,"3]}`, 2, false},
	} {
		sp, ok := NewArraySplitter([]byte(tc.in), "a", 1)
		if !ok {
			t.Fatalf("%s: refused at the start", tc.in)
		}
		got := 0
		for {
			g, n, ok := sp.Next()
			if !ok {
				if tc.ok || got != tc.valid || sp.Count() != got {
					t.Errorf("%s: failed after %d groups (count %d), want %d (ok %v)", tc.in, got, sp.Count(), tc.valid, tc.ok)
				}
				break
			}
			if g == nil {
				if !tc.ok || got != tc.valid || sp.Count() != got {
					t.Errorf("%s: ended after %d groups (count %d), want %d (ok %v)", tc.in, got, sp.Count(), tc.valid, tc.ok)
				}
				if g, _, ok := sp.Next(); g != nil || !ok {
					t.Errorf("%s: Next after the end = %s, %v", tc.in, g, ok)
				}
				break
			}
			if n != 1 {
				t.Errorf("%s: group %s of %d elements", tc.in, g, n)
			}
			got++
		}
	}
}
