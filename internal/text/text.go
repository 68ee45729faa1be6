// Package text holds the small string helpers the store contract, its
// drivers and the HTTP layer share.
package text

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Truncate cuts s to at most n runes, never splitting a UTF-8 sequence.
// Invalid UTF-8 is replaced so the result is always valid text.
func Truncate(s string, n int) string {
	if len(s) <= n && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// TitleCase turns "operational_excellence" into "Operational Excellence".
func TitleCase(s string) string {
	words := strings.FieldsFunc(s, func(r rune) bool { return r == '_' || r == ' ' })
	for i, w := range words {
		r, n := utf8.DecodeRuneInString(w)
		words[i] = string(unicode.ToUpper(r)) + strings.ToLower(w[n:])
	}
	return strings.Join(words, " ")
}

// HasNULEscape reports whether JSON text holds the escape \u0000 (not a
// literal backslash followed by "u0000").
func HasNULEscape(data []byte) bool {
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte(`u0000`))
		if j < 0 {
			return false
		}
		j += i
		n := 0
		for k := j - 1; k >= 0 && data[k] == '\\'; k-- {
			n++
		}
		if n%2 == 1 {
			return true
		}
		i = j + 5
	}
}
