package mqttrmq

import "strings"

// Apache RocketMQ-MQTT stores the messages of every MQTT topic, and of every
// wildcard filter, in a Light Message Queue (LMQ) of the RocketMQ broker. A
// message lists the queues it goes to in INNER_MULTI_DISPATCH, and the broker
// indexes it once per queue. A queue's name is "%LMQ%" followed by the topic
// or filter with every '/' written '%' and, when it has more than one level, a
// trailing '%' (RocketMQ-MQTT's TopicUtils.normalizeTopic appends a '/').

// LMQPrefix starts the name of every Light Message Queue (RocketMQ's
// MixAll.LMQ_PREFIX).
const LMQPrefix = "%LMQ%"

// dispatchSeparator separates the queue names of INNER_MULTI_DISPATCH
// (RocketMQ's MixAll.MULTI_DISPATCH_QUEUE_SPLITTER).
const dispatchSeparator = ','

// maxLMQLen bounds a queue name: the broker keeps each queue's index in a
// directory of that name, and file systems take at most 255 bytes.
const maxLMQLen = 255

// p2pQueuePrefix starts the queue a client reads its P2P messages from:
// RocketMQ-MQTT's TopicUtils.getP2pTopic gives "/p2p/{clientID}/".
const p2pQueuePrefix = LMQPrefix + "%p2p%"

// LMQQueue returns the name of the Light Message Queue Apache RocketMQ-MQTT
// keeps for an MQTT topic name or topic filter: "a" → "%LMQ%a",
// "a/b/c" → "%LMQ%a%b%c%", "a/+" → "%LMQ%a%+%".
//
// The encoding is not one-to-one on everything MQTT allows, so LMQQueue
// refuses, rather than name a queue two inputs would share:
//   - a trailing '/' ("a/b/" would share the queue of "a/b");
//   - an empty first level ("/p2p/x" would share the P2P queue of client x);
//   - '%', which stands for '/' in a name, and ',', which separates names;
//   - a level named LMQ after the first, which RocketMQ-MQTT's reader deletes;
//   - a name longer than 255 bytes, which the broker cannot store;
//   - a shared subscription $share/{name}/{filter}, whose queue is its inner
//     filter's: pass the inner filter.
//
// It refuses these, and what ValidateTopicName (for an input without
// wildcards) or ValidateTopicFilter (for one with '+' or '#') refuses, with
// an error wrapping ErrInvalidTopic or ErrInvalidFilter. For every input it
// accepts, ParseLMQQueue(LMQQueue(x)) == x.
func LMQQueue(topicOrFilter string) (string, error) {
	sentinel, f := checkLMQ(topicOrFilter)
	if !f.ok() {
		return "", f.err("LMQQueue", topicOrFilter, sentinel)
	}
	return lmqName(topicOrFilter), nil
}

// lmqName builds the queue name of a checked topic or filter with one
// allocation.
func lmqName(s string) string {
	var b strings.Builder
	b.Grow(lmqLen(s))
	writeLMQ(&b, s)
	return b.String()
}

// writeLMQ writes the queue name of a checked topic or filter to b.
func writeLMQ(b *strings.Builder, s string) {
	b.WriteString(LMQPrefix)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '/' {
			b.WriteByte('%')
		} else {
			b.WriteByte(c)
		}
	}
	if strings.IndexByte(s, '/') >= 0 {
		b.WriteByte('%')
	}
}

// appendLMQ appends the queue name of a checked topic or filter.
func appendLMQ(dst []byte, s string) []byte {
	dst = append(dst, LMQPrefix...)
	multi := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '/' {
			dst = append(dst, '%')
			multi = true
		} else {
			dst = append(dst, c)
		}
	}
	if multi {
		dst = append(dst, '%')
	}
	return dst
}

// lmqLen is the length of the queue name of s.
func lmqLen(s string) int {
	n := len(LMQPrefix) + len(s)
	if strings.IndexByte(s, '/') >= 0 {
		n++
	}
	return n
}

// checkLMQ checks a topic name or filter for LMQQueue, and says which
// sentinel its refusal wraps.
func checkLMQ(s string) (sentinel error, f finding) {
	if strings.HasPrefix(s, sharePrefix) {
		return ErrInvalidFilter, finding{probLMQShared, 0}
	}
	if strings.ContainsAny(s, "+#") {
		_, f = checkFilter(s)
		sentinel = ErrInvalidFilter
	} else {
		sentinel, f = ErrInvalidTopic, checkName(s)
	}
	if !f.ok() {
		return sentinel, f
	}
	return sentinel, checkLMQChars(s)
}

// checkLMQChars finds what makes the queue name of a valid, unshared topic
// name or filter collide with another's.
func checkLMQChars(s string) finding {
	if s[0] == '/' {
		return finding{probLMQLeadingSlash, 0}
	}
	if s[len(s)-1] == '/' {
		return finding{probLMQTrailingSlash, len(s) - 1}
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%':
			return finding{probLMQPercent, i}
		case dispatchSeparator:
			return finding{probLMQComma, i}
		case '/':
			// RocketMQ-MQTT reads a queue name with
			// name.replace("%LMQ%", ""), which deletes a later level
			// named LMQ along with its '%' signs.
			if rest := s[i+1:]; strings.HasPrefix(rest, "LMQ") && (len(rest) == 3 || rest[3] == '/') {
				return finding{probLMQLevel, i + 1}
			}
		}
	}
	if lmqLen(s) > maxLMQLen {
		return finding{probLMQTooLong, -1}
	}
	return fine
}

// ParseLMQQueue is the inverse of LMQQueue: it returns the topic name or
// filter whose Light Message Queue is name ("%LMQ%a%b%" → "a/b").
//
// It refuses, with an error wrapping ErrInvalidTopic, a name without the
// %LMQ% prefix, a name LMQQueue does not produce for any input (such as
// "%LMQ%a%", whose one level would have no trailing '%'), and the P2P queue of
// a client ("%LMQ%%p2p%{clientID}%"), which names no topic. A '/' in name is
// refused too: the broker does not dispatch to such a queue.
func ParseLMQQueue(name string) (string, error) {
	s, f := parseLMQ(name)
	if !f.ok() {
		return "", f.err(opParseLMQQueue, name, ErrInvalidTopic)
	}
	return s, nil
}

// opParseLMQQueue names ParseLMQQueue in its errors, whose input is a queue
// name rather than a topic.
const opParseLMQQueue = "ParseLMQQueue"

func parseLMQ(name string) (string, finding) {
	rest, ok := strings.CutPrefix(name, LMQPrefix)
	if !ok {
		return "", finding{probLMQPrefix, 0}
	}
	if strings.HasPrefix(name, p2pQueuePrefix) {
		return "", finding{probLMQP2P, len(LMQPrefix)}
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		// ConsumeQueue.multiDispatchLmqQueue skips such a name.
		return "", finding{probLMQSlash, len(LMQPrefix) + i}
	}
	if strings.IndexByte(rest, '%') >= 0 {
		// More than one level: the name ends with the '%' that
		// normalizeTopic's trailing '/' became.
		inner, ok := strings.CutSuffix(rest, "%")
		if !ok || strings.IndexByte(inner, '%') < 0 {
			return "", finding{probLMQNotCanonical, -1}
		}
		rest = strings.ReplaceAll(inner, "%", "/")
	}
	if _, f := checkLMQ(rest); !f.ok() {
		if f.at >= 0 {
			f.at += len(LMQPrefix)
		}
		return "", f
	}
	return rest, fine
}

// checkP2PQueue checks that the P2P queue of clientID, a valid topic level,
// names that client alone.
func checkP2PQueue(clientID string) finding {
	if clientID == "LMQ" {
		// %LMQ%%p2p%LMQ% holds %LMQ% twice: RocketMQ-MQTT's reader
		// would delete both.
		return finding{probLMQLevel, 0}
	}
	if i := strings.IndexAny(clientID, "%,"); i >= 0 {
		if clientID[i] == '%' {
			return finding{probLMQPercent, i}
		}
		return finding{probLMQComma, i}
	}
	if len(p2pQueuePrefix)+len(clientID)+1 > maxLMQLen {
		return finding{probLMQTooLong, -1}
	}
	return fine
}

// parseP2PQueue returns the client whose P2P queue is name,
// %LMQ%%p2p%{clientID}%: ok is false for any other name, and for the name of
// a client ID that appendP2PQueue would not write.
func parseP2PQueue(name string) (clientID string, ok bool) {
	id, ok := strings.CutPrefix(name, p2pQueuePrefix)
	if !ok {
		return "", false
	}
	id, ok = strings.CutSuffix(id, "%")
	if !ok || !checkLevel(id).ok() || !checkP2PQueue(id).ok() {
		return "", false
	}
	return id, true
}

// cutQueue returns the first queue name of an INNER_MULTI_DISPATCH list and
// the rest of the list after its separator.
func cutQueue(list string) (name, rest string) {
	if i := strings.IndexByte(list, dispatchSeparator); i >= 0 {
		return list[:i], list[i+1:]
	}
	return list, ""
}

// appendP2PQueue appends the queue a client reads its P2P messages from.
func appendP2PQueue(dst []byte, clientID string) []byte {
	dst = append(dst, p2pQueuePrefix...)
	dst = append(dst, clientID...)
	return append(dst, '%')
}

// isWildcardQueue reports whether a queue is a filter's, as RocketMQ-MQTT's
// TopicUtils.isWildCard decides it: by a '+' or '#' anywhere in the name.
func isWildcardQueue(name string) bool {
	return strings.ContainsAny(name, "+#")
}
