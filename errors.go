package mqttrmq

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The sentinels every refusal unwraps to. Test with errors.Is:
//
//	if errors.Is(err, mqttrmq.ErrInvalidTopic) { ... }
var (
	// ErrInvalidTopic: an MQTT topic name, a parent (RocketMQ) topic or a
	// subtopic breaks a rule of MQTT, of RocketMQ, or of the mapping.
	ErrInvalidTopic = errors.New("invalid topic")
	// ErrInvalidFilter: an MQTT topic filter breaks a rule of MQTT.
	ErrInvalidFilter = errors.New("invalid topic filter")
	// ErrInvalidProperty: a RocketMQ message property holds a value the
	// mapping cannot read, or a value to write would corrupt RocketMQ's
	// property encoding.
	ErrInvalidProperty = errors.New("invalid property")
	// ErrInvalidClientID: a client ID is not of the GroupID@@@DeviceID form,
	// or cannot stand as one level of a P2P topic.
	ErrInvalidClientID = errors.New("invalid client ID")
	// ErrInvalidCredentials: a credential part would make an ambiguous
	// username or password (it contains the | separator, or is empty).
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrInvalidDialect: a name that is not a dialect's (see ParseDialect).
	ErrInvalidDialect = errors.New("invalid dialect")
	// ErrInvalidPresence: a presence event (client status notification)
	// that is not of the hosted service's shape.
	ErrInvalidPresence = errors.New("invalid presence event")
	// ErrTokenAPI: a token service request that cannot be made, or an
	// answer that refuses it or cannot be read (see TokenAPIError).
	ErrTokenAPI = errors.New("token service")
)

// Error is the one error type the package returns. It names the operation,
// the refused input and what was wrong with it, and unwraps to one of the
// sentinels above.
type Error struct {
	Op     string // the exported function that refused the input, e.g. "SplitTopic"
	Input  string // the refused input, whole
	Offset int    // byte offset in Input of the first offending byte, or -1
	Reason string // what is wrong, e.g. "wildcard '+' in a topic name"
	Err    error  // the sentinel: ErrInvalidTopic, ErrInvalidFilter, ...
}

// maxQuoted bounds how much of a (possibly 64 KB) input an error message quotes.
const maxQuoted = 80

// Error describes the refusal on one line: the operation, the input (at most
// its first 80 bytes, quoted, so that a 64 KB topic cannot flood a log), the
// sentinel, the reason, and where the offending byte is. A long input is cut
// before the character that would cross the 80th byte, never inside it, so
// that the quote shows whole characters only.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("mqttrmq: ")
	b.WriteString(e.Op)
	b.WriteByte(' ')
	in := e.Input
	if len(in) > maxQuoted {
		b.WriteString(strconv.Quote(in[:quoteCut(in)]))
		b.WriteString("... (")
		b.WriteString(strconv.Itoa(len(in)))
		b.WriteString(" bytes)")
	} else {
		b.WriteString(strconv.Quote(in))
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	if e.Offset >= 0 {
		b.WriteString(" at byte ")
		b.WriteString(strconv.Itoa(e.Offset))
		// A topic's or filter's level helps find the byte; a queue name
		// (ParseLMQQueue's input) has no '/' levels to count.
		if (e.Err == ErrInvalidTopic || e.Err == ErrInvalidFilter) && e.Op != opParseLMQQueue {
			b.WriteString(" (level ")
			b.WriteString(strconv.Itoa(levelAt(e.Input, e.Offset)))
			b.WriteByte(')')
		}
	}
	return b.String()
}

// quoteCut returns where Error cuts a long input: at the start of the
// character that holds byte maxQuoted, so that no character is cut in half.
// A UTF-8 character is at most 4 bytes long; past 3 continuation bytes the
// input is not UTF-8 there, and is cut at maxQuoted.
func quoteCut(in string) int {
	for cut := maxQuoted; cut > maxQuoted-utf8.UTFMax; cut-- {
		if utf8.RuneStart(in[cut]) {
			return cut
		}
	}
	return maxQuoted
}

// Unwrap returns the sentinel, so that errors.Is(err, ErrInvalidTopic) works.
func (e *Error) Unwrap() error { return e.Err }

// levelAt returns the 1-based topic level that holds byte off of s.
func levelAt(s string, off int) int {
	if off > len(s) {
		off = len(s)
	}
	return strings.Count(s[:off], "/") + 1
}

// problem is one reason an input is refused. The validating workers return a
// finding instead of an error so that hot paths such as MatchTopic can refuse
// input without allocating; only the exported wrappers build an *Error.
type problem uint8

const (
	noProblem problem = iota
	probEmpty
	probTooLong
	probBadUTF8
	probNUL
	probControl
	probWildcardInName
	probPlusNotWholeLevel
	probHashNotWholeLevel
	probHashNotLast
	probEmptyShareName
	probWildcardInShareName
	probNoSharedFilter
	probEmptyParent
	probParentChar
	probParentTooLong
	probSystemTopic
	probSecondNoSlash
	probLevelEmpty
	probLevelSlash
	probLevelWildcard
	probNoP2PTopic
	probLMQShared
	probLMQLeadingSlash
	probLMQTrailingSlash
	probLMQPercent
	probLMQComma
	probLMQLevel
	probLMQTooLong
	probLMQPrefix
	probLMQNotCanonical
	probLMQP2P
	probLMQSlash
	probFirstLevel
	probNamespaceEmpty
	probNamespaceChar
	probNamespacedTooLong
)

var problemText = [...]string{
	noProblem:               "",
	probEmpty:               "empty",
	probTooLong:             "longer than 65535 bytes",
	probBadUTF8:             "not valid UTF-8",
	probNUL:                 "U+0000",
	probControl:             "control character",
	probWildcardInName:      "wildcard in a topic name",
	probPlusNotWholeLevel:   "'+' does not fill its whole level",
	probHashNotWholeLevel:   "'#' does not fill its whole level",
	probHashNotLast:         "'#' is not the last level",
	probEmptyShareName:      "empty share name in $share/{name}/{filter}",
	probWildcardInShareName: "wildcard in the share name of $share/{name}/{filter}",
	probNoSharedFilter:      "no filter after $share/{name}/",
	probEmptyParent:         "empty first level: no parent topic",
	probParentChar:          "parent topic may hold only [a-zA-Z0-9_-]",
	probParentTooLong:       "parent topic longer than 127 characters",
	probSystemTopic:         "RocketMQ system topic",
	probSecondNoSlash:       "subtopic does not start with '/'",
	probLevelEmpty:          "empty topic level",
	probLevelSlash:          "'/' inside one topic level",
	probLevelWildcard:       "wildcard inside a topic level",
	probNoP2PTopic:          "not of the form {parent}/p2p/{clientID}",
	probLMQShared:           "a $share/{name}/{filter} subscription reads the queue of its inner filter",
	probLMQLeadingSlash:     "empty first level: its queue would be a P2P queue's or a namesake's",
	probLMQTrailingSlash:    "trailing '/': RocketMQ-MQTT gives a/b and a/b/ the same queue",
	probLMQPercent:          "'%' in a queue name stands for '/'",
	probLMQComma:            "',' separates the queues of INNER_MULTI_DISPATCH",
	probLMQLevel:            "a level named LMQ after the first: RocketMQ-MQTT deletes every %LMQ% from a queue name it reads",
	probLMQTooLong:          "queue name longer than 255 bytes, the broker's limit on a file name",
	probLMQPrefix:           "not a Light Message Queue: no %LMQ% prefix",
	probLMQNotCanonical:     "not the queue name of any topic: a one-level topic's has no trailing '%', a longer one's has one",
	probLMQP2P:              "the P2P queue of a client, not the queue of a topic",
	probLMQSlash:            "'/' in a queue name, which the broker does not dispatch to",
	probFirstLevel:          "first level is not the first-level topic",
	probNamespaceEmpty:      "empty namespace before '%'",
	probNamespaceChar:       "namespace may hold only [a-zA-Z0-9_-]",
	probNamespacedTooLong:   "namespace and topic longer than 127 characters, RocketMQ's limit on a name",
}

// finding is what a validating worker reports: a problem and the byte
// offset it was found at (-1 when it concerns the input as a whole).
type finding struct {
	p  problem
	at int
}

var fine = finding{noProblem, -1}

func (f finding) ok() bool { return f.p == noProblem }

// err builds the exported error for a finding. It names the offending
// character where there is one.
func (f finding) err(op, input string, sentinel error) error {
	reason := problemText[f.p]
	if f.at >= 0 && f.at < len(input) && (f.p == probControl || f.p == probNUL || f.p == probParentChar || f.p == probNamespaceChar) {
		r, _ := utf8.DecodeRuneInString(input[f.at:])
		reason += " " + quoteRune(r)
	}
	return &Error{Op: op, Input: input, Offset: f.at, Reason: reason, Err: sentinel}
}

// errKey builds the error for a property value the mapping cannot read or
// will not write; the reason names the property.
func (f finding) errKey(op, key, value string) error {
	e := f.err(op, value, ErrInvalidProperty).(*Error)
	e.Reason = key + ": " + e.Reason
	return e
}

// quoteRune names a character the Unicode way, U+0001, so that an invisible
// one shows in a log.
func quoteRune(r rune) string {
	return fmt.Sprintf("U+%04X", r)
}

// newError builds an *Error for refusals that are not about one byte.
func newError(op, input, reason string, sentinel error) error {
	return &Error{Op: op, Input: input, Offset: -1, Reason: reason, Err: sentinel}
}
