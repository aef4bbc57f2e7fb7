package rocketmqtest

import (
	"fmt"
	"strings"
)

// Topic names and limits from Java's TopicValidator and MixAll.
const (
	autoCreateTopicKey = "TBW102"
	scheduleTopic      = "SCHEDULE_TOPIC_XXXX"
	retryGroupPrefix   = "%RETRY%"
	dlqGroupPrefix     = "%DLQ%"
	systemTopicPrefix  = "rmq_sys_"

	topicMaxLength         = 127
	retryOrDLQTopicMaxSize = 255
)

// systemTopics are TopicValidator's SYSTEM_TOPIC_SET.
var systemTopics = map[string]bool{
	autoCreateTopicKey:            true,
	scheduleTopic:                 true,
	"BenchmarkTest":               true,
	"RMQ_SYS_TRANS_HALF_TOPIC":    true,
	"RMQ_SYS_TRACE_TOPIC":         true,
	"RMQ_SYS_TRANS_OP_HALF_TOPIC": true,
	"TRANS_CHECK_MAX_TIME_TOPIC":  true,
	"SELF_TEST_TOPIC":             true,
	"OFFSET_MOVED_EVENT":          true,
	"CHECKPOINT_TOPIC":            true,
}

// notAllowedSendTopics are TopicValidator's NOT_ALLOWED_SEND_TOPIC_SET:
// a send to one of them is refused with NO_PERMISSION.
var notAllowedSendTopics = map[string]bool{
	scheduleTopic:                 true,
	"RMQ_SYS_TRANS_HALF_TOPIC":    true,
	"RMQ_SYS_TRANS_OP_HALF_TOPIC": true,
	"TRANS_CHECK_MAX_TIME_TOPIC":  true,
	"SELF_TEST_TOPIC":             true,
	"OFFSET_MOVED_EVENT":          true,
}

func isSystemTopic(t string) bool {
	return systemTopics[t] || strings.HasPrefix(t, systemTopicPrefix)
}

// validTopicChar reports whether c matches ^[%|a-zA-Z0-9_-]$.
func validTopicChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case c == '%', c == '|', c == '_', c == '-':
		return true
	}
	return false
}

// validateTopic applies TopicValidator.validateTopic and returns the remark
// a broker sends with INVALID_PARAMETER, or "" when t is valid.
func validateTopic(t string) string {
	if strings.TrimSpace(t) == "" {
		return "The specified topic is blank."
	}
	for i := 0; i < len(t); i++ {
		if !validTopicChar(t[i]) {
			return fmt.Sprintf("The specified topic: %s, contains illegal characters, allowing only ^[%%|a-zA-Z0-9_-]+$", t)
		}
	}
	if strings.HasPrefix(t, retryGroupPrefix) || strings.HasPrefix(t, dlqGroupPrefix) {
		if len(t) > retryOrDLQTopicMaxSize {
			return fmt.Sprintf("The specified topic is DLQ or Retry topic: %s, and it's longer than topic max length: %d", t, retryOrDLQTopicMaxSize)
		}
		return ""
	}
	if len(t) > topicMaxLength {
		return fmt.Sprintf("The specified topic: %s, is longer than topic max length: %d", t, topicMaxLength)
	}
	return ""
}

// faqSuffix is FAQUrl.suggestTodo's text, which a broker appends to some
// remarks.
const faqSuffix = "\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details."
