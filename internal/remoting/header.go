package remoting

import (
	"encoding/json"
	"fmt"

	"github.com/mqttrmq/mqttrmq/internal/jsonwire"
)

// parseHeader reads a command's JSON header into cmd: code, language,
// version, opaque, flag, remark and the ext fields. What the broker's
// JSON writer writes is read by hand (fastHeader); anything fastHeader is
// not sure to read as encoding/json would is read by encoding/json, whose
// reflection, on the send path, cost more than the rest of reading an
// answer.
func parseHeader(b []byte, cmd *Command) error {
	if fastHeader(b, cmd) {
		return nil
	}
	*cmd = Command{}
	if err := json.Unmarshal(b, cmd); err != nil {
		return fmt.Errorf("remoting: header: %w", err)
	}
	return nil
}

// fastHeader reads the header as the broker writes it: an object of the
// command's members (each once, named in their case), scalars in any
// other member, ext fields that are all strings. It reports false for
// anything else, cmd then half filled.
func fastHeader(b []byte, cmd *Command) bool {
	s := jsonwire.NewScanner(b)
	if !s.Consume('{') {
		return false
	}
	if s.Consume('}') {
		return s.End()
	}
	var seen uint // the bits of the members read, by memberBit
	for {
		key, ok := s.RawString()
		if !ok || !s.Consume(':') {
			return false
		}
		bit := memberBit(key)
		if seen&bit != 0 {
			return false // encoding/json's handling of repeats is its own
		}
		seen |= bit
		switch key {
		case "code", "version", "flag":
			v, ok := s.Integer(64)
			if !ok {
				return false
			}
			switch key {
			case "code":
				cmd.Code = int(v)
			case "version":
				cmd.Version = int(v)
			default:
				cmd.Flag = int(v)
			}
		case "opaque":
			v, ok := s.Integer(32)
			if !ok {
				return false
			}
			cmd.Opaque = int32(v)
		case "language":
			if cmd.Language, ok = s.Str(); !ok {
				return false
			}
		case "remark":
			if cmd.Remark, ok = s.Str(); !ok {
				return false
			}
		case "extFields":
			if !readExtFields(s, cmd) {
				return false
			}
		default:
			if isCommandMemberFold(key) || !s.SkipScalar() {
				return false
			}
		}
		if s.Consume(',') {
			continue
		}
		return s.Consume('}') && s.End()
	}
}

// readExtFields reads an object of strings into cmd.ExtFields, a map of
// its own or, if cmd has one, that map, which decodeFrameInto emptied.
func readExtFields(s *jsonwire.Scanner, cmd *Command) bool {
	if !s.Consume('{') {
		return false
	}
	if cmd.ExtFields == nil {
		cmd.ExtFields = map[string]string{}
	}
	if s.Consume('}') {
		return true
	}
	for {
		k, ok := s.Str()
		if !ok || !s.Consume(':') {
			return false
		}
		if _, dup := cmd.ExtFields[k]; dup {
			return false
		}
		if cmd.ExtFields[k], ok = s.Str(); !ok {
			return false
		}
		if s.Consume(',') {
			continue
		}
		return s.Consume('}')
	}
}

// members are Command's JSON members.
var members = [...]string{"code", "language", "version", "opaque", "flag", "remark", "extFields"}

// memberBit is a bit of its own for each of members, 0 for other keys.
func memberBit(key string) uint {
	for i, m := range members {
		if key == m {
			return 1 << i
		}
	}
	return 0
}

// isCommandMemberFold reports whether key names one of Command's members
// in another case, which encoding/json would take for it.
func isCommandMemberFold(key string) bool {
	for _, m := range members {
		if len(key) == len(m) && equalFoldASCII(key, m) {
			return true
		}
	}
	return false
}

func equalFoldASCII(a, b string) bool {
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
