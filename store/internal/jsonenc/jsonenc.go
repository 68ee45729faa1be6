// Package jsonenc encodes the flat JSON objects the stores keep (activity
// metadata, health samples, weekly summaries) faster than encoding/json:
// keys are not sorted and nothing is HTML-escaped, since the text is only
// ever decoded again, and NUL characters become U+FFFD so every database
// (PostgreSQL's jsonb refuses \u0000) stores the same value.
package jsonenc

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendObject appends m as a JSON object. It is a fast path for the flat
// metadata the tracking middleware records (strings, numbers, booleans,
// nulls); any other value type goes through encoding/json. It decodes to
// what encoding/json's output decodes to, except that NUL characters
// become U+FFFD.
func AppendObject(b []byte, m map[string]any) ([]byte, error) {
	b = append(b, '{')
	first := true
	for k, v := range m {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, v); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case int32:
		return strconv.AppendInt(b, int64(v), 10), nil
	case uint64:
		return strconv.AppendUint(b, v, 10), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			break // encoding/json reports the error
		}
		return strconv.AppendFloat(b, v, 'g', -1, 64), nil
	case map[string]any:
		return AppendObject(b, v)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return appendRaw(b, raw), nil
}

// appendRaw appends JSON produced by encoding/json, replacing \u0000.
func appendRaw(b, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		switch {
		case raw[i] == '\\' && i+5 < len(raw) && string(raw[i:i+6]) == `\u0000`:
			b = append(b, `\ufffd`...)
			i += 5
		case raw[i] == '\\' && i+1 < len(raw):
			b = append(b, raw[i], raw[i+1])
			i++
		default:
			b = append(b, raw[i])
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case 0:
				b = append(b, `\ufffd`...)
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Object encodes m as a JSON object; nil or empty is "{}".
func Object(m map[string]any) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := AppendObject(make([]byte, 0, 256), m)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Counts encodes a map of counts; nil or empty is {}.
func Counts(m map[string]int64) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// DecodeCounts decodes a JSON object of counts, never into a nil map
// (empty input is {}).
func DecodeCounts(b []byte) (map[string]int64, error) {
	m := map[string]int64{}
	if len(b) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeObject decodes a JSON object, never into a nil map (empty input
// and null are {}).
func DecodeObject(b []byte) (map[string]any, error) {
	if len(b) == 0 || string(b) == "{}" {
		return map[string]any{}, nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}
