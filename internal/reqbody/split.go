package reqbody

// ArraySplitter splits a body that is one JSON object whose only member is
// a key (written as is, without escapes) holding a non-empty array, with
// nothing but white space around its tokens: it returns the array's
// elements in groups of at most per, each group a JSON array of its own (a
// copy), one group at a time, so that the first can be decoded (and
// written) while the rest of the body is split.
//
// It checks the structure around the elements and finds where each one
// ends, not that the elements are valid JSON: decoding a group tells. The
// groups hold every byte between the array's brackets, so when each group
// decodes, the whole body decodes to the same elements. The structure
// after a group is checked only when the splitter reaches it: a caller
// acts on a group before it knows that the whole body is well formed, and
// undoes that when a later Next reports false.
type ArraySplitter struct {
	data       []byte
	per        int
	i, n       int
	groupStart int
	done       bool
}

// NewArraySplitter checks that data starts as ArraySplitter wants it (an
// object whose first member is key, a non-empty array) and returns the
// splitter of its array into groups of at most per elements.
func NewArraySplitter(data []byte, key string, per int) (*ArraySplitter, bool) {
	if per < 1 {
		return nil, false
	}
	i := skipSpace(data, 0)
	for _, want := range []string{"{", `"` + key + `"`, ":", "["} {
		if len(data)-i < len(want) || string(data[i:i+len(want)]) != want {
			return nil, false
		}
		i = skipSpace(data, i+len(want))
	}
	if i < len(data) && data[i] == ']' {
		return nil, false // empty: the caller's decoder words the error
	}
	return &ArraySplitter{data: data, per: per, i: i, groupStart: i}, true
}

// Next returns the next group (a copy, as a JSON array) and how many
// elements it holds. At the end of the array it checks the rest of the body
// and returns a nil group; ok is false when the body is not as
// ArraySplitter wants it, from where the splitter has reached.
func (s *ArraySplitter) Next() (group []byte, n int, ok bool) {
	if s.done {
		return nil, 0, true
	}
	data, i, count := s.data, s.i, 0
	for {
		if i = skipSpace(data, i); i < len(data) && (data[i] == ',' || data[i] == ']') {
			return nil, 0, false // an empty element
		}
		end, ok := elementEnd(data, i)
		if !ok {
			return nil, 0, false
		}
		count++
		i = end + 1
		if last := data[end] == ']'; count == s.per || last {
			if last {
				if j := skipSpace(data, i); j >= len(data) || data[j] != '}' || skipSpace(data, j+1) != len(data) {
					return nil, 0, false
				}
				s.done = true
			}
			g := make([]byte, 0, end-s.groupStart+2)
			g = append(g, '[')
			g = append(g, data[s.groupStart:end]...)
			s.i, s.groupStart, s.n = i, i, s.n+count
			return append(g, ']'), count, true
		}
	}
}

// Count returns how many elements the groups returned so far hold.
func (s *ArraySplitter) Count() int { return s.n }

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
