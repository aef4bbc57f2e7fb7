package conformance

import (
	"fmt"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Topic aliases both ways: MQTT 5.0 §3.3.2.3.4, §3.1.2.11.5, §3.2.2.3.8.
func topicAliasCases() []testCase {
	return []testCase{
		only5("topicalias", refs("MQTT-3.3.2-12", "MQTT-3.3.2-3"),
			"a client's topic alias stands for its topic, and can be remapped", clientAlias),
		only5("topicalias", refs("MQTT-3.3.2-8", "§3.3.2.3.4"),
			"topic alias 0 closes the connection", aliasZero),
		only5("topicalias", refs("MQTT-3.2.2-17", "MQTT-3.3.2-9", "§3.3.2.3.4"),
			"a topic alias above the server's Topic Alias Maximum gets DISCONNECT 0x94", aliasTooHigh),
		only5("topicalias", refs("§3.3.2.3.4", "MQTT-4.13.1-1"),
			"an alias never set, with an empty topic, gets DISCONNECT 0x82", aliasUnknown),
		only5("topicalias", refs("MQTT-3.3.2-7"),
			"topic aliases do not outlive their network connection", aliasPerConnection),
		only5("topicalias", refs("MQTT-3.1.2-27"),
			"the server sends no topic alias to a client that allows none", serverNoAliases),
		only5("topicalias", refs("MQTT-3.1.2-26", "MQTT-3.3.2-11", "MQTT-3.3.2-3"),
			"the server's topic aliases stay within the client's maximum and resolve to the right topics", serverAliases),
	}
}

// aliased returns PUBLISH properties setting topic alias a.
func aliased(a uint16) *packets.Properties {
	return &packets.Properties{TopicAlias: a, TopicAliasFlag: true}
}

// clientAlias: the server accepts topic aliases from 1 to its Topic Alias
// Maximum [MQTT-3.3.2-12]: a PUBLISH with an alias and an empty topic is
// delivered on the topic the alias was last set to [MQTT-3.3.2-3].
func clientAlias(c *C) {
	max := c.target.Limits.TopicAliasMaximum
	c.need(max > 0, "Topic Alias Maximum")
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	s.mustSubscribe(sub(c.topic("+"), 1))
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, []byte("sets 1 to a"), aliased(1))
	pub.publishAcked("", 1, false, []byte("1 is a"), aliased(1))
	pub.publishAcked(c.topic("b"), 1, false, []byte("sets max to b"), aliased(max))
	pub.publishAcked("", 1, false, []byte("max is b"), aliased(max))
	pub.publishAcked(c.topic("c"), 1, false, []byte("remaps 1 to c"), aliased(1))
	pub.publishAcked("", 1, false, []byte("1 is c"), aliased(1))
	pub.publishAcked("", 1, false, []byte("max is still b"), aliased(max))
	for _, want := range []string{"a", "a", "b", "b", "c", "c", "b"} {
		if p := s.expectMessage(); p.TopicName != c.topic(want) {
			c.Errorf("%s; want it on %s", p, c.topic(want))
		}
	}
}

// aliasZero: a sender MUST NOT use topic alias 0 [MQTT-3.3.2-8]; the
// receiver closes the connection, after a DISCONNECT saying Topic Alias
// invalid (0x94), Protocol Error or Malformed Packet: the reason code
// table gives 0x94 for aliases above the maximum, §3.3.2.3.4 calls 0 not
// permitted.
func aliasZero(c *C) {
	b := c.encode(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 1,
		TopicName: c.topic("a"), Payload: []byte("x"), Properties: *aliased(1)})
	// The codec leaves out alias 0: zero the alias written.
	i := len(b) - 1 - 3 // Payload "x", then back over the alias value
	b[i+1], b[i+2] = 0, 0
	if b[i] != packets.PropTopicAlias {
		c.Fatalf("encoded PUBLISH % x: no topic alias where expected", b)
	}
	c.protocolError("topic alias 0", b, 0x94, 0x82, 0x81)
}

// aliasTooHigh: a client MUST NOT send a topic alias above the server's
// Topic Alias Maximum [MQTT-3.2.2-17, MQTT-3.3.2-9]; the server answers
// DISCONNECT 0x94 (§3.3.2.3.4).
func aliasTooHigh(c *C) {
	max := c.target.Limits.TopicAliasMaximum
	c.need(max > 0 && max < 65535, "Topic Alias Maximum below 65535")
	c.protocolError(fmt.Sprintf("topic alias %d, over the maximum %d", max+1, max),
		c.encode(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 1,
			TopicName: c.topic("a"), Payload: []byte("x"), Properties: *aliased(max + 1)}), 0x94)
}

// aliasUnknown: an empty topic with an alias the receiver has no mapping
// for is a Protocol Error, DISCONNECT 0x82 (§3.3.2.3.4).
func aliasUnknown(c *C) {
	c.need(c.target.Limits.TopicAliasMaximum > 0, "Topic Alias Maximum")
	c.protocolError("an empty topic with topic alias 1, never set",
		c.encode(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 1,
			Payload: []byte("x"), Properties: *aliased(1)}), 0x82)
}

// aliasPerConnection: a receiver MUST NOT carry topic aliases from one
// network connection to another [MQTT-3.3.2-7]: after a reconnect, with
// the session resumed, the old alias is unknown.
func aliasPerConnection(c *C) {
	c.need(c.target.Limits.TopicAliasMaximum > 0, "Topic Alias Maximum")
	id := c.newID()
	r, _ := c.connect("first", conn{id: id, session: persistent})
	r.publishAcked(c.topic("a"), 1, false, []byte("sets 1"), aliased(1))
	r.disconnect()
	r2, ack := c.connect("second", conn{id: id, session: persistent})
	if !ack.SessionPresent {
		c.Errorf("%s; want the session resumed", ack)
	}
	r2.publish("", 1, false, []byte("1 is gone"), aliased(1))
	r2.expectClosed("topic alias 1 of the previous connection", 0x82)
}

// serverNoAliases: with Topic Alias Maximum absent, the server MUST NOT
// send topic aliases [MQTT-3.1.2-27]; the client checks every PUBLISH.
func serverNoAliases(c *C) {
	s := c.subscriber("subscriber", c.topic("a"), 1)
	pub := c.publisher("publisher")
	for i := range 5 {
		pub.publishAcked(c.topic("a"), 1, false, fmt.Appendf(nil, "%d", i), nil)
	}
	s.expectMessages(5)
}

// serverAliases: the server MUST NOT send a topic alias above the client's
// Topic Alias Maximum [MQTT-3.1.2-26, MQTT-3.3.2-11]; each aliased PUBLISH
// resolves to the topic it was published on [MQTT-3.3.2-3]. Whether the
// server uses aliases at all is its choice.
func serverAliases(c *C) {
	o := conn{id: c.newID()}
	o.props.TopicAliasMaximum = 2
	s, _ := c.connect("subscriber", o)
	s.mustSubscribe(sub(c.topic("+"), 1))
	pub := c.publisher("publisher")
	var sent []string
	for i := range 12 {
		name := string(rune('a' + i%3))
		sent = append(sent, name)
		pub.publishAcked(c.topic(name), 1, false, []byte(name), nil)
	}
	aliasesUsed := 0
	for _, name := range sent {
		p := s.expectMessage()
		if p.TopicName != c.topic(name) || string(p.Payload) != name {
			c.Errorf("%s; want the message published on %s", p, c.topic(name))
		}
		if p.Properties.TopicAliasFlag {
			aliasesUsed++
		}
	}
	c.Logf("the server used topic aliases on %d of %d messages", aliasesUsed, len(sent))
}
