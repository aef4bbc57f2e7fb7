package conformance

import (
	"bytes"
	"fmt"
	"slices"

	paho5 "github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"
)

// MQTT 5 message properties on their way through the server: MQTT 5.0
// §3.3.2.3, and the acknowledgements' own properties (§3.4.2.2).
func propertyCases() []testCase {
	return []testCase{
		only5("properties", refs("MQTT-3.3.2-17", "MQTT-3.3.2-18"),
			"user properties reach subscribers unaltered, in order, duplicates kept", userPropertiesPass),
		only5("properties", refs("MQTT-3.3.2-20", "MQTT-3.3.2-4"),
			"Content Type and Payload Format Indicator reach subscribers unaltered", contentTypePasses),
		only5("properties", refs("MQTT-3.3.2-15", "MQTT-3.3.2-16", "§4.10"),
			"Response Topic and Correlation Data pass unaltered: a request gets its response", requestResponse),
		only5("properties", refs("§3.3.2.3.2", "MQTT-3.3.2-4"),
			"a payload declared UTF-8 that is not is refused with 0x99 and reaches nobody", payloadFormatInvalid),
		only5("properties", refs("MQTT-3.3.2-4", "MQTT-3.3.2-6", "MQTT-3.3.2-15", "MQTT-3.3.2-16", "MQTT-3.3.2-20"),
			"a message without properties arrives without any, and 3.1.1 and 5.0 clients exchange messages", nothingInvented),
		only5("properties", refs("MQTT-3.4.2-3", "MQTT-3.5.2-3", "MQTT-3.1.2-24"),
			"PUBACK and PUBREC never echo the publish's user properties", acksCarryNoUserProperties),
		only5("properties", refs("MQTT-3.3.2-14", "MQTT-4.13.1-1"),
			"a Response Topic with a wildcard closes the connection", responseTopicWildcard),
	}
}

// userPropertiesPass: the server sends all user properties unaltered
// [MQTT-3.3.2-17], in their order [MQTT-3.3.2-18]; a key may appear more
// than once.
func userPropertiesPass(c *C) {
	s := c.subscriber("subscriber", c.topic("a"), 1)
	user := []packets.UserProperty{
		{Key: "b", Val: "2"}, {Key: "a", Val: "1"}, {Key: "b", Val: "1"}, {Key: "empty", Val: ""},
		{Key: "ünïcödé", Val: "✓ value with spaces"}, {Key: "a", Val: "1"},
	}
	pub := c.publisher("publisher")
	for qos := byte(0); qos <= 2; qos++ {
		pub.publishAcked(c.topic("a"), qos, false, []byte{'0' + qos}, &packets.Properties{User: user})
	}
	for range 3 {
		if p := s.expectMessage(); !slices.Equal(p.Properties.User, user) {
			c.Errorf("%s arrived with user properties %v; want %v", p, p.Properties.User, user)
		}
	}
}

// contentTypePasses: the server sends the Content Type [MQTT-3.3.2-20] and
// the Payload Format Indicator [MQTT-3.3.2-4] unaltered.
func contentTypePasses(c *C) {
	s := c.subscriber("subscriber", c.topic("a"), 1)
	props := packets.Properties{ContentType: "application/vnd.example+json; charset=utf-8", PayloadFormat: 1, PayloadFormatFlag: true}
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, []byte(`{"ok":"✓"}`), &props)
	p := s.expectMessage()
	if got := p.Properties; got.ContentType != props.ContentType || !got.PayloadFormatFlag || got.PayloadFormat != 1 {
		c.Errorf("arrived with %s; want %s", describeProps(got), describeProps(props))
	}
}

// requestResponse: the server sends the Response Topic [MQTT-3.3.2-15]
// and the Correlation Data [MQTT-3.3.2-16] unaltered, which is all the
// request/response pattern of §4.10 needs; shown with paho.golang clients
// as applications use it.
func requestResponse(c *C) {
	responder := c.app(&paho5.Connect{ClientID: c.newID(), CleanStart: true})
	responder.mustSubscribe(c.topic("requests"), 1)
	requester := c.app(&paho5.Connect{ClientID: c.newID(), CleanStart: true})
	requester.mustSubscribe(c.topic("responses/+"), 1)

	correlation := []byte{0x00, 0xff, 'i', 'd', 0x7f}
	replyTo := c.topic("responses/" + requester.id)
	requester.publish(&paho5.Publish{Topic: c.topic("requests"), QoS: 1, Payload: []byte("ping?"),
		Properties: &paho5.PublishProperties{ResponseTopic: replyTo, CorrelationData: correlation}})

	req := responder.next()
	if req.Properties == nil || req.Properties.ResponseTopic != replyTo || !bytes.Equal(req.Properties.CorrelationData, correlation) {
		c.Fatalf("the request arrived with properties %+v; want Response Topic %s and Correlation Data % x", req.Properties, replyTo, correlation)
	}
	responder.publish(&paho5.Publish{Topic: req.Properties.ResponseTopic, QoS: 1, Payload: []byte("pong"),
		Properties: &paho5.PublishProperties{CorrelationData: req.Properties.CorrelationData}})

	resp := requester.next()
	if resp.Topic != replyTo || string(resp.Payload) != "pong" || resp.Properties == nil || !bytes.Equal(resp.Properties.CorrelationData, correlation) {
		c.Errorf("the response arrived as %s %q with properties %+v; want pong on %s with Correlation Data % x", resp.Topic, resp.Payload, resp.Properties, replyTo, correlation)
	}
}

// payloadFormatInvalid: a receiver MAY check that a payload whose Payload
// Format Indicator is 1 is UTF-8 and refuse it with 0x99 in PUBACK,
// PUBREC or DISCONNECT (§3.3.2.3.2); the suite holds servers to checking,
// and a refused message reaches nobody. A server with the
// NoPayloadFormatCheck deviation must instead forward the indicator
// unaltered [MQTT-3.3.2-4].
func payloadFormatInvalid(c *C) {
	s := c.subscriber("subscriber", c.topic("a"), 2)
	pub := c.publisher("publisher")
	utf8 := &packets.Properties{PayloadFormat: 1, PayloadFormatFlag: true}
	bad := []byte("not \xff\xfe UTF-8")
	checks := c.target.Has(NoPayloadFormatCheck)
	for qos := byte(1); qos <= 2; qos++ {
		ack := pub.publishAcked(c.topic("a"), qos, false, bad, utf8)
		switch {
		case checks:
			if ack.ReasonCode >= 0x80 {
				c.Errorf("QoS %d: %s from a server declaring no payload format check", qos, ack)
			}
		case ack.ReasonCode != 0x99:
			c.Errorf("QoS %d: %s for a payload declared UTF-8 that is not; want 0x99 (Payload format invalid)", qos, ack)
		}
	}
	pub.publishAcked(c.topic("a"), 1, false, []byte("valid ✓"), utf8)
	if checks {
		for range 2 {
			p := s.expectMessage()
			if !bytes.Equal(p.Payload, bad) || !p.Properties.PayloadFormatFlag || p.Properties.PayloadFormat != 1 {
				c.Errorf("got %s with %s; want the payload with its indicator unaltered", p, describeProps(p.Properties))
			}
		}
	}
	if p := s.expectMessage(); string(p.Payload) != "valid ✓" {
		c.Errorf("got %s; want the valid message only", p)
	}
}

// messagePropertyIDs lists the message properties a PUBLISH carries, by
// identifier, read from its bytes: absent and zero are told apart.
func messagePropertyIDs(c *C, p *rawPacket) []byte {
	c.Helper()
	b := p.raw[1:]
	for b[0]&0x80 != 0 {
		b = b[1:]
	}
	b = b[1:]
	n := int(b[0])<<8 | int(b[1])
	b = b[2+n:]
	if p.FixedHeader.Qos > 0 {
		b = b[2:]
	}
	length, used, err := packets.DecodeLength(bytes.NewReader(b))
	if err != nil {
		c.Fatalf("%s: property length: %v", p, err)
	}
	props := b[used : used+length]
	var ids []byte
	for len(props) > 0 {
		id := props[0]
		props = props[1:]
		ids = append(ids, id)
		switch id {
		case packets.PropPayloadFormat:
			props = props[1:]
		case packets.PropMessageExpiryInterval:
			props = props[4:]
		case packets.PropTopicAlias:
			props = props[2:]
		case packets.PropContentType, packets.PropResponseTopic, packets.PropCorrelationData:
			props = props[2+(int(props[0])<<8|int(props[1])):]
		case packets.PropUser:
			for range 2 {
				props = props[2+(int(props[0])<<8|int(props[1])):]
			}
		case packets.PropSubscriptionIdentifier:
			_, used, _ := packets.DecodeLength(bytes.NewReader(props))
			props = props[used:]
		default:
			c.Fatalf("%s: property %d is not a PUBLISH property", p, id)
		}
	}
	return ids
}

// nothingInvented: a message published without properties arrives
// without Payload Format Indicator, Message Expiry Interval, Content Type,
// Response Topic, Correlation Data or user properties: there is nothing
// to forward [MQTT-3.3.2-4, MQTT-3.3.2-6, MQTT-3.3.2-15, MQTT-3.3.2-16,
// MQTT-3.3.2-20]. A 3.1.1 client's message reaches a 5.0 subscriber so,
// and a 5.0 client's message with properties reaches a 3.1.1 subscriber
// with its topic and payload intact.
func nothingInvented(c *C) {
	s5 := c.subscriber("5.0 subscriber", c.topic("a"), 1)
	old := &C{TB: c.TB, target: c.target, version: v311, slug: c.slug}
	old.ids.Store(100)
	s311 := old.subscriber("3.1.1 subscriber", c.topic("a"), 1)
	pub311 := old.publisher("3.1.1 publisher")
	pub311.publishAcked(c.topic("a"), 1, false, []byte("from 3.1.1"), nil)
	if p := s5.expectMessage(); string(p.Payload) != "from 3.1.1" {
		c.Errorf("got %s", p)
	} else if ids := messagePropertyIDs(c, p); len(ids) != 0 {
		c.Errorf("a 3.1.1 message arrived with properties % x; want none", ids)
	}
	s311.expectMessage()

	pub5 := c.publisher("5.0 publisher")
	pub5.publishAcked(c.topic("a"), 1, false, []byte("plain"), nil)
	if p := s5.expectMessage(); string(p.Payload) != "plain" {
		c.Errorf("got %s", p)
	} else if ids := messagePropertyIDs(c, p); len(ids) != 0 {
		c.Errorf("a message published without properties arrived with properties % x; want none", ids)
	}
	s311.expectMessage()

	props := packets.Properties{ContentType: "text/plain", User: []packets.UserProperty{{Key: "k", Val: "v"}}, MessageExpiryInterval: 300}
	pub5.publishAcked(c.topic("a"), 1, false, []byte("5.0 with properties"), &props)
	if p := s311.expectMessage(); p.TopicName != c.topic("a") || string(p.Payload) != "5.0 with properties" {
		c.Errorf("the 3.1.1 subscriber got %s", p)
	}
	s5.expectMessage()
}

// acksCarryNoUserProperties: the user properties of a PUBACK or PUBREC
// are the server's diagnostics (§3.4.2.2.3), never a copy of the
// publish's: the server MUST NOT send them if they would push the
// acknowledgement past the client's Maximum Packet Size [MQTT-3.4.2-3,
// MQTT-3.5.2-3, MQTT-3.1.2-24], and sends none of the publish's at all,
// with or without that limit.
func acksCarryNoUserProperties(c *C) {
	user := []packets.UserProperty{
		{Key: "trace-id", Val: string(payload("4bf92f3577b34da6a3ce929d0e0e4736", 100))},
		{Key: "device", Val: string(payload("sensor", 100))},
		{Key: "echo", Val: string(payload("me", 100))},
	}
	for _, mps := range []uint32{0, 256} {
		o := conn{id: c.newID()}
		o.props.MaximumPacketSize = mps
		r, _ := c.connect(fmt.Sprintf("publisher, Maximum Packet Size %d", mps), o)
		for qos := byte(1); qos <= 2; qos++ {
			ack := r.publishAcked(c.topic("a"), qos, false, []byte("x"), &packets.Properties{User: user})
			for _, u := range ack.Properties.User {
				if slices.Contains(user, u) {
					c.Errorf("QoS %d, Maximum Packet Size %d: %s echoes the publish's user property %q", qos, mps, ack, u.Key)
				}
			}
		}
	}
}

// responseTopicWildcard: a Response Topic MUST NOT contain wildcards
// [MQTT-3.3.2-14]; the server closes the connection on the protocol error
// [MQTT-4.13.1-1].
func responseTopicWildcard(c *C) {
	b := c.encode(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, TopicName: c.topic("a"), PacketID: 1,
		Payload: []byte("x"), Properties: packets.Properties{ResponseTopic: c.topic("+")},
	})
	// The codec drops a Response Topic with a wildcard: patch one in.
	if !bytes.Contains(b, []byte(c.topic("+"))) {
		b = c.encode(packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, TopicName: c.topic("a"), PacketID: 1,
			Payload: []byte("x"), Properties: packets.Properties{ResponseTopic: c.topic("x")},
		})
		i := bytes.LastIndex(b, []byte(c.topic("x")))
		b[i+len(c.topic("x"))-1] = '+'
	}
	c.protocolError("a Response Topic with '+'", b, 0x81, 0x82, 0x90)
}
