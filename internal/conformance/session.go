package conformance

import (
	"fmt"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Sessions: clean session and clean start, session present, session
// expiry, messages kept while offline and redelivery: MQTT 3.1.1 §3.1.2.4,
// §4.1, §4.4; MQTT 5.0 §3.1.2.4–5, §3.1.2.11.2, §4.1, §4.4.
func sessionCases() []testCase {
	var cs []testCase
	add := func(c ...testCase) { cs = append(cs, c...) }
	add(both("session", refs("MQTT-3.2.2-3"), refs("MQTT-3.1.2-6", "MQTT-3.2.2-3"),
		"a new persistent session has Session Present 0", newSessionNotPresent)...)
	add(both("session", refs("MQTT-3.1.2-4", "MQTT-3.2.2-2", "MQTT-4.1.0-1"), refs("MQTT-3.1.2-5", "MQTT-3.2.2-3", "MQTT-3.1.2-23"),
		"a persistent session resumes with Session Present 1 and its subscriptions", sessionResumes)...)
	add(both("session", refs("MQTT-3.1.2-5", "MQTT-4.5.0-1"), refs("MQTT-3.1.2-23", "MQTT-4.5.0-1"),
		"QoS 1 and 2 messages published while a persistent session is offline are delivered when it returns", offlineMessages)...)
	add(both("session", refs("MQTT-3.1.2-6", "MQTT-3.2.2-1"), refs("MQTT-3.1.2-4", "MQTT-3.2.2-2"),
		"a clean session discards the old one: Session Present 0, no subscriptions, no messages", cleanDiscards)...)
	add(both("session", refs("MQTT-4.4.0-1", "MQTT-3.3.1-1", "MQTT-4.6.0-1"), refs("MQTT-4.4.0-1", "MQTT-3.3.1-1", "MQTT-4.6.0-1"),
		"unacknowledged QoS 1 messages are resent on reconnect with DUP 1, their identifiers and their order", redeliveryDup)...)
	add(both("session", refs("MQTT-4.4.0-1", "MQTT-4.3.3-1"), refs("MQTT-4.4.0-1", "MQTT-4.3.3-6"),
		"after PUBREC a reconnected session gets the PUBREL again, not the PUBLISH", pubrelResent)...)
	add(both("session", refs("MQTT-4.4.0-1", "MQTT-4.3.3-2"), refs("MQTT-4.4.0-1", "MQTT-4.3.3-10", "MQTT-4.3.3-11"),
		"an inbound QoS 2 flow continues on reconnect: PUBREL gets PUBCOMP, the message is delivered once", inboundQoS2Resumes)...)
	add(both("session", refs("§2.3.1", "MQTT-4.4.0-1"), refs("§2.2.1", "MQTT-4.4.0-1"),
		"client and server packet identifiers are separate: a client reusing the server's in-flight identifier loses nothing", packetIDSpaces)...)
	add(both("session", refs("MQTT-3.1.4-2", "MQTT-3.2.2-2", "MQTT-4.4.0-1"), refs("MQTT-3.1.4-3", "MQTT-3.2.2-3", "MQTT-4.4.0-1"),
		"taking over a persistent session resumes it, unacknowledged messages resent", takeoverResumes)...)
	add(only5("session", refs("§3.1.2.11.2", "MQTT-3.1.2-23"),
		"clean start 0 without a Session Expiry Interval: the session ends with the connection", noExpiryEndsSession))
	add(only5("session", refs("MQTT-4.1.0-2", "§3.1.2.11.2"),
		"a session is discarded once its Session Expiry Interval has passed", sessionExpires))
	add(only5("session", refs("§3.14.2.2.2"),
		"DISCONNECT with Session Expiry Interval 0 ends a persistent session", disconnectEndsSession))
	add(only5("session", refs("§3.14.2.2.2", "MQTT-4.13.1-1"),
		"DISCONNECT setting a Session Expiry Interval after CONNECT had none is a protocol error", disconnectSetsExpiry))
	return cs
}

// newSessionNotPresent: a new session, asked to persist, has Session
// Present 0 [MQTT-3.2.2-3]; 5.0 creates it [MQTT-3.1.2-6].
func newSessionNotPresent(c *C) {
	_, ack := c.connect("client", conn{id: c.newID(), session: persistent})
	if ack.SessionPresent {
		c.Errorf("%s for a client ID never seen; want Session Present 0", ack)
	}
}

// sessionResumes: with clean session 0 (3.1.1) or clean start 0 and a
// Session Expiry Interval (5.0) the server resumes the session: Session
// Present 1 [MQTT-3.2.2-2 (3.1.1), MQTT-3.2.2-3 (5.0)], its subscriptions
// in force [MQTT-3.1.2-4 (3.1.1), MQTT-3.1.2-5 (5.0), MQTT-3.1.2-23].
func sessionResumes(c *C) {
	id := c.newID()
	r, _ := c.connect("first", conn{id: id, session: persistent})
	r.mustSubscribe(sub(c.topic("a"), 1))
	r.disconnect()
	r2, ack := c.connect("resumed", conn{id: id, session: persistent})
	if !ack.SessionPresent {
		c.Fatalf("%s; want Session Present 1", ack)
	}
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, []byte("kept subscription"), nil)
	if p := r2.expectMessage(); string(p.Payload) != "kept subscription" {
		c.Errorf("got %s", p)
	}
}

// offlineMessages: while a persistent session is offline the server keeps
// the QoS 1 and 2 messages matching its subscriptions [MQTT-3.1.2-5
// (3.1.1), MQTT-3.1.2-23 (5.0), MQTT-4.5.0-1] and delivers them on its
// return, in order per QoS.
func offlineMessages(c *C) {
	id := c.newID()
	r, _ := c.connect("first", conn{id: id, session: persistent})
	r.mustSubscribe(sub(c.topic("a"), 2))
	r.disconnect()
	pub := c.publisher("publisher")
	sent := []struct {
		qos  byte
		body string
	}{{1, "q1-a"}, {2, "q2-a"}, {1, "q1-b"}, {2, "q2-b"}}
	for _, m := range sent {
		pub.publishAcked(c.topic("a"), m.qos, false, []byte(m.body), nil)
	}
	r2, _ := c.connect("resumed", conn{id: id, session: persistent})
	byQoS := map[byte][]string{}
	for range sent {
		p := r2.expectMessage()
		byQoS[p.FixedHeader.Qos] = append(byQoS[p.FixedHeader.Qos], string(p.Payload))
	}
	if fmt.Sprint(byQoS[1]) != "[q1-a q1-b]" || fmt.Sprint(byQoS[2]) != "[q2-a q2-b]" {
		c.Errorf("delivered on return: QoS 1 %v, QoS 2 %v; want [q1-a q1-b] and [q2-a q2-b]", byQoS[1], byQoS[2])
	}
}

// cleanDiscards: a clean session discards the previous session
// [MQTT-3.1.2-6 (3.1.1), MQTT-3.1.2-4 (5.0)] and has Session Present 0
// [MQTT-3.2.2-1 (3.1.1), MQTT-3.2.2-2 (5.0)]; its subscriptions are gone.
func cleanDiscards(c *C) {
	id := c.newID()
	r, _ := c.connect("persistent", conn{id: id, session: persistent})
	r.mustSubscribe(sub(c.topic("a"), 1))
	r.disconnect()
	r2, ack := c.connect("clean", conn{id: id})
	if ack.SessionPresent {
		c.Errorf("%s with clean session; want Session Present 0", ack)
	}
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, []byte("no subscription left"), nil)
	r2.expectNothing(quiet, "the old session's subscription was discarded")
	r2.disconnect()
	if _, ack := c.connect("after", conn{id: id, session: persistent}); ack.SessionPresent {
		c.Errorf("%s after a clean session ended; want Session Present 0", ack)
	}
}

// redeliveryDup: on reconnect with a session, the server resends its
// unacknowledged QoS 1 PUBLISH packets with their original identifiers
// [MQTT-4.4.0-1], DUP 1 [MQTT-3.3.1-1], in their original order
// [MQTT-4.6.0-1]; acknowledged, they are not sent again.
func redeliveryDup(c *C) {
	id := c.newID()
	r, _ := c.connect("first", conn{id: id, session: persistent})
	r.mustSubscribe(sub(c.topic("a"), 1))
	pub := c.publisher("publisher")
	for _, body := range []string{"m1", "m2", "m3"} {
		pub.publishAcked(c.topic("a"), 1, false, []byte(body), nil)
	}
	var first []*rawPacket
	for range 3 {
		first = append(first, r.expect(packets.Publish)) // not acknowledged
	}
	r.drop()
	r2, _ := c.connect("resumed", conn{id: id, session: persistent})
	for i := range 3 {
		p := r2.expect(packets.Publish)
		if !p.FixedHeader.Dup || p.PacketID != first[i].PacketID || string(p.Payload) != string(first[i].Payload) {
			c.Errorf("resent %s; want %q again with DUP 1 and identifier %d", p, first[i].Payload, first[i].PacketID)
		}
		r2.ack(packets.Puback, p.PacketID)
	}
	r2.expectNothing(quiet, "every message was acknowledged")
}

// pubrelResent: once the server has sent PUBREL it MUST NOT resend the
// PUBLISH [MQTT-4.3.3-1 (3.1.1), MQTT-4.3.3-6 (5.0)]; on reconnect it
// resends the PUBREL [MQTT-4.4.0-1].
func pubrelResent(c *C) {
	id := c.newID()
	r, _ := c.connect("first", conn{id: id, session: persistent})
	r.mustSubscribe(sub(c.topic("a"), 2))
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 2, false, []byte("q2"), nil)
	p := r.expect(packets.Publish)
	r.ack(packets.Pubrec, p.PacketID)
	r.expect(packets.Pubrel)
	r.drop()
	r2, _ := c.connect("resumed", conn{id: id, session: persistent})
	rel := r2.expect(packets.Pubrel)
	if rel.PacketID != p.PacketID {
		c.Errorf("%s; want PUBREL for identifier %d", rel, p.PacketID)
	}
	r2.ack(packets.Pubcomp, rel.PacketID)
	r2.expectNothing(quiet, "the flow is complete")
}

// inboundQoS2Resumes: a QoS 2 publish whose PUBREC came before the
// connection dropped is completed on the next connection: the server
// answers the PUBREL with PUBCOMP [MQTT-4.4.0-1, MQTT-4.3.3-2 (3.1.1),
// MQTT-4.3.3-11 (5.0)], and the message reaches subscribers once
// [MQTT-4.3.3-10 (5.0)].
func inboundQoS2Resumes(c *C) {
	s := c.subscriber("subscriber", c.topic("a"), 2)
	id := c.newID()
	r, _ := c.connect("first", conn{id: id, session: persistent})
	r.publishID(c.topic("a"), 2, false, false, 42, []byte("once"), nil)
	r.checkAckID(r.expect(packets.Pubrec), 42)
	r.drop()
	r2, _ := c.connect("resumed", conn{id: id, session: persistent})
	r2.ack(packets.Pubrel, 42)
	comp := r2.expectOneOf(packets.Pubrec, packets.Pubcomp)
	if comp.FixedHeader.Type == packets.Pubrec && comp.PacketID == 42 {
		// A server may repeat its PUBREC on reconnect; PUBCOMP must follow.
		comp = r2.expect(packets.Pubcomp)
	}
	r2.checkAckID(comp, 42)
	r2.publishAcked(c.topic("a"), 2, false, []byte("after"), nil)
	for _, want := range []string{"once", "after"} {
		if p := s.expectMessage(); string(p.Payload) != want {
			c.Errorf("got %s; want %s, each once", p, want)
		}
	}
}

// packetIDSpaces: client and server assign packet identifiers
// independently (3.1.1 §2.3.1, 5.0 §2.2.1): a client's QoS 1 PUBLISH
// with the identifier of a message the server has in flight to it is its
// own message, and the server's stays unacknowledged, resent on reconnect
// [MQTT-4.4.0-1].
func packetIDSpaces(c *C) {
	other := c.subscriber("other", c.topic("b"), 1)
	id := c.newID()
	r, _ := c.connect("client", conn{id: id, session: persistent})
	r.mustSubscribe(sub(c.topic("a"), 1))
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, []byte("server's"), nil)
	in := r.expect(packets.Publish) // not acknowledged
	r.publishID(c.topic("b"), 1, false, false, in.PacketID, []byte("client's"), nil)
	r.checkAckID(r.expect(packets.Puback), in.PacketID)
	if p := other.expectMessage(); string(p.Payload) != "client's" {
		c.Errorf("the client's message arrived as %s", p)
	}
	r.drop()
	r2, _ := c.connect("resumed", conn{id: id, session: persistent})
	p := r2.expect(packets.Publish)
	if string(p.Payload) != "server's" || p.PacketID != in.PacketID || !p.FixedHeader.Dup {
		c.Errorf("resent %s; want the server's message again, identifier %d, DUP 1", p, in.PacketID)
	}
	r2.ack(packets.Puback, p.PacketID)
}

// takeoverResumes: a connection taking over a client ID [MQTT-3.1.4-2
// (3.1.1), MQTT-3.1.4-3 (5.0)] with a persistent session resumes it
// [MQTT-3.2.2-2 (3.1.1), MQTT-3.2.2-3 (5.0)] and gets what the old
// connection left unacknowledged [MQTT-4.4.0-1].
func takeoverResumes(c *C) {
	id := c.newID()
	r, _ := c.connect("first", conn{id: id, session: persistent})
	r.mustSubscribe(sub(c.topic("a"), 1))
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, []byte("unacknowledged"), nil)
	first := r.expect(packets.Publish)
	r2, ack := c.connect("second", conn{id: id, session: persistent})
	if !ack.SessionPresent {
		c.Errorf("%s; want Session Present 1", ack)
	}
	p := r2.expect(packets.Publish)
	if string(p.Payload) != "unacknowledged" || p.PacketID != first.PacketID || !p.FixedHeader.Dup {
		c.Errorf("resent %s; want %q with identifier %d, DUP 1", p, first.Payload, first.PacketID)
	}
	r2.ack(packets.Puback, p.PacketID)
	r.expectClosed("taken over", 0x8E)
}

// noExpiryEndsSession: (5.0) an absent Session Expiry Interval is 0: the
// session ends when the connection closes (§3.1.2.11.2), whatever clean
// start said; only an interval above 0 keeps it [MQTT-3.1.2-23].
func noExpiryEndsSession(c *C) {
	id := c.newID()
	o := conn{id: id, session: persistent}
	o.props.SessionExpiryInterval, o.props.SessionExpiryIntervalFlag = 0, true
	r, _ := c.connect("first", o)
	r.mustSubscribe(sub(c.topic("a"), 1))
	r.disconnect()
	if _, ack := c.connect("second", o); ack.SessionPresent {
		c.Errorf("%s; want Session Present 0: the session had no expiry interval", ack)
	}
}

// sessionExpires: (5.0) the server discards a session once the network
// connection is closed and its Session Expiry Interval has passed
// [MQTT-4.1.0-2].
func sessionExpires(c *C) {
	id := c.newID()
	o := conn{id: id, session: persistent}
	o.props.SessionExpiryInterval, o.props.SessionExpiryIntervalFlag = 1, true
	r, _ := c.connect("first", o)
	r.mustSubscribe(sub(c.topic("a"), 1))
	r.disconnect()
	time.Sleep(3 * time.Second) // three times the interval
	if _, ack := c.connect("second", o); ack.SessionPresent {
		c.Errorf("%s 3 s after a session with a 1 s expiry closed; want Session Present 0", ack)
	}
}

// disconnectEndsSession: (5.0) a DISCONNECT may lower the Session Expiry
// Interval to 0, ending the session with the connection (§3.14.2.2.2).
func disconnectEndsSession(c *C) {
	id := c.newID()
	r, _ := c.connect("first", conn{id: id, session: persistent})
	r.mustSubscribe(sub(c.topic("a"), 1))
	r.disconnectWith(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect},
		Properties: packets.Properties{SessionExpiryInterval: 0, SessionExpiryIntervalFlag: true}})
	if _, ack := c.connect("second", conn{id: id, session: persistent}); ack.SessionPresent {
		c.Errorf("%s; want Session Present 0: DISCONNECT set the expiry interval to 0", ack)
	}
}

// disconnectSetsExpiry: (5.0) after a CONNECT with Session Expiry
// Interval 0, a DISCONNECT with a non-zero one is a Protocol Error
// (§3.14.2.2.2): the server may answer DISCONNECT 0x82, closes
// [MQTT-4.13.1-1], and keeps no session.
func disconnectSetsExpiry(c *C) {
	id := c.newID()
	r, _ := c.connect("first", conn{id: id})
	r.mustSubscribe(sub(c.topic("a"), 1))
	r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect},
		Properties: packets.Properties{SessionExpiryInterval: 300, SessionExpiryIntervalFlag: true}})
	if d := r.expectClosed("DISCONNECT raising the Session Expiry Interval from 0"); d != nil && d.ReasonCode != 0x82 {
		c.Errorf("%s; want 0x82 (Protocol Error) if anything", d)
	}
	if _, ack := c.connect("second", conn{id: id, session: persistent}); ack.SessionPresent {
		c.Errorf("%s; want Session Present 0: the session could not outlive its connection", ack)
	}
}
