package conformance

import (
	"bytes"
	"fmt"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Flow control: Receive Maximum both ways, MQTT 5.0 §3.3.4, §4.9.
func flowControlCases() []testCase {
	return []testCase{
		only5("flowcontrol", refs("MQTT-3.3.4-9", "MQTT-4.9.0-2"),
			"the server never has more unacknowledged QoS 1 messages out than the client's Receive Maximum", receiveMaximumQoS1),
		only5("flowcontrol", refs("MQTT-3.3.4-9", "MQTT-4.9.0-2"),
			"a QoS 2 message counts against the client's Receive Maximum until PUBCOMP", receiveMaximumQoS2),
		only5("flowcontrol", refs("MQTT-3.3.4-10", "MQTT-4.9.0-3"),
			"with the client's Receive Maximum used up the server still answers PINGREQ and SUBSCRIBE", quotaDoesNotBlockOthers),
		only5("flowcontrol", refs("§3.3.4", "§4.9", "MQTT-3.3.4-7"),
			"a client exceeding the server's Receive Maximum gets DISCONNECT 0x93", serverReceiveMaximumExceeded),
		only5("flowcontrol", refs("§3.1.2.11.3", "MQTT-3.1.4-1"),
			"a CONNECT with Receive Maximum 0 is refused", receiveMaximumZero),
	}
}

// flowSubscriber connects a client with Receive Maximum rm and subscribes
// it at qos.
func (c *C) flowSubscriber(rm uint16, qos byte) *rawClient {
	c.Helper()
	o := conn{id: c.newID()}
	o.props.ReceiveMaximum = rm
	r, _ := c.connect("subscriber", o)
	r.mustSubscribe(sub(c.topic("a"), qos))
	return r
}

// receiveMaximumQoS1: the server MUST NOT send more QoS 1 and 2 PUBLISH
// packets than the client's Receive Maximum without their acknowledgement
// [MQTT-3.3.4-9, MQTT-4.9.0-2]; each PUBACK frees one, and nothing is lost
// or reordered.
func receiveMaximumQoS1(c *C) {
	const rm, n = 2, 6
	s := c.flowSubscriber(rm, 1)
	pub := c.publisher("publisher")
	for i := range n {
		pub.publishAcked(c.topic("a"), 1, false, fmt.Appendf(nil, "%d", i), nil)
	}
	var held []*rawPacket
	for range rm {
		held = append(held, s.expect(packets.Publish))
	}
	window := func(why string) {
		c.Helper()
		if p, ok := s.next(quiet); ok {
			c.Fatalf("got %s with %d messages unacknowledged and Receive Maximum %d: %s", p, len(held), rm, why)
		}
	}
	window("nothing more may come")
	got := held
	for len(got) < n {
		s.ack(packets.Puback, held[0].PacketID)
		held = held[1:]
		p := s.expect(packets.Publish)
		held, got = append(held, p), append(got, p)
		if len(got) < n {
			window("one acknowledgement frees one slot")
		}
	}
	for i, p := range got {
		if string(p.Payload) != fmt.Sprint(i) {
			c.Errorf("message %d arrived as %s", i, p)
		}
	}
}

// receiveMaximumQoS2: a QoS 2 PUBLISH holds its slot until PUBCOMP, even
// after PUBREC and PUBREL [MQTT-3.3.4-9, MQTT-4.9.0-2].
func receiveMaximumQoS2(c *C) {
	s := c.flowSubscriber(1, 2)
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 2, false, []byte("first"), nil)
	pub.publishAcked(c.topic("a"), 2, false, []byte("second"), nil)
	p := s.expect(packets.Publish)
	s.ack(packets.Pubrec, p.PacketID)
	s.expect(packets.Pubrel)
	s.expectNothing(quiet, "the first QoS 2 message is not complete until PUBCOMP")
	s.ack(packets.Pubcomp, p.PacketID)
	if p := s.expect(packets.Publish); string(p.Payload) != "second" {
		c.Errorf("got %s; want the second message", p)
	}
}

// quotaDoesNotBlockOthers: with its send quota at 0 the server MUST NOT
// delay packets other than PUBLISH [MQTT-3.3.4-10] and goes on processing
// and answering the client's [MQTT-4.9.0-3].
func quotaDoesNotBlockOthers(c *C) {
	s := c.flowSubscriber(1, 1)
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, []byte("first"), nil)
	pub.publishAcked(c.topic("a"), 1, false, []byte("second"), nil)
	held := s.expect(packets.Publish)
	s.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	s.expect(packets.Pingresp)
	ack := s.subscribe(0, sub(c.topic("b"), 1))
	if ack.ReasonCodes[0] != 1 {
		c.Errorf("%s", ack)
	}
	s.ack(packets.Puback, held.PacketID)
	if p := s.expect(packets.Publish); string(p.Payload) != "second" {
		c.Errorf("got %s; want the second message", p)
	}
}

// serverReceiveMaximumExceeded: the client MUST NOT send more QoS 1 and 2
// publishes than the server's Receive Maximum unacknowledged
// [MQTT-3.3.4-7]; a server receiving more uses DISCONNECT 0x93 (Receive
// Maximum exceeded, §3.3.4, §4.9). QoS 2 publishes stay unacknowledged
// until PUBCOMP, so the client holds back its PUBRELs.
func serverReceiveMaximumExceeded(c *C) {
	rm := int(c.target.Limits.receiveMaximum())
	c.need(rm < 65535, "Receive Maximum below 65535 (a client cannot exceed 65535 without reusing a packet identifier)")
	r, ack := c.connect("client", conn{id: c.newID()})
	if got := int(ack.Properties.ReceiveMaximum); got != 0 && got != rm {
		c.Fatalf("%s advertises Receive Maximum %d; the target declares %d", ack, got, rm)
	}
	var batch bytes.Buffer
	for i := 1; i <= rm; i++ {
		batch.Write(r.encode(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 2},
			TopicName: c.topic("a"), PacketID: uint16(i), Payload: []byte("x")}))
	}
	r.sendBytes(batch.Bytes())
	for range rm {
		if rec := r.expect(packets.Pubrec); rec.ReasonCode >= 0x80 {
			c.Fatalf("%s within the server's Receive Maximum of %d", rec, rm)
		}
	}
	r.sendBytes(r.encode(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 2},
		TopicName: c.topic("a"), PacketID: uint16(rm + 1), Payload: []byte("one too many")}))
	r.expectClosed(fmt.Sprintf("QoS 2 publish number %d with Receive Maximum %d", rm+1, rm), 0x93)
}

// receiveMaximumZero: a Receive Maximum of 0 is a Protocol Error
// (§3.1.2.11.3); the server refuses the CONNECT [MQTT-3.1.4-1].
func receiveMaximumZero(c *C) {
	r := c.dial("client")
	b := c.connectBytes(r, conn{id: c.newID()})
	// The codec leaves out a Receive Maximum of 0: insert one by hand.
	b = c.insertConnectProperty(b, []byte{packets.PropReceiveMaximum, 0, 0})
	r.sendBytes(b)
	r.expectRefused("Receive Maximum 0", 0x82, 0x81)
}

// insertConnectProperty adds prop to a short 5.0 CONNECT's properties,
// fixing the property length and the remaining length.
func (c *C) insertConnectProperty(b, prop []byte) []byte {
	c.Helper()
	i := connectFlags(b) + 3 // past the flags and the keep-alive: the property length
	if b[1]&0x80 != 0 || int(b[1])+len(prop) > 0x7f || int(b[i])+len(prop) > 0x7f {
		c.Fatalf("insertConnectProperty: a CONNECT this short has one-byte lengths")
	}
	out := append([]byte{}, b[:i+1]...)
	out[1] += byte(len(prop))
	out[i] += byte(len(prop))
	out = append(out, prop...)
	return append(out, b[i+1:]...)
}
