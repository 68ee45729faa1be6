package text

import "testing"

func TestTruncateKeepsValidUTF8(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"héllo", 2, "hé"},
		{"ab\xffcd", 10, "ab\uFFFDcd"},
		{"日本語テキスト", 3, "日本語"},
	}
	for _, tt := range tests {
		if got := Truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestTitleCase(t *testing.T) {
	for in, want := range map[string]string{"operational_excellence": "Operational Excellence", "élan_vital": "Élan Vital", "cost": "Cost"} {
		if got := TitleCase(in); got != want {
			t.Errorf("TitleCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHasNULEscape(t *testing.T) {
	cases := map[string]bool{
		`{"a":"\u0000"}`: true, `{"a":"x\\u0000"}`: false, `{"a":"x\\\u0000"}`: true, `{"u0000":1}`: false,
		`{"a":"\u00001"}`: true, `{"a":"\u0001"}`: false, `\u0000`: true, ``: false,
	}
	for in, want := range cases {
		if got := HasNULEscape([]byte(in)); got != want {
			t.Errorf("HasNULEscape(%s) = %v, want %v", in, got, want)
		}
	}
}
