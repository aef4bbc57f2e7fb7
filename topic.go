package mqttrmq

import (
	"strings"
	"unicode/utf8"
)

// maxTopicLen is the longest MQTT topic name or filter: its length travels
// as a two-byte integer [MQTT-1.5.3].
const maxTopicLen = 65535

// SplitTopic maps an MQTT topic name onto RocketMQ: parent is the first level,
// which is the RocketMQ topic, and second is everything after it including the
// leading '/', which travels as the mqttSecondTopic property. A one-level topic
// has second == "". The split is lossless: empty levels and a trailing '/' stay
// in second, and JoinTopic(parent, second) gives topic back.
//
// SplitTopic refuses, with an error wrapping ErrInvalidTopic, what
// ValidateTopicName refuses, and a first level that is not a valid parent
// topic (see ValidateParentTopic), including an empty one ("/a/b").
// It does not allocate unless it returns an error.
func SplitTopic(topic string) (parent, second string, err error) {
	parent, second, f := splitTopic(topic)
	if !f.ok() {
		return "", "", f.err("SplitTopic", topic, ErrInvalidTopic)
	}
	return parent, second, nil
}

func splitTopic(topic string) (parent, second string, f finding) {
	if f = checkName(topic); !f.ok() {
		return "", "", f
	}
	parent, second = topic, ""
	if i := strings.IndexByte(topic, '/'); i >= 0 {
		parent, second = topic[:i], topic[i:]
	}
	if f = checkParent(parent); !f.ok() {
		return "", "", f
	}
	return parent, second, fine
}

// JoinTopic is the inverse of SplitTopic: it rebuilds the MQTT topic name from
// a RocketMQ topic and an mqttSecondTopic value by plain concatenation.
//
// JoinTopic refuses, with an error wrapping ErrInvalidTopic, a parent that
// ValidateParentTopic refuses, a non-empty second that does not start with
// '/', and a result that ValidateTopicName refuses.
func JoinTopic(parent, second string) (string, error) {
	if f := checkParent(parent); !f.ok() {
		return "", f.err("JoinTopic", parent, ErrInvalidTopic)
	}
	if f := checkSecond(second); !f.ok() {
		return "", f.err("JoinTopic", second, ErrInvalidTopic)
	}
	topic := parent + second
	if f := checkName(topic); !f.ok() {
		return "", f.err("JoinTopic", topic, ErrInvalidTopic)
	}
	return topic, nil
}

// checkSecond checks an mqttSecondTopic value on its own: absent (empty) or
// starting with '/' (SPEC §2). The characters are checked with the whole topic.
func checkSecond(second string) finding {
	if second != "" && second[0] != '/' {
		return finding{probSecondNoSlash, 0}
	}
	return fine
}

// ValidateTopicName reports whether topic may be published to. It refuses,
// with an error wrapping ErrInvalidTopic:
//   - an empty topic [MQTT-4.7.3-1] or one longer than 65535 bytes [MQTT-1.5.3];
//   - invalid UTF-8, including encoded surrogates [MQTT-1.5.3-1];
//   - U+0000 [MQTT-1.5.3-2];
//   - control characters U+0001–U+001F and U+007F–U+009F, which MQTT only
//     discourages but which would inject or corrupt RocketMQ properties;
//   - the wildcards '+' and '#' [MQTT-3.3.2-2].
//
// Unicode noncharacters are accepted, as MQTT allows them.
func ValidateTopicName(topic string) error {
	if f := checkName(topic); !f.ok() {
		return f.err("ValidateTopicName", topic, ErrInvalidTopic)
	}
	return nil
}

// ValidateTopicFilter reports whether filter may be subscribed to. It refuses,
// with an error wrapping ErrInvalidFilter, the character faults that
// ValidateTopicName refuses (control characters included), and:
//   - '+' that does not fill a whole level [MQTT-4.7.1-3];
//   - '#' that is not the whole last level [MQTT-4.7.1-2];
//   - a shared subscription $share/{name}/{filter} whose name is empty or holds
//     a wildcard, or whose filter is missing [MQTT-4.8.2-1], [MQTT-4.8.2-2].
func ValidateTopicFilter(filter string) error {
	if _, f := checkFilter(filter); !f.ok() {
		return f.err("ValidateTopicFilter", filter, ErrInvalidFilter)
	}
	return nil
}

// sharePrefix starts a shared subscription [MQTT-4.8.2].
const sharePrefix = "$share/"

// checkFilter validates a filter, shared or not, and returns the filter
// that does the matching: the inner filter of a shared subscription, else
// filter itself.
func checkFilter(filter string) (inner string, f finding) {
	if len(filter) > maxTopicLen {
		return "", finding{probTooLong, maxTopicLen}
	}
	inner, start, f := unshare(filter)
	if !f.ok() {
		return "", f
	}
	if f = scan(inner, scanFilter); !f.ok() {
		if f.at >= 0 {
			f.at += start
		}
		return "", f
	}
	return inner, fine
}

// unshare returns the filter inside a shared subscription and where it starts
// in filter; a filter that is not shared is returned whole.
func unshare(filter string) (inner string, start int, f finding) {
	if !strings.HasPrefix(filter, sharePrefix) {
		return filter, 0, fine
	}
	rest := filter[len(sharePrefix):]
	slash := strings.IndexByte(rest, '/')
	name := rest
	if slash >= 0 {
		name = rest[:slash]
	}
	if name == "" {
		return "", 0, finding{probEmptyShareName, len(sharePrefix)}
	}
	if i := strings.IndexAny(name, "+#"); i >= 0 {
		return "", 0, finding{probWildcardInShareName, len(sharePrefix) + i}
	}
	if f := scan(name, scanText); !f.ok() {
		f.at += len(sharePrefix)
		return "", 0, f
	}
	if slash < 0 || slash == len(rest)-1 {
		return "", 0, finding{probNoSharedFilter, len(filter)}
	}
	start = len(sharePrefix) + slash + 1
	return filter[start:], start, fine
}

// checkName validates a topic name.
func checkName(topic string) finding {
	if len(topic) > maxTopicLen {
		return finding{probTooLong, maxTopicLen}
	}
	return scan(topic, scanName)
}

// scanMode says what scan checks beyond the characters themselves.
type scanMode uint8

const (
	scanText   scanMode = iota // any characters but controls: client IDs, share names
	scanName                   // a topic name: no wildcard at all
	scanFilter                 // a topic filter: wildcards only where MQTT allows them
)

// scan walks s once, byte by byte, and reports the first character fault and,
// by mode, the first wildcard a topic name may not hold or the first
// misplaced wildcard of a filter.
func scan(s string, mode scanMode) finding {
	if s == "" {
		return finding{probEmpty, -1} // [MQTT-4.7.3-1]
	}
	levelStart := 0
	for i := 0; i < len(s); {
		// Most bytes are printable ASCII that needs no attention: skip them
		// in a tight loop.
		for i < len(s) && plainByte[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == 0:
				return finding{probNUL, i} // [MQTT-1.5.3-2]
			case c < 0x20 || c == 0x7f:
				return finding{probControl, i} // SPEC §2: would corrupt RocketMQ properties
			case c == '/':
				levelStart = i + 1
			case mode == scanText:
			case c == '+':
				if mode == scanName {
					return finding{probWildcardInName, i} // [MQTT-3.3.2-2]
				}
				if i != levelStart || (i+1 < len(s) && s[i+1] != '/') {
					return finding{probPlusNotWholeLevel, i} // [MQTT-4.7.1-3]
				}
			case c == '#':
				if mode == scanName {
					return finding{probWildcardInName, i} // [MQTT-3.3.2-2]
				}
				if i != levelStart {
					return finding{probHashNotWholeLevel, i} // [MQTT-4.7.1-2]
				}
				if i != len(s)-1 {
					return finding{probHashNotLast, i} // [MQTT-4.7.1-2]
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return finding{probBadUTF8, i} // [MQTT-1.5.3-1]; surrogates decode as errors too
		}
		if r <= 0x9f {
			return finding{probControl, i} // C1 controls U+0080–U+009F
		}
		i += size
	}
	return fine
}

// plainByte marks the bytes scan may pass over without a second look:
// printable ASCII but '/', '+' and '#'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '/' && c != '+' && c != '#'
	}
	return t
}()

// ValidateParentTopic reports whether parent may be the RocketMQ topic that
// carries an MQTT topic's first level. It refuses, with an error wrapping
// ErrInvalidTopic:
//   - an empty name, or one longer than 127 characters;
//   - any character outside [a-zA-Z0-9_-] (RocketMQ itself also allows '%'
//     and '|', but they separate namespaces and tags, so a parent never holds them);
//   - RocketMQ's system topics: TBW102, SCHEDULE_TOPIC_XXXX, BenchmarkTest,
//     RMQ_SYS_TRANS_HALF_TOPIC, RMQ_SYS_TRACE_TOPIC, RMQ_SYS_TRANS_OP_HALF_TOPIC,
//     TRANS_CHECK_MAX_TIME_TOPIC, SELF_TEST_TOPIC, OFFSET_MOVED_EVENT,
//     CHECKPOINT_TOPIC and any name starting with rmq_sys_.
func ValidateParentTopic(parent string) error {
	if f := checkParent(parent); !f.ok() {
		return f.err("ValidateParentTopic", parent, ErrInvalidTopic)
	}
	return nil
}

// maxParentLen is RocketMQ's limit on a topic name (TopicValidator).
const maxParentLen = 127

func checkParent(parent string) finding {
	if parent == "" {
		return finding{probEmptyParent, 0}
	}
	if len(parent) > maxParentLen {
		return finding{probParentTooLong, maxParentLen}
	}
	if i := indexNotIDByte(parent); i >= 0 {
		return finding{probParentChar, i}
	}
	if isSystemTopic(parent) {
		return finding{probSystemTopic, -1}
	}
	return fine
}

// idByte marks [a-zA-Z0-9_-]: the characters of a parent topic, a group ID
// and a device ID.
var idByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
	}
	return t
}()

// indexNotIDByte returns the index of the first byte of s outside
// [a-zA-Z0-9_-], or -1.
func indexNotIDByte(s string) int {
	for i := 0; i < len(s); i++ {
		if !idByte[s[i]] {
			return i
		}
	}
	return -1
}

// isSystemTopic lists RocketMQ's TopicValidator system topics. %RETRY% and
// %DLQ% topics cannot reach here: '%' is not a parent character.
func isSystemTopic(t string) bool {
	switch t {
	case "TBW102", "SCHEDULE_TOPIC_XXXX", "BenchmarkTest",
		"RMQ_SYS_TRANS_HALF_TOPIC", "RMQ_SYS_TRACE_TOPIC", "RMQ_SYS_TRANS_OP_HALF_TOPIC",
		"TRANS_CHECK_MAX_TIME_TOPIC", "SELF_TEST_TOPIC", "OFFSET_MOVED_EVENT", "CHECKPOINT_TOPIC":
		return true
	}
	return strings.HasPrefix(t, "rmq_sys_")
}

// MatchTopic reports whether the MQTT topic filter matches the topic name,
// following MQTT 3.1.1 §4.7: '+' matches exactly one level, empty levels
// included; '#' matches its parent level and everything below it ("a/#"
// matches "a"); a filter whose first character is a wildcard matches no topic
// starting with '$' [MQTT-4.7.2-1]; a shared filter $share/{name}/{filter}
// matches what its inner filter matches.
//
// It returns false when filter is not a valid filter or topic not a valid
// topic name (see ValidateTopicFilter and ValidateTopicName). Matching is pure
// MQTT: keeping P2P topics private is the gateway's job. It does not allocate.
func MatchTopic(filter, topic string) bool {
	if !checkName(topic).ok() {
		return false
	}
	inner, f := checkFilter(filter)
	if !f.ok() {
		return false
	}
	return match(inner, topic)
}

// match walks a valid filter and a valid topic name level by level without
// splitting either.
func match(filter, topic string) bool {
	if topic[0] == '$' && (filter[0] == '+' || filter[0] == '#') {
		return false // [MQTT-4.7.2-1]
	}
	fi, ti := 0, 0
	for {
		// Both fi and ti sit at the start of a level.
		if fi < len(filter) && filter[fi] == '#' {
			return true // '#' is the whole last level: it takes the rest
		}
		if fi < len(filter) && filter[fi] == '+' {
			fi++
			for ti < len(topic) && topic[ti] != '/' {
				ti++
			}
		} else {
			for fi < len(filter) && filter[fi] != '/' {
				if ti >= len(topic) || topic[ti] != filter[fi] {
					return false
				}
				fi++
				ti++
			}
			if ti < len(topic) && topic[ti] != '/' {
				return false // the topic's level is longer
			}
		}
		// Both are now at a '/' or at their end.
		switch {
		case fi == len(filter) && ti == len(topic):
			return true
		case ti == len(topic):
			// "a/#" matches "a" [MQTT-4.7.1-2]; anything else left in the
			// filter needs a level the topic does not have.
			return filter[fi:] == "/#"
		case fi == len(filter):
			return false
		}
		fi++
		ti++
	}
}
