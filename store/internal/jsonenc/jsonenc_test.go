package jsonenc

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeBoth encodes m with appendObject and returns it decoded, with the
// decoding of encoding/json's output for comparison.
func decodeBoth(t *testing.T, m map[string]any) (got, want map[string]any) {
	t.Helper()
	b, err := AppendObject(nil, m)
	if err != nil {
		t.Fatalf("appendObject: %v", err)
	}
	if strings.Contains(string(b), `\u0000`) {
		t.Fatalf("output %s holds \\u0000, which PostgreSQL's jsonb refuses", b)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("output %s is not JSON: %v", b, err)
	}
	ref, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(ref), `\u0000`, `\ufffd`)), &want); err != nil {
		t.Fatal(err)
	}
	return got, want
}

func TestAppendObject(t *testing.T) {
	tests := []struct {
		name string
		m    map[string]any
	}{
		{"flat", map[string]any{"path": "/api/v1/x", "method": "GET", "status": 200, "duration_ms": 12.5, "ok": true, "none": nil}},
		{"escapes", map[string]any{"q\"uote": "a\"b\\c\nd\re\tf\x01g</script>&", "nul": "x\x00y", "bad utf8": "a\xffb", "é": "ü€😀"}},
		{"numbers", map[string]any{"i64": int64(math.MaxInt64), "i32": int32(-7), "u": uint64(math.MaxUint64), "f": 1e21, "small": 1e-7, "neg": -0.5}},
		{"nested", map[string]any{"m": map[string]any{"list": []any{"a", 1.5, nil, map[string]any{"k": "v\x00"}}}, "s": []string{"x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := decodeBoth(t, tt.m)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("mismatch with encoding/json (-want +got):\n%s", d)
			}
		})
	}
	if _, err := AppendObject(nil, map[string]any{"nan": math.NaN()}); err == nil {
		t.Error("NaN encoded without an error")
	}
	if _, err := AppendObject(nil, map[string]any{"f": func() {}}); err == nil {
		t.Error("a func encoded without an error")
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c", "\x00\x01\x1f", "\xff\xfe", "é😀", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := decodeBoth(t, map[string]any{s: s})
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("mismatch with encoding/json (-want +got):\n%s", d)
		}
	})
}

func TestObject(t *testing.T) {
	for _, m := range []map[string]any{nil, {}} {
		if got, err := Object(m); err != nil || got != "{}" {
			t.Errorf("Object(%v) = %q, %v; want {}", m, got, err)
		}
	}
	got, err := Object(map[string]any{"k": "v\x00"})
	if err != nil || got != `{"k":"v\ufffd"}` {
		t.Errorf("Object = %q, %v", got, err)
	}
	if _, err := Object(map[string]any{"nan": math.NaN()}); err == nil {
		t.Error("NaN encoded without an error")
	}
}
