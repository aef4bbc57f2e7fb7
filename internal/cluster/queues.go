package cluster

import (
	"encoding/base32"
	"strings"
)

// lmqPrefix starts every Light Message Queue's name; the broker appends a
// message to each queue its INNER_MULTI_DISPATCH lists.
const lmqPrefix = "%LMQ%"

// InboxQueue names the Light Message Queue an instance reads: every
// message with a receiver on that instance is dispatched to it.
// Instance IDs are letters, digits, '-' and '_', which RocketMQ takes in a
// queue name.
func InboxQueue(instance string) string { return lmqPrefix + "mqttrmq-gw-" + instance }

// sessionEncoding writes a client ID in the letters and digits a queue
// name may hold, one way back: lowercase base32 without padding.
var sessionEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// SessionQueue names the Light Message Queue that keeps a persistent
// session's messages: every message for the session is dispatched to it,
// and whichever instance serves the session reads it from the offset the
// session acknowledged.
func SessionQueue(clientID string) string {
	return lmqPrefix + "mqttrmq-s-" + sessionEncoding.EncodeToString([]byte(clientID))
}

// sessionOf returns the client ID of a session queue's name.
func sessionOf(queue string) (string, bool) {
	rest, ok := strings.CutPrefix(queue, lmqPrefix+"mqttrmq-s-")
	if !ok {
		return "", false
	}
	id, err := sessionEncoding.DecodeString(rest)
	if err != nil {
		return "", false
	}
	return string(id), true
}
