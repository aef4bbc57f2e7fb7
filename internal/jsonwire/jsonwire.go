// Package jsonwire reads and writes the JSON of RocketMQ's remoting
// headers by hand: objects of string fields and small integers, the only
// values a header holds. encoding/json's reflection costs more than the
// rest of handling a small request, on both ends of the protocol: the
// project's fake broker (rocketmqtest) and the gateway's producer
// (internal/remoting) read headers with Scanner and write them with
// AppendString, and fall back to encoding/json for anything Scanner is not
// sure to read as encoding/json would.
package jsonwire

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Control characters are
// escaped as \u00XX (property strings carry \x01 and \x02); invalid UTF-8
// becomes U+FFFD, as encoding/json writes it.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	return append(AppendEscaped(b, s), '"')
}

// AppendEscaped appends s as AppendString does, without the quotes: for
// a string written in parts.
func AppendEscaped(b []byte, s string) []byte {
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
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// Scanner reads JSON values one after another from a copy of a header
// made once, as a string, so that every value without escapes is a
// substring of it rather than an allocation of its own. Each method
// reports false, and what it read is not to be trusted, for input it does
// not take; a reader then falls back to encoding/json.
type Scanner struct {
	b string
	i int
}

// NewScanner returns a Scanner of b, which it copies once.
func NewScanner(b []byte) *Scanner { return &Scanner{b: string(b)} }

// End reports whether only white space is left.
func (s *Scanner) End() bool {
	s.space()
	return s.i == len(s.b)
}

func (s *Scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// Consume skips white space and then c, and reports whether c was there.
func (s *Scanner) Consume(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// RawString returns the bytes between the quotes of a string without
// escapes or bytes outside printable ASCII, the common case; ok is false
// otherwise, with the scanner unmoved.
func (s *Scanner) RawString() (raw string, ok bool) {
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", false
	}
	for j := s.i + 1; j < len(s.b); j++ {
		c := s.b[j]
		switch {
		case c == '"':
			raw = s.b[s.i+1 : j]
			s.i = j + 1
			return raw, true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return "", false
		}
	}
	return "", false
}

// Str reads a string, decoding escapes. It reports false for invalid
// UTF-8, raw control characters and malformed escapes.
func (s *Scanner) Str() (string, bool) {
	if raw, ok := s.RawString(); ok {
		return raw, true
	}
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", false
	}
	out := make([]byte, 0, 64)
	i := s.i + 1
	for i < len(s.b) {
		c := s.b[i]
		switch {
		case c == '"':
			s.i = i + 1
			return string(out), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if i+1 >= len(s.b) {
				return "", false
			}
			i++
			switch s.b[i] {
			case '"', '\\', '/':
				out = append(out, s.b[i])
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, n := s.hex4(i + 1)
				if n == 0 {
					return "", false
				}
				i += n
				if utf16.IsSurrogate(r) {
					// A surrogate pair decodes to one rune; a lone
					// surrogate becomes U+FFFD, as in encoding/json.
					if i+2 < len(s.b) && s.b[i+1] == '\\' && s.b[i+2] == 'u' {
						if r2, n2 := s.hex4(i + 3); n2 != 0 {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								r = dec
								i += 2 + n2
							} else {
								r = utf8.RuneError
							}
						} else {
							return "", false
						}
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", false
			}
			i++
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s.b[i:])
			if r == utf8.RuneError && size == 1 {
				return "", false // encoding/json would substitute U+FFFD
			}
			out = append(out, s.b[i:i+size]...)
			i += size
		default:
			out = append(out, c)
			i++
		}
	}
	return "", false
}

// hex4 reads four hex digits at j; n is 4, or 0 if they are not there.
func (s *Scanner) hex4(j int) (r rune, n int) {
	if j+4 > len(s.b) {
		return 0, 0
	}
	for k := j; k < j+4; k++ {
		c := s.b[k]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, 0
		}
		r = r<<4 | rune(d)
	}
	return r, 4
}

// Integer reads a JSON integer (no fraction, no exponent) that fits in
// bits; anything else reports false.
func (s *Scanner) Integer(bits int) (int64, bool) {
	s.space()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == digits || (s.b[digits] == '0' && s.i-digits > 1) {
		return 0, false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s.b[start:s.i], 10, bits)
	return v, err == nil
}

// SkipScalar skips a string, number, true, false or null.
func (s *Scanner) SkipScalar() bool {
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, ok := s.Str()
		return ok
	case c == '-' || (c >= '0' && c <= '9'):
		start := s.i
		for s.i < len(s.b) && (s.b[s.i] == '-' || s.b[s.i] == '+' || s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E' || (s.b[s.i] >= '0' && s.b[s.i] <= '9')) {
			s.i++
		}
		_, err := strconv.ParseFloat(s.b[start:s.i], 64)
		return err == nil && validJSONNumber(s.b[start:s.i])
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if len(s.b)-s.i >= len(lit) && s.b[s.i:s.i+len(lit)] == lit {
				s.i += len(lit)
				return true
			}
		}
		return false
	}
}

// validJSONNumber applies JSON's number grammar, which is stricter than
// strconv's (no leading zeros, no '+', digits around the point).
func validJSONNumber(b string) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	start := i
	if n := digits(); n == 0 || (b[start] == '0' && n > 1) {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}
