package broker

import (
	"time"
	"unicode/utf8"
)

// Message is one application message on its way to subscribers: what a
// PUBLISH carries, without anything that belongs to one connection (packet
// ID, DUP, topic alias). A Message is shared by every subscriber it is
// delivered to and must not be changed once handed to the broker.
type Message struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool

	// Origin is the client ID of the client that published it, "" for a
	// message from elsewhere (a backend). No-local subscriptions compare it.
	Origin string

	// ID identifies the message wherever it travels (RocketMQ's unique
	// message key), or is "". A session that got it as a retained message
	// does not get it again when it comes back live.
	ID string

	// Skip, when set, names the sessions this message is not for,
	// although their subscriptions match (one that had it already).
	Skip func(clientID string) bool

	// Created is when the message came into being; its expiry interval
	// counts from here.
	Created time.Time

	Properties
}

// Properties are the MQTT 5 properties a PUBLISH carries to its receivers
// [MQTT-3.3.2.3]. The zero value is "none"; where MQTT tells absent from
// zero, a flag or a nil says which.
type Properties struct {
	// PayloadFormat is 1 when the payload is declared UTF-8; 0 is both
	// "unspecified bytes" and absent, which MQTT treats alike.
	PayloadFormat byte
	// MessageExpiry is the expiry interval in seconds, set when HasExpiry.
	MessageExpiry uint32
	HasExpiry     bool
	// ContentType is a MIME type; "" is absent.
	ContentType string
	// ResponseTopic is where a request wants its answer; "" is absent.
	ResponseTopic string
	// CorrelationData ties an answer to its request; nil is absent, an
	// empty non-nil slice is present and empty.
	CorrelationData []byte
	// User are the user properties, in order, duplicates kept.
	User []UserProperty
}

// UserProperty is one MQTT 5 user property.
type UserProperty struct{ Key, Value string }

// Payload format indicators [MQTT-3.3.2.3.2].
const (
	FormatBytes byte = 0
	FormatUTF8  byte = 1
)

// remaining returns the expiry interval left at now, and whether the
// message has expired: a message whose interval has passed is not
// delivered, and one that is gets what is left [MQTT-3.3.2-6].
func (m *Message) remaining(now time.Time) (left uint32, expired bool) {
	if !m.HasExpiry {
		return 0, false
	}
	age := now.Sub(m.Created)
	if age < 0 {
		age = 0
	}
	if age >= time.Duration(m.MessageExpiry)*time.Second {
		return 0, true
	}
	return m.MessageExpiry - uint32(age/time.Second), false
}

// validPayloadFormat reports whether a payload declared UTF-8 is UTF-8
// [MQTT-3.3.2-4]; a payload of unspecified bytes always is.
func (p *Properties) validPayloadFormat(payload []byte) bool {
	return p.PayloadFormat != FormatUTF8 || utf8.Valid(payload)
}
