package remoting

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// errHeader is what parseHeader returns for a header that is not the JSON
// object of a remoting command.
var errHeader = errors.New("remoting: malformed JSON header")

// parseHeader reads a command's JSON header into cmd: code, opaque, flag,
// remark and the ext fields; other members (language, version,
// serializeTypeCurrentRPC) are skipped. It reads what the broker's JSON
// writer writes without encoding/json's reflection, which on the send
// path cost more than the rest of reading the answer.
func parseHeader(b []byte, cmd *Command) error {
	p := jsonParser{b: b}
	if !p.consume('{') {
		return errHeader
	}
	if p.consume('}') {
		return p.end()
	}
	for {
		key, ok := p.str()
		if !ok || !p.consume(':') {
			return errHeader
		}
		switch key {
		case "code":
			cmd.Code, ok = p.int()
		case "opaque":
			var n int
			n, ok = p.int()
			cmd.Opaque = int32(n)
		case "flag":
			cmd.Flag, ok = p.int()
		case "version":
			cmd.Version, ok = p.int()
		case "language":
			cmd.Language, ok = p.str()
		case "remark":
			cmd.Remark, ok = p.str()
			if !ok {
				ok = p.null()
			}
		case "extFields":
			ok = p.fields(cmd)
		default:
			ok = p.skip(0)
		}
		if !ok {
			return errHeader
		}
		if p.consume('}') {
			return p.end()
		}
		if !p.consume(',') {
			return errHeader
		}
	}
}

// jsonParser reads JSON values from b at i.
type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *jsonParser) consume(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jsonParser) end() error {
	p.space()
	if p.i != len(p.b) {
		return errHeader
	}
	return nil
}

func (p *jsonParser) null() bool {
	p.space()
	if len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "null" {
		p.i += 4
		return true
	}
	return false
}

// fields reads the extFields object (or null) into cmd.ExtFields; a
// member that is not a string (a broker writes only strings) is skipped.
func (p *jsonParser) fields(cmd *Command) bool {
	if p.null() {
		return true
	}
	if !p.consume('{') {
		return false
	}
	cmd.ExtFields = map[string]string{}
	if p.consume('}') {
		return true
	}
	for {
		k, ok := p.str()
		if !ok || !p.consume(':') {
			return false
		}
		p.space()
		if p.i < len(p.b) && p.b[p.i] == '"' {
			v, ok := p.str()
			if !ok {
				return false
			}
			cmd.ExtFields[k] = v
		} else if !p.skip(0) {
			return false
		}
		if p.consume('}') {
			return true
		}
		if !p.consume(',') {
			return false
		}
	}
}

// int reads a JSON number that is an integer.
func (p *jsonParser) int() (int, bool) {
	p.space()
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	n, err := strconv.Atoi(string(p.b[start:p.i]))
	return n, err == nil
}

// str reads a JSON string, unescaping it.
func (p *jsonParser) str() (string, bool) {
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", false
	}
	p.i++
	start := p.i
	for p.i < len(p.b) && p.b[p.i] != '"' && p.b[p.i] != '\\' && p.b[p.i] >= 0x20 && p.b[p.i] < utf8.RuneSelf {
		p.i++
	}
	if p.i < len(p.b) && p.b[p.i] == '"' {
		s := string(p.b[start:p.i])
		p.i++
		return s, true
	}
	out := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return "", false
			}
			e := p.b[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
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
				r, ok := p.hex4()
				if !ok {
					return "", false
				}
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					save := p.i
					if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
						p.i += 2
						if r2, ok = p.hex4(); !ok {
							return "", false
						}
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
					} else {
						r = utf8.RuneError
						p.i = save // the next escape is a character of its own
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", false
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, p.b[p.i:p.i+size]...)
			}
			p.i += size
		}
	}
	return "", false
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}

// skip passes over one JSON value of any kind; depth bounds nesting.
func (p *jsonParser) skip(depth int) bool {
	if depth > 32 {
		return false
	}
	p.space()
	if p.i >= len(p.b) {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		_, ok := p.str()
		return ok
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		p.i++
		if p.consume(closing) {
			return true
		}
		for {
			if c == '{' {
				if _, ok := p.str(); !ok || !p.consume(':') {
					return false
				}
			}
			if !p.skip(depth + 1) {
				return false
			}
			if p.consume(closing) {
				return true
			}
			if !p.consume(',') {
				return false
			}
		}
	default:
		start := p.i
		for p.i < len(p.b) && (p.b[p.i] == '-' || p.b[p.i] == '+' || p.b[p.i] == '.' ||
			p.b[p.i] >= '0' && p.b[p.i] <= '9' || p.b[p.i] >= 'a' && p.b[p.i] <= 'z' || p.b[p.i] >= 'A' && p.b[p.i] <= 'Z') {
			p.i++
		}
		return p.i > start
	}
}
