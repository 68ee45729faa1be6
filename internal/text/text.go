// Package text holds the small string helpers the store contract, its
// drivers and the HTTP layer share.
package text

import (
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
