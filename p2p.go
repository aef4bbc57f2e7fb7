package mqttrmq

import "strings"

// p2pLevel is the second level that marks a point-to-point topic:
// {parent}/p2p/{clientID}.
const p2pLevel = "/p2p/"

// P2PTopic returns the topic that sends a message to exactly one client,
// parent + "/p2p/" + clientID. The target receives it without subscribing.
//
// It refuses, with an error wrapping ErrInvalidTopic, a parent that
// ValidateParentTopic refuses, and, with an error wrapping
// ErrInvalidClientID, a client ID that cannot stand as one topic level: empty,
// or holding '/', a wildcard, a control character or invalid UTF-8. The client
// ID need not be of the hosted service's GroupID@@@DeviceID form.
func P2PTopic(parent, clientID string) (string, error) {
	const op = "P2PTopic"
	if f := checkParent(parent); !f.ok() {
		return "", f.err(op, parent, ErrInvalidTopic)
	}
	if f := checkLevel(clientID); !f.ok() {
		return "", f.err(op, clientID, ErrInvalidClientID)
	}
	topic := parent + p2pLevel + clientID
	if len(topic) > maxTopicLen {
		return "", finding{probTooLong, maxTopicLen}.err(op, topic, ErrInvalidTopic)
	}
	return topic, nil
}

// ParseP2PTopic reports whether topic is a P2P topic, {parent}/p2p/{clientID}
// with a valid parent and a client ID that is one whole level, and returns
// its parts. It does not allocate.
func ParseP2PTopic(topic string) (parent, clientID string, ok bool) {
	parent, second, f := splitTopic(topic)
	if !f.ok() {
		return "", "", false
	}
	clientID, ok = p2pTargetOf(second)
	if !ok {
		return "", "", false
	}
	return parent, clientID, true
}

// p2pTarget returns the client ID a subtopic of the form /p2p/{clientID}
// addresses.
func p2pTargetOf(second string) (clientID string, ok bool) {
	if !strings.HasPrefix(second, p2pLevel) {
		return "", false
	}
	clientID = second[len(p2pLevel):]
	if !checkLevel(clientID).ok() {
		return "", false
	}
	return clientID, true
}

// IsP2PSubtopic reports whether an mqttSecondTopic value starts with the P2P
// level, "/p2p/" or is "/p2p" itself, whether or not what follows is a valid
// target. A gateway refuses publishes and subscriptions to such subtopics
// unless they are a valid P2P topic addressed as P2P.
func IsP2PSubtopic(second string) bool {
	return second == p2pLevel[:len(p2pLevel)-1] || strings.HasPrefix(second, p2pLevel)
}

// P2PTargetOf returns the client ID a message is addressed to point to
// point: its address, as FromRocketMQ reads it, is {parent}/p2p/{clientID},
// from mqttSecondTopic (/p2p/{clientID}), originMqttTopic, or a P2P queue of
// INNER_MULTI_DISPATCH (%LMQ%%p2p%{clientID}%). ok is false for any other
// message, and for one whose address FromRocketMQ refuses (a nil one
// included): for every message FromRocketMQ accepts, P2PTargetOf and the
// topic it is addressed to agree. It reads the address, not the delivered
// topic, so mqttRealTopic does not hide it.
func P2PTargetOf(m Properties) (clientID string, ok bool) {
	if isNil(m) {
		return "", false
	}
	a, err := addressOf("P2PTargetOf", m)
	if err != nil {
		return "", false
	}
	return p2pTargetOf(a.tail)
}

// checkLevel checks that s can stand as one whole topic level of a name.
func checkLevel(s string) finding {
	if s == "" {
		return finding{probLevelEmpty, -1}
	}
	if len(s) > maxTopicLen {
		return finding{probTooLong, maxTopicLen}
	}
	f := scan(s, scanName)
	switch f.p {
	case probWildcardInName:
		f.p = probLevelWildcard
	case noProblem:
		if i := strings.IndexByte(s, '/'); i >= 0 {
			return finding{probLevelSlash, i}
		}
	}
	return f
}
