package mqttrmq

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonReader reads the little JSON the mapping's properties hold (an object
// of strings, an array of objects) strictly: invalid UTF-8 and lone
// surrogates are refused rather than replaced, so that nothing changes
// silently on the way. Strings without escapes are returned as substrings of
// the input, without allocating.
type jsonReader struct {
	s string
	i int
}

// maxJSONDepth bounds the nesting skipValue follows.
const maxJSONDepth = 32

func (r *jsonReader) ws() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// consume skips white space and then c, if c is next.
func (r *jsonReader) consume(c byte) bool {
	r.ws()
	if r.i < len(r.s) && r.s[r.i] == c {
		r.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (r *jsonReader) end() bool {
	r.ws()
	return r.i == len(r.s)
}

// str reads a JSON string.
func (r *jsonReader) str() (string, bool) {
	if !r.consume('"') {
		return "", false
	}
	start := r.i
	for r.i < len(r.s) {
		switch c := r.s[r.i]; {
		case c == '"':
			s := r.s[start:r.i]
			r.i++
			return s, utf8.ValidString(s)
		case c == '\\':
			return r.strEscaped(start)
		case c < 0x20:
			return "", false // JSON forbids raw control characters
		}
		r.i++
	}
	return "", false
}

// strEscaped finishes reading a string that holds escapes, from r.i.
func (r *jsonReader) strEscaped(start int) (string, bool) {
	buf := []byte(r.s[start:r.i])
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == '"':
			r.i++
			return string(buf), utf8.Valid(buf)
		case c < 0x20:
			return "", false
		case c != '\\':
			buf = append(buf, c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.s) {
			return "", false
		}
		e := r.s[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r1, ok := r.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r1) {
				// Only a high surrogate followed by a low one
				// makes a character.
				if r.i+1 >= len(r.s) || r.s[r.i] != '\\' || r.s[r.i+1] != 'u' {
					return "", false
				}
				r.i += 2
				r2, ok := r.hex4()
				if !ok {
					return "", false
				}
				if r1 = utf16.DecodeRune(r1, r2); r1 == utf8.RuneError {
					return "", false
				}
			}
			buf = utf8.AppendRune(buf, r1)
		default:
			return "", false
		}
	}
	return "", false
}

// hex4 reads the four hex digits of a \u escape.
func (r *jsonReader) hex4() (rune, bool) {
	if r.i+4 > len(r.s) {
		return 0, false
	}
	var v rune
	for _, c := range []byte(r.s[r.i : r.i+4]) {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	r.i += 4
	return v, true
}

// skipValue skips one JSON value of any kind.
func (r *jsonReader) skipValue(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	r.ws()
	if r.i >= len(r.s) {
		return false
	}
	switch c := r.s[r.i]; {
	case c == '"':
		_, ok := r.str()
		return ok
	case c == '{':
		r.i++
		if r.consume('}') {
			return true
		}
		for {
			if _, ok := r.str(); !ok || !r.consume(':') || !r.skipValue(depth+1) {
				return false
			}
			if r.consume('}') {
				return true
			}
			if !r.consume(',') {
				return false
			}
		}
	case c == '[':
		r.i++
		if r.consume(']') {
			return true
		}
		for {
			if !r.skipValue(depth + 1) {
				return false
			}
			if r.consume(']') {
				return true
			}
			if !r.consume(',') {
				return false
			}
		}
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return r.number()
	}
	return false
}

// number reads a JSON number by the grammar of RFC 8259 §6:
// [-] (0 | [1-9][0-9]*) [. [0-9]+] [(e|E) [+|-] [0-9]+]. Go's float parser
// is no judge: it takes 01, 1. and -.5, which JSON refuses. The value
// itself is not needed, so a number of any magnitude is fine.
func (r *jsonReader) number() bool {
	if r.i < len(r.s) && r.s[r.i] == '-' {
		r.i++
	}
	switch {
	case r.i < len(r.s) && r.s[r.i] == '0':
		r.i++
	case !r.digits():
		return false
	}
	if r.i < len(r.s) && r.s[r.i] == '.' {
		r.i++
		if !r.digits() {
			return false
		}
	}
	if r.i < len(r.s) && (r.s[r.i] == 'e' || r.s[r.i] == 'E') {
		r.i++
		if r.i < len(r.s) && (r.s[r.i] == '+' || r.s[r.i] == '-') {
			r.i++
		}
		if !r.digits() {
			return false
		}
	}
	return true
}

// digits reads one or more decimal digits.
func (r *jsonReader) digits() bool {
	start := r.i
	for r.i < len(r.s) && '0' <= r.s[r.i] && r.s[r.i] <= '9' {
		r.i++
	}
	return r.i > start
}

func (r *jsonReader) literal(word string) bool {
	if len(r.s)-r.i >= len(word) && r.s[r.i:r.i+len(word)] == word {
		r.i += len(word)
		return true
	}
	return false
}

func itoa(i int) string { return strconv.Itoa(i) }
