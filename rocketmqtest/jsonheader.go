package rocketmqtest

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A fast reader for the JSON command header, the form every
// rocketmq-client-go request uses. encoding/json spends most of the
// server's time on it otherwise. It handles the headers clients write; on
// anything unusual (a duplicate key, a key in another case, null where a
// number belongs, invalid UTF-8, a nested value it would have to skip) it
// gives up and request.decodeJSON falls back to encoding/json, so the result
// is always what encoding/json would produce. FuzzJSONHeader checks that.

// jsonScanner scans a copy of the header made once, as a string, so that
// every value without escapes is a substring of it rather than an
// allocation of its own.
type jsonScanner struct {
	b string
	i int
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScanner) consume(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// rawString returns the bytes between the quotes of a string without
// escapes or bytes outside printable ASCII, the common case; ok is false
// otherwise, with the scanner unmoved.
func (s *jsonScanner) rawString() (raw string, ok bool) {
	s.ws()
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

// str reads a string, decoding escapes. It reports false for invalid
// UTF-8, raw control characters and malformed escapes.
func (s *jsonScanner) str() (string, bool) {
	if raw, ok := s.rawString(); ok {
		return raw, true
	}
	s.ws()
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
func (s *jsonScanner) hex4(j int) (r rune, n int) {
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

// integer reads a JSON integer (no fraction, no exponent) that fits in
// bits; anything else reports false.
func (s *jsonScanner) integer(bits int) (int64, bool) {
	s.ws()
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

// skipScalar skips a string, number, true, false or null.
func (s *jsonScanner) skipScalar() bool {
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, ok := s.str()
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

// Header fields, as the bit that marks them seen.
const (
	seenCode = 1 << iota
	seenVersion
	seenOpaque
	seenFlag
	seenRemark
	seenExt
)

// parseJSONHeader is the fast path of request.decodeJSON: it fills r, which
// is empty but for reusable extFields storage, and reports false when it
// cannot be sure to match encoding/json.
func parseJSONHeader(b []byte, r *request) bool {
	s := jsonScanner{b: string(b)}
	if !s.consume('{') {
		return false
	}
	seen := 0
	if s.consume('}') {
		return finish(&s)
	}
	for {
		raw, ok := s.rawString()
		if !ok || !s.consume(':') {
			return false
		}
		bit := 0
		switch raw {
		case "code":
			bit = seenCode
			v, ok := s.integer(16)
			if !ok {
				return false
			}
			r.code = RequestCode(v)
		case "version":
			bit = seenVersion
			v, ok := s.integer(16)
			if !ok {
				return false
			}
			r.version = int16(v)
		case "opaque":
			bit = seenOpaque
			v, ok := s.integer(32)
			if !ok {
				return false
			}
			r.opaque = int32(v)
		case "flag":
			bit = seenFlag
			v, ok := s.integer(32)
			if !ok {
				return false
			}
			r.flag = int32(v)
		case "remark":
			bit = seenRemark
			v, ok := s.str()
			if !ok {
				return false
			}
			r.remark = v
		case "extFields":
			bit = seenExt
			if !s.extFields(r) {
				return false
			}
		default:
			if isHeaderFieldFold(raw) || !s.skipScalar() {
				return false
			}
		}
		if seen&bit != 0 {
			return false // encoding/json's handling of repeats is subtle
		}
		seen |= bit
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return finish(&s)
		}
		return false
	}
}

func finish(s *jsonScanner) bool {
	s.ws()
	return s.i == len(s.b)
}

// isHeaderFieldFold reports whether a key that is not exactly a header
// field's name would still match one in encoding/json, which matches names
// without regard to case.
func isHeaderFieldFold(raw string) bool {
	for _, n := range []string{"code", "version", "opaque", "flag", "remark", "extFields"} {
		if len(raw) == len(n) && equalFoldASCII(raw, n) {
			return true
		}
	}
	return false
}

func equalFoldASCII(b, s string) bool {
	for i := range b {
		x, y := b[i]|0x20, s[i]|0x20
		if x != y || (x < 'a' || x > 'z') && b[i] != s[i] {
			return false
		}
	}
	return true
}

// extFields reads the object of string fields.
func (s *jsonScanner) extFields(r *request) bool {
	if !s.consume('{') {
		return false
	}
	if r.ext == nil {
		r.ext = make(extFields, 0, 16)
	}
	if s.consume('}') {
		return true
	}
	var sigs uint64 // keySig bits of the keys so far: most keys need no lookup
	for {
		key, ok := s.rawString()
		if !ok {
			return false
		}
		if !s.consume(':') {
			return false
		}
		v, ok := s.str()
		if !ok {
			return false
		}
		if sig := keySig(key); sigs&sig == 0 {
			sigs |= sig
		} else if _, dup := r.ext.lookup(key); dup {
			return false
		}
		r.ext = append(r.ext, field{key, v})
		if s.consume(',') {
			continue
		}
		return s.consume('}')
	}
}

// keySig maps a key to one of 64 bits; keys with different bits differ.
func keySig(k string) uint64 {
	h := uint(len(k))
	if len(k) > 0 {
		h = h*31 + uint(k[0])*7 + uint(k[len(k)-1])
	}
	return 1 << (h & 63)
}

// commonKeys are the extFields names requests carry; the binary header
// decoder reuses these strings rather than allocating one per field.
var commonKeys = func() map[string]string {
	m := make(map[string]string)
	for _, k := range []string{
		"producerGroup", "topic", "defaultTopic", "defaultTopicQueueNums", "queueId", "sysFlag",
		"bornTimestamp", "flag", "properties", "reconsumeTimes", "unitMode", "maxReconsumeTimes",
		"batch", "bname", "consumerGroup", "queueOffset", "maxMsgNums", "commitOffset",
		"suspendTimeoutMillis", "subscription", "subVersion", "expressionType", "group", "offset",
		"delayLevel", "originMsgId", "originTopic", "timestamp", "clientID",
		"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n",
	} {
		m[k] = k
	}
	return m
}()

func internKey(raw []byte) string {
	if k, ok := commonKeys[string(raw)]; ok {
		return k
	}
	return string(raw)
}
