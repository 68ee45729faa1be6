package reqbody

// SplitArray reports whether data is one JSON object whose only member is
// key (written as is, without escapes) holding a non-empty array, with
// nothing but white space around its tokens; if so, it returns the
// array's elements in groups of at most per, each group a JSON array of
// its own (a copy), and the number of elements.
//
// It checks the structure around the elements and finds where each one
// ends, not that the elements are valid JSON: decoding a group tells. The
// groups hold every byte between the array's brackets, so when each group
// decodes, the whole body decodes to the same elements.
func SplitArray(data []byte, key string, per int) (groups [][]byte, n int, ok bool) {
	if per < 1 {
		return nil, 0, false
	}
	i := skipSpace(data, 0)
	for _, want := range []string{"{", `"` + key + `"`, ":", "["} {
		if len(data)-i < len(want) || string(data[i:i+len(want)]) != want {
			return nil, 0, false
		}
		i = skipSpace(data, i+len(want))
	}
	if i < len(data) && data[i] == ']' {
		return nil, 0, false // empty: the caller's decoder words the error
	}
	groupStart := i
	for {
		if i = skipSpace(data, i); i < len(data) && (data[i] == ',' || data[i] == ']') {
			return nil, 0, false // an empty element
		}
		end, ok := elementEnd(data, i)
		if !ok {
			return nil, 0, false
		}
		n++
		last := data[end] == ']'
		if n%per == 0 || last {
			g := make([]byte, 0, end-groupStart+2)
			g = append(g, '[')
			g = append(g, data[groupStart:end]...)
			groups = append(groups, append(g, ']'))
			groupStart = end + 1
		}
		i = end + 1
		if last {
			break
		}
	}
	i = skipSpace(data, i)
	if i >= len(data) || data[i] != '}' || skipSpace(data, i+1) != len(data) {
		return nil, 0, false
	}
	return groups, n, true
}

// elementEnd returns the index of the comma or closing bracket that ends
// the array element starting at i, skipping strings and nested values.
func elementEnd(data []byte, i int) (int, bool) {
	depth := 0
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
			if i >= len(data) {
				return 0, false
			}
		case '{', '[':
			depth++
		case '}':
			if depth == 0 {
				return 0, false
			}
			depth--
		case ']':
			if depth == 0 {
				return i, true
			}
			depth--
		case ',':
			if depth == 0 {
				return i, true
			}
		}
	}
	return 0, false
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}

// DecodeFast decodes data, a JSON value, into v, a pointer to a zero
// value, with goccy/go-json as Decode first tries to, and reports whether
// it did so completely (unknown object keys refused). On false v holds
// partial results: decode the whole body with Decode for the error.
func DecodeFast(data []byte, v any) bool {
	return decodeFast(data, v)
}
