package tokenauth

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	tokA = "alpha-token-0123456789"
	tokB = "bravo-token-0123456789"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string // substring of the error
	}{
		{"not json", `{`, "parse tokens file"},
		{"object instead of array", `{"token":"x"}`, "parse tokens file"},
		{"unknown field", `[{"token":"` + tokA + `","id":"1","role":"admin","rol":"x"}]`, `unknown field "rol"`},
		{"trailing data", `[] []`, "unexpected data"},
		{"missing id", `[{"token":"` + tokA + `","role":"admin"}]`, "entry 0: id: missing"},
		{"blank id", `[{"token":"` + tokA + `","id":"  ","role":"admin"}]`, "entry 0: id: missing"},
		{"missing role", `[{"token":"` + tokA + `","id":"1"}]`, "entry 0: role: missing"},
		{"unknown role", `[{"token":"` + tokA + `","id":"1","role":"root"}]`, `entry 0: role: unknown role "root"`},
		{"neither token field", `[{"id":"1","role":"admin"}]`, "entry 0: token: missing"},
		{"both token fields", `[{"token":"` + tokA + `","token_sha256":"` + Digest(tokA) + `","id":"1","role":"admin"}]`, "entry 0: token, token_sha256: give exactly one"},
		{"short token", `[{"token":"short","id":"1","role":"admin"}]`, "entry 0: token: must be at least 16"},
		{"space in token", `[{"token":"abc def ghi jkl mno","id":"1","role":"admin"}]`, "entry 0: token: must not contain white space"},
		{"bad digest", `[{"token_sha256":"xyz","id":"1","role":"admin"}]`, "entry 0: token_sha256: must be 64 hexadecimal digits"},
		{"duplicate token", `[{"token":"` + tokA + `","id":"1","role":"admin"},{"token":"` + tokB + `","id":"2","role":"viewer"},{"token":"` + tokA + `","id":"3","role":"viewer"}]`, "entry 2: token: same token as entry 0"},
		{"duplicate token as digest", `[{"token":"` + tokA + `","id":"1","role":"admin"},{"token_sha256":"` + strings.ToUpper(Digest(tokA)) + `","id":"2","role":"viewer"}]`, "entry 1: token: same token as entry 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.json))
			if err == nil {
				t.Fatalf("Parse succeeded with %d tokens, want error containing %q", s.Len(), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	s, err := Parse([]byte(`[
		{"token":"` + tokA + `","id":"u1","username":"alice","full_name":"Alice Doe","email":"alice@example.com","role":"admin","staff":true},
		{"token_sha256":"` + Digest(tokB) + `","id":"u2","role":"viewer"}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 2 {
		t.Fatalf("Len = %d, want 2", s.Len())
	}
	tests := []struct {
		name   string
		header string
		want   Identity
		ok     bool
	}{
		{"plain token", "Bearer " + tokA, Identity{ID: "u1", Username: "alice", FullName: "Alice Doe", Email: "alice@example.com", Role: "admin", Staff: true}, true},
		{"scheme case-insensitive", "bearer " + tokA, Identity{ID: "u1", Username: "alice", FullName: "Alice Doe", Email: "alice@example.com", Role: "admin", Staff: true}, true},
		{"digest entry, username defaults to id", "Bearer " + tokB, Identity{ID: "u2", Username: "u2", Role: "viewer"}, true},
		{"unknown token", "Bearer " + tokA + "x", Identity{}, false},
		{"digest itself is not a token", "Bearer " + Digest(tokB), Identity{}, false},
		{"no header", "", Identity{}, false},
		{"basic scheme", "Basic " + tokA, Identity{}, false},
		{"empty bearer", "Bearer ", Identity{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			got, ok := s.Authenticate(r)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNilAndEmptySetAuthenticateNobody(t *testing.T) {
	var nilSet *Set
	if _, ok := nilSet.Lookup(tokA); ok {
		t.Error("nil set matched a token")
	}
	empty, err := Parse([]byte(`[]`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := empty.Lookup(tokA); ok {
		t.Error("empty set matched a token")
	}
	if _, ok := empty.Lookup(""); ok {
		t.Error("empty set matched the empty token")
	}
}

func TestWriteFileAndLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	tok := NewToken()
	if len(tok) < MinTokenLen {
		t.Fatalf("NewToken length %d < %d", len(tok), MinTokenLen)
	}
	if tok == NewToken() {
		t.Fatal("NewToken returned the same token twice")
	}
	entries := []Entry{{Token: tok, ID: "u1", Username: "ann", Role: "analyst"}}
	if err := WriteFile(path, entries); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && os.PathSeparator == '/' {
		t.Errorf("file mode %v is readable by others", perm)
	}
	if err := WriteFile(path, entries); err == nil {
		t.Error("WriteFile overwrote an existing file")
	}
	s, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := s.Lookup(tok)
	if !ok {
		t.Fatal("written token not found")
	}
	if diff := cmp.Diff(Identity{ID: "u1", Username: "ann", Role: "analyst"}, got); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	back, err := ReadEntries(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(entries, back); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if err := WriteFile(filepath.Join(t.TempDir(), "bad.json"), []Entry{{Token: tok, ID: "u1"}}); err == nil || !strings.Contains(err.Error(), "role: missing") {
		t.Errorf("WriteFile of an invalid entry: err = %v", err)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("LoadFile of a missing file succeeded")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`[{"token":"` + tokA + `","id":"1","role":"admin"}]`))
	f.Add([]byte(`[{"token_sha256":"` + Digest(tokB) + `","id":"1","role":"viewer"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		if _, ok := s.Lookup(""); ok {
			t.Fatal("a parsed set matched the empty token")
		}
	})
}
