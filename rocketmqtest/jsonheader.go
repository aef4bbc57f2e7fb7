package rocketmqtest

import "github.com/mqttrmq/mqttrmq/internal/jsonwire"

// A fast reader for the JSON command header, the form every
// rocketmq-client-go request uses, on internal/jsonwire's Scanner. encoding/json spends most of the
// server's time on it otherwise. It handles the headers clients write; on
// anything unusual (a duplicate key, a key in another case, null where a
// number belongs, invalid UTF-8, a nested value it would have to skip) it
// gives up and request.decodeJSON falls back to encoding/json, so the result
// is always what encoding/json would produce. FuzzJSONHeader checks that.

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
	s := jsonwire.NewScanner(b)
	if !s.Consume('{') {
		return false
	}
	seen := 0
	if s.Consume('}') {
		return s.End()
	}
	for {
		raw, ok := s.RawString()
		if !ok || !s.Consume(':') {
			return false
		}
		bit := 0
		switch raw {
		case "code":
			bit = seenCode
			v, ok := s.Integer(16)
			if !ok {
				return false
			}
			r.code = RequestCode(v)
		case "version":
			bit = seenVersion
			v, ok := s.Integer(16)
			if !ok {
				return false
			}
			r.version = int16(v)
		case "opaque":
			bit = seenOpaque
			v, ok := s.Integer(32)
			if !ok {
				return false
			}
			r.opaque = int32(v)
		case "flag":
			bit = seenFlag
			v, ok := s.Integer(32)
			if !ok {
				return false
			}
			r.flag = int32(v)
		case "remark":
			bit = seenRemark
			v, ok := s.Str()
			if !ok {
				return false
			}
			r.remark = v
		case "extFields":
			bit = seenExt
			if !readExtFields(s, r) {
				return false
			}
		default:
			if isHeaderFieldFold(raw) || !s.SkipScalar() {
				return false
			}
		}
		if seen&bit != 0 {
			return false // encoding/json's handling of repeats is subtle
		}
		seen |= bit
		if s.Consume(',') {
			continue
		}
		if s.Consume('}') {
			return s.End()
		}
		return false
	}
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

// readExtFields reads the object of string fields.
func readExtFields(s *jsonwire.Scanner, r *request) bool {
	if !s.Consume('{') {
		return false
	}
	if r.ext == nil {
		r.ext = make(extFields, 0, 16)
	}
	if s.Consume('}') {
		return true
	}
	var sigs uint64 // keySig bits of the keys so far: most keys need no lookup
	for {
		key, ok := s.RawString()
		if !ok {
			return false
		}
		if !s.Consume(':') {
			return false
		}
		v, ok := s.Str()
		if !ok {
			return false
		}
		if sig := keySig(key); sigs&sig == 0 {
			sigs |= sig
		} else if _, dup := r.ext.lookup(key); dup {
			return false
		}
		r.ext = append(r.ext, field{key, v})
		if s.Consume(',') {
			continue
		}
		return s.Consume('}')
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
