package mqttrmq

import "strconv"

// QoS is an MQTT quality-of-service level.
type QoS byte

// The three MQTT QoS levels.
const (
	AtMostOnce  QoS = 0
	AtLeastOnce QoS = 1
	ExactlyOnce QoS = 2
)

// Valid reports whether q is one of AtMostOnce, AtLeastOnce and ExactlyOnce.
func (q QoS) Valid() bool { return q <= ExactlyOnce }

// String returns the form the qoslevel property holds: "0", "1" or "2";
// an invalid level prints as QoS(n).
func (q QoS) String() string {
	if q.Valid() {
		return qosText[q]
	}
	return "QoS(" + strconv.Itoa(int(q)) + ")"
}

// qosText holds the property values as constants, so writing one allocates nothing.
var qosText = [...]string{"0", "1", "2"}

// Downgrade returns the QoS a subscriber receives a message at:
// the lower of the message's and the subscription's [MQTT-3.8.4-6].
func (q QoS) Downgrade(subscription QoS) QoS {
	return min(q, subscription)
}

// parseQoS reads a qoslevel value; ok is false for anything but "0", "1", "2".
func parseQoS(v string) (q QoS, ok bool) {
	if len(v) != 1 || v[0] < '0' || v[0] > '2' {
		return 0, false
	}
	return QoS(v[0] - '0'), true
}
