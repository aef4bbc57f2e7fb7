package conformance

import (
	"bytes"
	"fmt"

	"github.com/mochi-mqtt/server/v2/packets"
)

// PUBLISH and its QoS 0, 1 and 2 flows, both directions: MQTT 3.1.1 §3.3–3.7
// and §4.3, 4.6; MQTT 5.0 the same sections.
func publishCases() []testCase {
	var cs []testCase
	add := func(c ...testCase) { cs = append(cs, c...) }
	add(both("publish", refs("MQTT-3.3.1-2", "MQTT-4.3.1-1", "MQTT-3.3.2-3"), refs("MQTT-3.3.1-2", "MQTT-3.3.2-3"),
		"QoS 0 arrives once, DUP 0, its payload byte for byte", qos0Flow)...)
	add(both("publish", refs("MQTT-4.3.2-1", "MQTT-4.3.2-2", "MQTT-2.3.1-6"), refs("MQTT-4.3.2-1", "MQTT-4.3.2-2", "MQTT-4.3.2-4", "MQTT-2.2.1-5"),
		"QoS 1 is acknowledged with its packet identifier and delivered with DUP 0", qos1Flow)...)
	add(both("publish", refs("MQTT-4.3.2-2"), refs("MQTT-4.3.2-5"),
		"after PUBACK, a QoS 1 packet identifier is a new message even with DUP 1", qos1IDReuse)...)
	add(both("publish", refs("MQTT-4.3.3-2"), refs("MQTT-4.3.3-8", "MQTT-4.3.3-10", "MQTT-4.3.3-11", "MQTT-4.3.3-12"),
		"inbound QoS 2: a resent PUBLISH before PUBREL is delivered once, PUBREL gets PUBCOMP, the identifier is then new", qos2Inbound)...)
	add(both("publish", refs("MQTT-4.3.3-1", "MQTT-3.6.1-1"), refs("MQTT-4.3.3-1", "MQTT-4.3.3-2", "MQTT-4.3.3-4", "MQTT-3.6.1-1"),
		"outbound QoS 2: PUBLISH, PUBREC, PUBREL, PUBCOMP, nothing resent", qos2Outbound)...)
	add(both("publish", refs("MQTT-4.6.0-5", "MQTT-4.6.0-6"), refs("MQTT-4.6.0-5", "MQTT-4.6.0-6"),
		"one client's messages on a topic arrive in order, at each QoS", ordering)...)
	add(both("publish", refs("MQTT-2.3.1-1"), refs("MQTT-2.2.1-3"),
		"a QoS 1 PUBLISH with packet identifier 0 closes the connection", publishIDZero)...)
	add(both("publish", refs("MQTT-3.3.1-4"), refs("MQTT-3.3.1-4"),
		"a PUBLISH with both QoS bits set closes the connection", publishQoS3)...)
	add(both("publish", refs("MQTT-3.3.2-2", "MQTT-4.7.1-1"), refs("MQTT-3.3.2-2", "MQTT-4.7.1-1"),
		"a topic name with a wildcard closes the connection and reaches nobody", publishWildcard)...)
	add(both("publish", refs("MQTT-1.5.3-1"), refs("MQTT-1.5.4-1"),
		"a topic name that is not UTF-8 closes the connection", publishBadUTF8)...)
	add(both("publish", refs("MQTT-1.5.3-2", "MQTT-4.7.3-2"), refs("MQTT-1.5.4-2", "MQTT-4.7.3-2"),
		"a topic name holding U+0000 closes the connection", publishNul)...)
	add(both("publish", refs("MQTT-4.7.3-1"), refs("MQTT-3.3.2-1", "§3.3.2.3.4"),
		"an empty topic name (5.0: without a Topic Alias) closes the connection", publishEmptyTopic)...)
	return cs
}

// binary is a payload no text codec survives: NUL, invalid UTF-8, CR LF.
var binary = []byte("\x00\x01\xff\xfe\r\n\x80 \xc0\xafend")

// qos0Flow: [MQTT-3.3.1-2] a QoS 0 PUBLISH has DUP 0, and arrives at
// most once; [MQTT-3.3.2-3] on the topic it was published to; payloads
// travel unaltered.
func qos0Flow(c *C) {
	s := c.subscriber("subscriber", c.topic("a"), 2)
	pub := c.publisher("publisher")
	pub.publish(c.topic("a"), 0, false, binary, nil)
	pub.publish(c.topic("a"), 0, false, []byte("second"), nil)
	p := s.expect(packets.Publish)
	if p.FixedHeader.Qos != 0 || p.FixedHeader.Dup || p.TopicName != c.topic("a") || !bytes.Equal(p.Payload, binary) {
		c.Errorf("got %s; want QoS 0, DUP 0, on %s, payload % x", p, c.topic("a"), binary)
	}
	if p := s.expect(packets.Publish); string(p.Payload) != "second" {
		c.Errorf("got %s; want the second message, once", p)
	}
}

// qos1Flow: the receiver of a QoS 1 PUBLISH answers PUBACK with its packet
// identifier [MQTT-4.3.2-2 (3.1.1), MQTT-4.3.2-4 (5.0), MQTT-2.3.1-6,
// MQTT-2.2.1-5]; as sender, the server uses a non-zero identifier and DUP
// 0 [MQTT-4.3.2-1 (and 4.3.2-2 in 5.0)], and resends nothing acknowledged
// [MQTT-4.4.0-1].
func qos1Flow(c *C) {
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	s.mustSubscribe(sub(c.topic("a"), 1))
	pub := c.publisher("publisher")
	id := pub.publish(c.topic("a"), 1, false, []byte("one"), nil)
	ack := pub.expect(packets.Puback)
	pub.checkAckID(ack, id)
	if c.is5() && ack.ReasonCode != 0x00 {
		c.Errorf("%s; want 0x00: the message had a subscriber", ack)
	}
	p := s.expect(packets.Publish)
	if p.FixedHeader.Qos != 1 || p.FixedHeader.Dup || p.PacketID == 0 || string(p.Payload) != "one" {
		c.Errorf("got %s; want QoS 1, DUP 0, a packet identifier, payload one", p)
	}
	s.ack(packets.Puback, p.PacketID)
	s.expectNothing(quiet, "an acknowledged message is never resent on the same connection [MQTT-4.4.0-1]")
}

// qos1IDReuse: once it has sent PUBACK, the receiver treats a PUBLISH with
// the same packet identifier as a new message, whatever its DUP flag
// [MQTT-4.3.2-2 (3.1.1), MQTT-4.3.2-5 (5.0)].
func qos1IDReuse(c *C) {
	s := c.subscriber("subscriber", c.topic("a"), 1)
	pub := c.publisher("publisher")
	for i, body := range []string{"first", "second"} {
		pub.publishID(c.topic("a"), 1, false, i == 1, 7, []byte(body), nil)
		pub.checkAckID(pub.expect(packets.Puback), 7)
	}
	for _, want := range []string{"first", "second"} {
		if p := s.expectMessage(); string(p.Payload) != want {
			c.Errorf("got %s; want %s: each PUBLISH after a PUBACK is a new message", p, want)
		}
	}
}

// qos2Inbound: the server answers a QoS 2 PUBLISH with PUBREC
// [MQTT-4.3.3-2 (3.1.1), MQTT-4.3.3-8 (5.0)], answers it again when
// resent before PUBREL without delivering it twice [MQTT-4.3.3-10],
// answers PUBREL with PUBCOMP [MQTT-4.3.3-11], and then treats the
// identifier as new [MQTT-4.3.3-12].
func qos2Inbound(c *C) {
	s := c.subscriber("subscriber", c.topic("a"), 2)
	pub := c.publisher("publisher")
	pub.publishID(c.topic("a"), 2, false, false, 9, []byte("once"), nil)
	pub.checkAckID(pub.expect(packets.Pubrec), 9)
	pub.publishID(c.topic("a"), 2, false, true, 9, []byte("once"), nil)
	pub.checkAckID(pub.expect(packets.Pubrec), 9)
	pub.ack(packets.Pubrel, 9)
	pub.checkAckID(pub.expect(packets.Pubcomp), 9)
	pub.publishID(c.topic("a"), 2, false, false, 9, []byte("new"), nil)
	pub.checkAckID(pub.expect(packets.Pubrec), 9)
	pub.ack(packets.Pubrel, 9)
	pub.checkAckID(pub.expect(packets.Pubcomp), 9)
	for _, want := range []string{"once", "new"} {
		if p := s.expectMessage(); string(p.Payload) != want {
			c.Errorf("got %s; want %s, each exactly once", p, want)
		}
	}
}

// qos2Outbound: as sender of QoS 2 the server uses a non-zero packet
// identifier and DUP 0 [MQTT-4.3.3-1 (and 4.3.3-2 in 5.0)], answers PUBREC
// with a PUBREL of the same identifier whose fixed header flags are 0010
// [MQTT-3.6.1-1, MQTT-4.3.3-4 (5.0)], and after PUBCOMP resends nothing.
func qos2Outbound(c *C) {
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	s.mustSubscribe(sub(c.topic("a"), 2))
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 2, false, []byte("exactly once"), nil)
	p := s.expect(packets.Publish)
	if p.FixedHeader.Qos != 2 || p.FixedHeader.Dup || p.PacketID == 0 {
		c.Fatalf("got %s; want QoS 2, DUP 0, a packet identifier", p)
	}
	s.ack(packets.Pubrec, p.PacketID)
	rel := s.expect(packets.Pubrel)
	if rel.PacketID != p.PacketID {
		c.Errorf("%s for the PUBLISH with identifier %d", rel, p.PacketID)
	}
	if rel.raw[0] != 0x62 {
		c.Errorf("PUBREL fixed header %#02x; want 0x62 [MQTT-3.6.1-1]", rel.raw[0])
	}
	s.ack(packets.Pubcomp, p.PacketID)
	s.expectNothing(quiet, "a completed QoS 2 flow resends nothing")
}

// ordering: the server sends one client's messages on a topic to each
// subscriber in the order it received them, at each QoS [MQTT-4.6.0-5,
// MQTT-4.6.0-6 (both versions)].
func ordering(c *C) {
	const n = 30
	s := c.subscriber("subscriber", c.topic("a"), 2)
	pub := c.publisher("publisher")
	for qos := byte(0); qos <= 2; qos++ {
		for i := range n {
			pub.publishAcked(c.topic("a"), qos, false, fmt.Appendf(nil, "%d-%d", qos, i), nil)
		}
	}
	next := map[byte]int{}
	for range 3 * n {
		p := s.expectMessage()
		var qos byte
		var i int
		if _, err := fmt.Sscanf(string(p.Payload), "%d-%d", &qos, &i); err != nil {
			c.Fatalf("got %s", p)
		}
		if i != next[qos] {
			c.Errorf("QoS %d message %d arrived when %d was due", qos, i, next[qos])
		}
		next[qos] = i + 1
	}
}

// protocolError sends b on an accepted connection and expects the server
// to close it, in 5.0 after DISCONNECT with one of codes; and a subscriber
// of the case's topics gets nothing of it.
func (c *C) protocolError(why string, b []byte, codes ...byte) {
	c.Helper()
	s := c.subscriber("subscriber", c.topic("#"), 2)
	r, _ := c.connect("client", conn{id: c.newID()})
	_ = r.trySendBytes(b)
	r.expectClosed(why, codes...)
	s.expectNothing(quiet, why+": nothing of it is delivered")
}

// rawPublish encodes a PUBLISH with the case's version.
func (c *C) rawPublish(topic string, qos byte, id uint16, body []byte) []byte {
	var b bytes.Buffer
	var vh bytes.Buffer
	vh.Write([]byte{byte(len(topic) >> 8), byte(len(topic))})
	vh.WriteString(topic)
	if qos > 0 {
		vh.Write([]byte{byte(id >> 8), byte(id)})
	}
	if c.is5() {
		vh.WriteByte(0) // no properties
	}
	vh.Write(body)
	b.WriteByte(packets.Publish<<4 | qos<<1)
	encodeLength(&b, vh.Len())
	b.Write(vh.Bytes())
	return b.Bytes()
}

// publishIDZero: QoS 1 and 2 PUBLISH packets MUST carry a non-zero packet
// identifier [MQTT-2.3.1-1 (3.1.1), MQTT-2.2.1-3 (5.0)].
func publishIDZero(c *C) {
	c.protocolError("a QoS 1 PUBLISH with packet identifier 0", c.rawPublish(c.topic("a"), 1, 0, []byte("x")), 0x81, 0x82)
}

// publishQoS3: a PUBLISH MUST NOT have both QoS bits set [MQTT-3.3.1-4];
// 5.0 calls it a Malformed Packet.
func publishQoS3(c *C) {
	c.protocolError("a PUBLISH with QoS 3", c.rawPublish(c.topic("a"), 3, 1, []byte("x")), 0x81)
}

// publishWildcard: a topic name MUST NOT contain wildcards [MQTT-3.3.2-2,
// MQTT-4.7.1-1].
func publishWildcard(c *C) {
	c.protocolError("a PUBLISH to a topic with '+'", c.rawPublish(c.topic("+"), 0, 0, []byte("x")), 0x81, 0x82, 0x90)
}

// publishBadUTF8: a receiver of ill-formed UTF-8 MUST close the connection
// [MQTT-1.5.3-1 (3.1.1), MQTT-1.5.4-1 (5.0)].
func publishBadUTF8(c *C) {
	c.protocolError("a topic name with the bytes ff fe", c.rawPublish(c.topic("a\xff\xfe"), 0, 0, []byte("x")), 0x81)
}

// publishNul: a UTF-8 string MUST NOT hold U+0000 [MQTT-1.5.3-2 (3.1.1),
// MQTT-1.5.4-2 (5.0), MQTT-4.7.3-2].
func publishNul(c *C) {
	c.protocolError("a topic name with U+0000", c.rawPublish(c.topic("a\x00b"), 0, 0, []byte("x")), 0x81)
}

// publishEmptyTopic: topic names are at least one character long
// [MQTT-4.7.3-1] (3.1.1); in 5.0 an empty topic name is valid only with a
// Topic Alias [MQTT-3.3.2-1, §3.3.2.3.4].
func publishEmptyTopic(c *C) {
	c.protocolError("a PUBLISH with an empty topic name", c.rawPublish("", 0, 0, []byte("x")), 0x81, 0x82)
}
