package rocketmqtest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Light Message Queues (LMQ), as a broker with enableLmq and
// enableMultiDispatch keeps them. A message whose INNER_MULTI_DISPATCH
// property lists queues "%LMQ%…" (comma-separated) is stored in its topic
// as usual and, once stored, indexed in each listed queue too: the queue
// is a topic of its own with one queue (0) whose entries point at the
// message where its topic stored it. The broker writes the message's
// offset in each listed queue into INNER_MULTI_QUEUE_OFFSET, in the same
// order (LmqDispatch.wrapLmqDispatch), then indexes it
// (ConsumeQueue.multiDispatchLmqQueue). A Light Message Queue exists as
// soon as something names it: every pull, offset and consumer-offset
// request treats an "%LMQ%…" topic as a topic with one readable and
// writable queue (LmqTopicConfigManager), the name server routes none.

// Names and properties of Light Message Queues (Java's MixAll and
// MessageConst).
const (
	lmqPrefix              = "%LMQ%"
	lmqSeparator           = ","
	propMultiDispatch      = "INNER_MULTI_DISPATCH"
	propMultiQueueOffset   = "INNER_MULTI_QUEUE_OFFSET"
	propTimerDeliverMillis = "TIMER_DELIVER_MS"
	propTimerDelaySeconds  = "TIMER_DELAY_SEC"

	// maxLMQNameBytes is the longest queue name the broker can keep:
	// it indexes each queue in a directory of that name.
	maxLMQNameBytes = 255
)

// isLMQ is MixAll.isLmq: the name of a Light Message Queue, as a topic
// or as a consumer group.
func isLMQ(name string) bool { return strings.HasPrefix(name, lmqPrefix) }

// topicAllowsLMQ is MixAll.topicAllowsLMQ, which is also
// MultiDispatchUtils.isNeedHandleMultiDispatch with multi-dispatch on:
// messages of retry, system and schedule topics are not dispatched.
func topicAllowsLMQ(topic string) bool {
	return !strings.HasPrefix(topic, retryGroupPrefix) && !strings.HasPrefix(topic, systemTopicPrefix) && topic != scheduleTopic
}

// javaBlank is StringUtils.isBlank: empty or only Java whitespace.
func javaBlank(s string) bool {
	for _, r := range s {
		if !javaWhitespace(r) {
			return false
		}
	}
	return true
}

// javaWhitespace is Character.isWhitespace.
func javaWhitespace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f:
		return true
	case 0xa0, 0x2007, 0x202f: // no-break spaces
		return false
	}
	return unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp)
}

// splitNames splits a list as Java's String.split(",") does: trailing
// empty names are dropped ("a,b," is a and b), inner ones kept.
func splitNames(s string) []string {
	parts := strings.Split(s, lmqSeparator)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// needsDispatch reports whether the broker dispatches a message stored in
// topic with properties props (MessageExtBrokerInner.needDispatchLMQ).
func needsDispatch(topic, props string) bool {
	return topicAllowsLMQ(topic) && !javaBlank(propertyValue(props, propMultiDispatch))
}

// dispatchProblem says why this server refuses a dispatch list the real
// broker accepts and then mishandles, or "" when the list is sound:
// every name a Light Message Queue, none twice, none with a '/', none
// longer than the broker can keep. Trailing commas are harmless and
// allowed. The real broker with such a list:
//
//   - a name that is not "%LMQ%…" (an empty one, as in "a,,b", too) gets an
//     empty offset; when a Light Message Queue follows it, the broker's
//     dispatch fails to parse that offset and retries the message for
//     ever: no message stored after it reaches any consumer again, and
//     the broker does not restart on its store; when none follows, the
//     message is in none of the queues, which have counted it all the same;
//   - a name listed twice is indexed once but counted twice, so every
//     later INNER_MULTI_QUEUE_OFFSET of that queue is one too high;
//   - a name with '/' is counted and never indexed (the Java client
//     refuses to send it);
//   - a name that cannot be a file name (over 255 bytes, or with NUL)
//     stops the broker's dispatch of every message for 30 s, and is never
//     indexed.
func dispatchProblem(list string) string {
	names := splitNames(list)
	for i, n := range names {
		switch {
		case !isLMQ(n):
			return fmt.Sprintf("queue %q is not a Light Message Queue (%s…)", n, lmqPrefix)
		case strings.Contains(n, "/"):
			return fmt.Sprintf("queue %q contains '/'", n)
		case len(n) > maxLMQNameBytes || strings.IndexByte(n, 0) >= 0:
			return fmt.Sprintf("queue %.40q… is longer than %d bytes or contains NUL", n, maxLMQNameBytes)
		}
		for _, m := range names[:i] {
			if m == n {
				return fmt.Sprintf("queue %q is listed twice", n)
			}
		}
	}
	return ""
}

// dispatchRefusal is the MESSAGE_ILLEGAL remark for a dispatch list
// dispatchProblem finds fault with.
func dispatchRefusal(list, problem string) string {
	return fmt.Sprintf("the message is illegal: %s %.200q: %s (rocketmqtest refuses what a real broker accepts and then mis-dispatches)",
		propMultiDispatch, list, problem)
}

// batchDispatchProblem says why this server refuses a message of a batch:
// the broker does not dispatch batch messages itself, but one that
// carries INNER_MULTI_QUEUE_OFFSET, set by its sender, is indexed at the
// sender's offsets without counting them, which puts the queue out of
// step with later offsets (and an offset that is not a number stops the
// broker's dispatch for ever). A batch message with only
// INNER_MULTI_DISPATCH is stored and dispatched nowhere, as by the broker.
func batchDispatchProblem(topic, props string) string {
	if !topicAllowsLMQ(topic) {
		return ""
	}
	if javaBlank(propertyValue(props, propMultiDispatch)) || javaBlank(propertyValue(props, propMultiQueueOffset)) {
		return ""
	}
	return "a batch message carries " + propMultiQueueOffset + ", which only the broker may write"
}

// lmqTopicLocked returns the Light Message Queue name, creating it empty
// if nothing has named it yet. The caller holds s.mu.
func (s *store) lmqTopicLocked(name string) *topic {
	if t := s.topics[name]; t != nil {
		return t
	}
	t := &topic{name: name, perm: permRead | permWrite, lmq: true}
	t.queues = []*queue{{topic: t}}
	s.topics[name] = t
	return t
}

// topicLocked returns the topic called name, nil if there is none; a
// Light Message Queue always exists. The caller holds s.mu.
func (s *store) topicLocked(name string) *topic {
	if isLMQ(name) {
		return s.lmqTopicLocked(name)
	}
	return s.topics[name]
}

// wrapLocked is LmqDispatch.wrapLmqDispatch for a message about to be
// stored: it returns the message's properties with INNER_MULTI_QUEUE_OFFSET
// giving its offset in each listed queue, and those queues in list order.
// The broker writes a dispatched message's properties afresh from the
// message's property map, which for a delayed message being delivered is
// not its stored string: the schedule service (ScheduleMessageService.
// messageTimeUp) cleared DELAY, TIMER_DELIVER_MS and TIMER_DELAY_SEC
// there and set WAIT=false. The list has passed dispatchProblem. The
// caller holds s.mu.
func (s *store) wrapLocked(m *message) (string, []*queue) {
	props := parseProperties(m.props)
	list, _ := props.get(propMultiDispatch)
	names := splitNames(list)
	queues := make([]*queue, len(names))
	offsets := make([]string, len(names))
	for i, n := range names {
		q := s.lmqTopicLocked(n).queues[0]
		queues[i] = q
		offsets[i] = strconv.Itoa(len(q.msgs))
	}
	props.set(propMultiQueueOffset, strings.Join(offsets, lmqSeparator))
	if m.delivered {
		props.del(propDelay)
		props.del(propTimerDeliverMillis)
		props.del(propTimerDelaySeconds)
		props.set(propWait, "false")
	}
	return props.String(), queues
}
