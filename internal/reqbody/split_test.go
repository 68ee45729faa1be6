package reqbody

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

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
		groups, n, ok := SplitArray([]byte(tc.in), "a", tc.per)
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
		groups, n, ok := SplitArray([]byte(body), "a", per)
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
