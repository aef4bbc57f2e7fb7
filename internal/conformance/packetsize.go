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

// publishOfSize builds a QoS 1 PUBLISH of exactly size bytes on topic,
// or, when its payload would be over maxPayload (0: no limit), on topic
// with a level added that makes up the rest. It returns the packet and
// the topic it is on.
func (c *C) publishOfSize(topic string, id uint16, size, maxPayload int) ([]byte, string) {
	c.Helper()
	overhead := len(c.rawPublish(topic, 1, id, nil))
	if maxPayload == 0 || size-overhead <= maxPayload {
		for n := size - overhead; n >= 0; n-- {
			if b := c.rawPublish(topic, 1, id, payload("sized", n)); len(b) == size {
				return b, topic
			}
		}
	} else {
		body := payload("sized", maxPayload)
		// Topic names are at most 65535 bytes [MQTT-1.5.3].
		for n := size - overhead - maxPayload - 1; n >= 0 && len(topic)+1+n <= 65535; n-- {
			long := topic + "/" + string(payload("level", n))
			if b := c.rawPublish(long, 1, id, body); len(b) == size {
				return b, long
			}
		}
	}
	c.Fatalf("no PUBLISH of %d bytes on %s with a payload of at most %d bytes", size, topic, maxPayload)
	return nil, ""
}

// serverMaximumPacketSize: the client MUST NOT send packets larger than
// the server's Maximum Packet Size [MQTT-3.2.2-15]; the server takes a
// larger one as a Protocol Error, DISCONNECT 0x95 (Packet too large,
// §3.2.2.3.6, §4.13), and delivers none of it. A packet of exactly the
// maximum is within it; where the server takes smaller payloads than that
// (Limits.MaxPayload), its topic is longer, and a payload over the limit
// is refused while the connection stays.
func serverMaximumPacketSize(c *C) {
	mps := int(c.target.Limits.MaximumPacketSize)
	maxPayload := c.target.Limits.MaxPayload
	c.need(mps > 0, "Maximum Packet Size")
	s := c.subscriber("subscriber", c.topic("a/#"), 1)
	r, _ := c.connect("client", conn{id: c.newID()})
	if maxPayload > 0 && maxPayload < mps {
		id := r.publish(c.topic("a"), 1, false, payload("over the payload limit", maxPayload+1), nil)
		ack := r.expect(packets.Puback)
		r.checkAckID(ack, id)
		if ack.ReasonCode < 0x80 {
			c.Errorf("%s for a payload of %d bytes, over the target's limit of %d", ack, maxPayload+1, maxPayload)
		}
	}
	b, topic := c.publishOfSize(c.topic("a"), 1, mps, maxPayload)
	r.sendBytes(b)
	if ack := r.expect(packets.Puback); ack.ReasonCode >= 0x80 {
		c.Errorf("%s for a PUBLISH of exactly the Maximum Packet Size, %d bytes", ack, mps)
	}
	if p := s.expectMessage(); !bytes.HasPrefix(p.Payload, []byte("sized")) || p.TopicName != topic {
		c.Errorf("got %s; want the PUBLISH of %d bytes, on its topic of %d bytes", p, mps, len(topic))
	}
	b, _ = c.publishOfSize(c.topic("a"), 2, mps+1, maxPayload)
	_ = r.trySendBytes(b)
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
