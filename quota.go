package mqttrmq

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrQuotaExceeded is what a Quota's refusals unwrap to: a limit of a
// service, not a rule of MQTT, RocketMQ or the mapping.
var ErrQuotaExceeded = errors.New("quota exceeded")

// Quota holds limits a service puts on top of the mapping. The mapping
// carries anything MQTT and RocketMQ allow; a Quota is checked only when a
// program asks, for example to refuse early what the hosted service would.
// A zero field means no limit.
type Quota struct {
	MaxTopicChars    int    // characters of a whole MQTT topic, parent included
	MaxSubscriptions int    // topic filters one client may hold
	MaxPayloadBytes  int    // bytes of one payload
	NoPersistentQoS2 bool   // QoS 2 only with clean session true
	MaxMessageExpiry uint32 // seconds of a Message Expiry Interval
}

// HostedService is the hosted MQTT service's quota as its current
// documentation gives it: topics of at most 64 characters (an older demo
// says 128), 30 subscriptions per client, payloads of at most 64 KB, QoS 2
// only for clean sessions, and Message Expiry Intervals of at most 65535
// seconds (mqtt5MsgExpireInterval, where MQTT allows 4294967295).
var HostedService = Quota{MaxTopicChars: 64, MaxSubscriptions: 30, MaxPayloadBytes: 64 * 1024, NoPersistentQoS2: true, MaxMessageExpiry: 65535}

// CheckPublish refuses, with an error wrapping ErrQuotaExceeded, a publish
// over the quota: a topic with more characters, a larger payload, QoS 2
// from a persistent session where that is not supported, or a longer
// Message Expiry Interval. It does not
// validate the publish otherwise; ToRocketMQ does.
func (q Quota) CheckPublish(p Publish) error {
	const op = "Quota.CheckPublish"
	if q.MaxTopicChars > 0 {
		if n := utf8.RuneCountInString(p.Topic); n > q.MaxTopicChars {
			return newError(op, p.Topic, fmt.Sprintf("topic of %d characters; at most %d", n, q.MaxTopicChars), ErrQuotaExceeded)
		}
	}
	if q.MaxPayloadBytes > 0 && len(p.Payload) > q.MaxPayloadBytes {
		return newError(op, p.Topic, fmt.Sprintf("payload of %d bytes; at most %d", len(p.Payload), q.MaxPayloadBytes), ErrQuotaExceeded)
	}
	if q.NoPersistentQoS2 && p.QoS == ExactlyOnce && p.PersistentSession {
		return newError(op, p.Topic, "QoS 2 with clean session false is not supported", ErrQuotaExceeded)
	}
	if s, ok := p.MessageExpiry.Seconds(); ok && q.MaxMessageExpiry > 0 && s > q.MaxMessageExpiry {
		return newError(op, p.Topic, fmt.Sprintf("Message Expiry Interval of %d s; at most %d", s, q.MaxMessageExpiry), ErrQuotaExceeded)
	}
	return nil
}

// CheckSubscriptions refuses, with an error wrapping ErrQuotaExceeded, a
// client holding more filters than the quota allows, and a filter whose
// topic part (the inner filter of a shared subscription, the whole of any
// other) has more characters than a topic may. It does not validate the
// filters otherwise; ValidateTopicFilter does.
func (q Quota) CheckSubscriptions(filters ...string) error {
	const op = "Quota.CheckSubscriptions"
	if q.MaxSubscriptions > 0 && len(filters) > q.MaxSubscriptions {
		return newError(op, fmt.Sprint(len(filters)), fmt.Sprintf("%d subscriptions; at most %d", len(filters), q.MaxSubscriptions), ErrQuotaExceeded)
	}
	if q.MaxTopicChars > 0 {
		for _, f := range filters {
			inner, _, bad := unshare(f)
			if !bad.ok() {
				inner = f // no valid shared subscription: it counts whole
			}
			if n := utf8.RuneCountInString(inner); n > q.MaxTopicChars {
				return newError(op, f, fmt.Sprintf("filter of %d characters; at most %d", n, q.MaxTopicChars), ErrQuotaExceeded)
			}
		}
	}
	return nil
}
