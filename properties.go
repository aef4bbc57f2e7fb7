package mqttrmq

import (
	"reflect"
	"strings"
)

// Properties is what the mapping needs of a RocketMQ message. Both
// *primitive.Message and *primitive.MessageExt of rocketmq-client-go v2
// satisfy it, so this package works on them without importing the client.
//
// GetProperty returns "" for an absent key. WithProperty on rocketmq-client-go
// ignores an empty key or value, so the functions here never write one.
//
// A nil Properties, and a nil pointer in one such as
// (*primitive.Message)(nil), is no message: every function with an error
// result refuses it with an error wrapping ErrInvalidProperty, and the
// accessors without one (ClientIDOf, SecondTopicOf, RealTopicOf,
// P2PTargetOf) read it as a message without properties. None calls a method
// on it.
//
// The setters keep a message's properties within what RocketMQ carries
// once the producer and the broker add theirs (see ToRocketMQ): a value that
// would take them past it is refused with an error wrapping
// ErrInvalidProperty. When m lists its properties (GetProperties, as both
// message types do), all of them are counted; else only those written.
type Properties interface {
	GetProperty(key string) string
	WithProperty(key, value string)
}

// QoSOf reads the QoS of a message from qoslevel, or from what Apache
// RocketMQ-MQTT writes for it, qosLevel and the qosLevel of extData. A
// message with none is AtLeastOnce, as the hosted service reads it. It
// refuses, with an error wrapping ErrInvalidProperty, a nil m, any value but
// "0", "1" and "2", an extData it cannot read, and spellings that disagree.
func QoSOf(m Properties) (QoS, error) {
	return readQoS("QoSOf", m)
}

func readQoS(op string, m Properties) (QoS, error) {
	if isNil(m) {
		return 0, errNilMessage(op)
	}
	ext, err := parseExtData(op, m.GetProperty(PropExtData))
	if err != nil {
		return 0, err
	}
	return qosOf(op, m, ext)
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// CleanSessionOf reads the clean-session flag of a message from
// cleansessionflag, or from cleanSessionFlag (Apache RocketMQ-MQTT's
// spelling). A message with neither is clean (true). It accepts "true" and
// "false" in any letter case, as Java's Boolean.toString and a hand-written
// "True" both reach it, and refuses a nil m, anything else, and spellings
// that disagree, with an error wrapping ErrInvalidProperty.
func CleanSessionOf(m Properties) (bool, error) {
	return readCleanSession("CleanSessionOf", m)
}

func readCleanSession(op string, m Properties) (bool, error) {
	if isNil(m) {
		return false, errNilMessage(op)
	}
	return cleanSessionOf(op, m)
}

// parseBool reads a "true"/"false" property; absent gives def.
func parseBool(op, key, v string, def bool) (bool, error) {
	switch {
	case v == "":
		return def, nil
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	}
	return def, newError(op, v, key+` must be "true" or "false"`, ErrInvalidProperty)
}

// checkSecondChars checks a non-empty subtopic as the tail of a topic name.
func checkSecondChars(second string) finding {
	if f := checkSecond(second); !f.ok() {
		return f
	}
	if len(second) >= maxTopicLen {
		return finding{probTooLong, maxTopicLen - 1} // the parent takes at least one byte
	}
	return scan(second, scanName)
}

// SecondTopicOf returns the mqttSecondTopic property as it is, "" when
// absent. FromRocketMQ checks it; this accessor does not.
func SecondTopicOf(m Properties) string { return get(m, hosted.secondTopic) }

// RealTopicOf returns the mqttRealTopic property as it is, "" when absent.
// FromRocketMQ checks it; this accessor does not.
func RealTopicOf(m Properties) string { return get(m, hosted.realTopic) }

// ClientIDOf returns the clientId property: the client ID of the device that
// sent the message, "" when absent. There is no SetClientID: the gateway
// writes it from the device's connection, and a backend cannot set it.
func ClientIDOf(m Properties) string { return get(m, hosted.clientID) }

// get reads a property of m, "" for a nil m.
func get(m Properties, key string) string {
	if isNil(m) {
		return ""
	}
	return m.GetProperty(key)
}

// isNil reports whether m is nil or holds a nil pointer, map or the like
// (such as (*primitive.Message)(nil)), on which a method call would panic.
func isNil(m Properties) bool {
	if m == nil {
		return true
	}
	switch v := reflect.ValueOf(m); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface, reflect.UnsafePointer:
		return v.IsNil()
	}
	return false
}

func errNilMessage(op string) error {
	return newError(op, "", "nil message", ErrInvalidProperty)
}
