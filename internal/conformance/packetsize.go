package conformance

import (
	"bytes"
	"fmt"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Maximum Packet Size both ways: MQTT 5.0 §3.1.2.11.4, §3.2.2.3.6.
func packetSizeCases() []testCase {
	return []testCase{
		only5("packetsize", refs("MQTT-3.1.2-24", "MQTT-3.1.2-25"),
			"a message too large for the client's Maximum Packet Size is dropped for it, the rest delivered", clientMaximumPacketSize),
		only5("packetsize", refs("§3.2.2.3.6", "MQTT-3.2.2-15", "§4.13"),
			"a packet over the server's Maximum Packet Size gets DISCONNECT 0x95; one of exactly that size is accepted", serverMaximumPacketSize),
		only5("packetsize", refs("§3.1.2.11.4", "MQTT-3.1.4-1"),
			"a CONNECT with Maximum Packet Size 0 is refused", maximumPacketSizeZero),
	}
}

// clientMaximumPacketSize: the server MUST NOT send a packet larger than
// the client's Maximum Packet Size [MQTT-3.1.2-24]; it discards such a
// message for that client as if sent [MQTT-3.1.2-25], and delivers what
// fits.
func clientMaximumPacketSize(c *C) {
	const mps = 512
	o := conn{id: c.newID()}
	o.props.MaximumPacketSize = mps
	s, _ := c.connect("subscriber", o)
	s.mustSubscribe(sub(c.topic("a"), 1))
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, payload("too large", 2*mps), nil)
	pub.publishAcked(c.topic("a"), 1, false, []byte("fits"), nil)
	if p := s.expectMessage(); string(p.Payload) != "fits" {
		c.Errorf("got %s; want only the message that fits in %d bytes", p, mps)
	}
}

// publishOfSize builds a QoS 1 PUBLISH of exactly size bytes.
func (c *C) publishOfSize(topic string, id uint16, size int) []byte {
	c.Helper()
	overhead := len(c.rawPublish(topic, 1, id, nil))
	for n := size - overhead; n >= 0; n-- {
		if b := c.rawPublish(topic, 1, id, payload("sized", n)); len(b) == size {
			return b
		}
	}
	c.Fatalf("no PUBLISH of %d bytes on %s", size, topic)
	return nil
}

// serverMaximumPacketSize: the client MUST NOT send packets larger than
// the server's Maximum Packet Size [MQTT-3.2.2-15]; the server takes a
// larger one as a Protocol Error, DISCONNECT 0x95 (Packet too large,
// §3.2.2.3.6, §4.13), and delivers none of it. A packet of exactly the
// maximum is within it.
func serverMaximumPacketSize(c *C) {
	mps := int(c.target.Limits.MaximumPacketSize)
	c.need(mps > 0, "Maximum Packet Size")
	s := c.subscriber("subscriber", c.topic("a"), 1)
	r, _ := c.connect("client", conn{id: c.newID()})
	r.sendBytes(c.publishOfSize(c.topic("a"), 1, mps))
	if ack := r.expect(packets.Puback); ack.ReasonCode >= 0x80 {
		c.Errorf("%s for a PUBLISH of exactly the Maximum Packet Size, %d bytes", ack, mps)
	}
	if p := s.expectMessage(); !bytes.HasPrefix(p.Payload, []byte("sized")) {
		c.Errorf("got %s", p)
	}
	_ = r.trySendBytes(c.publishOfSize(c.topic("a"), 2, mps+1))
	r.expectClosed(fmt.Sprintf("a PUBLISH of %d bytes, over the Maximum Packet Size", mps+1), 0x95)
	s.expectNothing(quiet, "the oversized PUBLISH is not delivered")
}

// maximumPacketSizeZero: a Maximum Packet Size of 0 is a Protocol Error
// (§3.1.2.11.4); the server refuses the CONNECT [MQTT-3.1.4-1].
func maximumPacketSizeZero(c *C) {
	r := c.dial("client")
	b := c.connectBytes(r, conn{id: c.newID()})
	b = c.insertConnectProperty(b, []byte{packets.PropMaximumPacketSize, 0, 0, 0, 0})
	r.sendBytes(b)
	r.expectRefused("Maximum Packet Size 0", 0x82, 0x81)
}
