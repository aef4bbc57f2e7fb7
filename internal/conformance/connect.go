package conformance

import (
	"cmp"
	"strings"

	"github.com/mochi-mqtt/server/v2/packets"
)

// CONNECT and CONNACK: MQTT 3.1.1 §3.1–3.2, MQTT 5.0 §3.1–3.2.
func connectCases() []testCase {
	var cs []testCase
	add := func(c ...testCase) { cs = append(cs, c...) }
	add(both("connect", refs("MQTT-3.1.0-1"), refs("MQTT-3.1.0-1", "MQTT-3.14.0-1"),
		"a first packet other than CONNECT closes the connection, unanswered", firstPacketNotConnect)...)
	add(both("connect", refs("MQTT-3.1.0-2"), refs("MQTT-3.1.0-2"),
		"a second CONNECT is a protocol violation and closes the connection", secondConnect)...)
	add(only311("connect", refs("MQTT-3.1.2-2"),
		"an unsupported protocol level gets CONNACK 0x01 and the connection closed", unsupportedLevel))
	add(both("connect", refs("MQTT-3.1.2-1"), refs("MQTT-3.1.2-1"),
		"a protocol name other than MQTT is refused", badProtocolName)...)
	add(both("connect", refs("MQTT-3.1.2-3"), refs("MQTT-3.1.2-3"),
		"a CONNECT with its reserved flag set is refused", reservedConnectFlag)...)
	add(both("connect", refs("MQTT-3.1.2-14"), refs("MQTT-3.1.2-12"),
		"a will QoS of 3 is refused", willQoS3)...)
	add(both("connect", refs("MQTT-3.1.2-15"), refs("MQTT-3.1.2-13"),
		"will retain set without a will is refused", willRetainWithoutWill)...)
	add(both("connect", refs("MQTT-3.1.2-19"), refs("MQTT-3.1.2-17"),
		"a user name flag without a user name is refused", userFlagWithoutUser)...)
	add(only311("connect", refs("MQTT-3.1.2-22"),
		"a password without a user name is refused", passwordWithoutUser311))
	add(only5("connect", refs("§3.1.2.9", "MQTT-3.1.4-5"),
		"a password without a user name is accepted", passwordWithoutUser5))
	add(both("connect", refs("MQTT-3.1.3-5"), refs("MQTT-3.1.3-5"),
		"a 23-character client ID of letters and digits is accepted", clientID23)...)
	add(only311("connect", refs("MQTT-3.1.3-8"),
		"a zero-length client ID with clean session 0 gets CONNACK 0x02", emptyIDPersistent311))
	add(only311("connect", refs("MQTT-3.1.3-6"),
		"a zero-length client ID with clean session 1 is accepted", emptyIDClean311))
	add(only5("connect", refs("MQTT-3.1.3-6", "MQTT-3.1.3-7", "MQTT-3.2.2-16"),
		"a zero-length client ID gets a unique Assigned Client Identifier that names its session", assignedClientID))
	add(both("connect", refs("MQTT-3.1.4-2"), refs("MQTT-3.1.4-3"),
		"a second connection with a connected client ID takes over and closes the first", takeover)...)
	add(both("connect", refs("MQTT-3.1.4-5"), refs("MQTT-3.1.4-6"),
		"nothing after a refused CONNECT is processed", refusedConnectIgnoresRest)...)
	add(only5("connect", refs("§3.2.2.3", "MQTT-3.2.2-9", "MQTT-3.1.2-28"),
		"CONNACK advertises the server's limits and features, and no unrequested Response Information", connackAdvertises))
	add(only5("connect", refs("MQTT-3.1.2-29"),
		"Request Problem Information 0 keeps Reason Strings and User Properties off acknowledgements", noProblemInfo))
	return cs
}

// connectBytes encodes o's CONNECT for the case's version.
func (c *C) connectBytes(r *rawClient, o conn) []byte {
	return r.encode(o.packet(c.version))
}

// connectFlags returns the index of a CONNECT's Connect Flags byte.
func connectFlags(b []byte) int {
	i := 1
	for b[i]&0x80 != 0 {
		i++
	}
	return i + 1 + 2 + 4 + 1 // remaining length, protocol name "MQTT", protocol level
}

// firstPacketNotConnect: [MQTT-3.1.0-1] the first packet from a client
// MUST be CONNECT; the server closes a connection that starts otherwise,
// and sends no DISCONNECT before a CONNACK [MQTT-3.14.0-1] (5.0).
func firstPacketNotConnect(c *C) {
	r := c.dial("client")
	r.sendSubscribe(0, sub(c.topic("a"), 0))
	if d := r.expectClosed("SUBSCRIBE before CONNECT"); d != nil {
		c.Errorf("%s before any CONNACK [MQTT-3.14.0-1]", d)
	}
}

// secondConnect: [MQTT-3.1.0-2] a second CONNECT is a protocol violation
// (5.0: Protocol Error, 0x82) and the server closes the connection.
func secondConnect(c *C) {
	o := conn{id: c.newID()}
	r, _ := c.connect("client", o)
	r.sendConnect(o)
	r.expectClosed("a second CONNECT", 0x82)
}

// unsupportedLevel: [MQTT-3.1.2-2] (3.1.1) the server MUST answer a
// protocol level it does not support with CONNACK 0x01 and disconnect.
func unsupportedLevel(c *C) {
	r := c.dial("client")
	b := c.connectBytes(r, conn{id: c.newID()})
	b[connectFlags(b)-1] = 6
	r.sendBytes(b)
	ack := r.expect(packets.Connack)
	if ack.ReasonCode != 0x01 {
		c.Errorf("%s; want return code 0x01 (unacceptable protocol version)", ack)
	}
	r.expectClosed("after refusing the CONNECT [MQTT-3.2.2-5]")
}

// badProtocolName: [MQTT-3.1.2-1] a protocol name other than "MQTT" is
// not this protocol: the server does not accept the connection and closes
// it (3.1.1: it MAY disconnect at once; 5.0: it MAY first answer CONNACK
// 0x84, the only code the statement allows).
func badProtocolName(c *C) {
	r := c.dial("client")
	b := c.connectBytes(r, conn{id: c.newID()})
	i := connectFlags(b) - 2 // the name's last byte
	b[i] = 'X'
	r.sendBytes(b)
	if c.is5() {
		r.expectRefused("protocol name MQTX", 0x84)
	} else {
		r.expectRefused("protocol name MQTX")
	}
}

// reservedConnectFlag: [MQTT-3.1.2-3] the server MUST validate that the
// reserved Connect Flag is 0 and close the connection if not; no 3.1.1
// return code applies, so none is sent [MQTT-3.2.2-6]; 5.0 calls it a
// Malformed Packet (0x81).
func reservedConnectFlag(c *C) {
	r := c.dial("client")
	b := c.connectBytes(r, conn{id: c.newID()})
	b[connectFlags(b)] |= 0x01
	r.sendBytes(b)
	if c.is5() {
		r.expectRefused("reserved flag set", 0x81)
	} else {
		r.expectClosed("reserved flag set: no return code applies [MQTT-3.2.2-6]")
	}
}

// willQoS3: [MQTT-3.1.2-14] (3.1.1), [MQTT-3.1.2-12] (5.0): a will QoS
// MUST NOT be 3; 5.0 calls it a Malformed Packet.
func willQoS3(c *C) {
	r := c.dial("client")
	b := c.connectBytes(r, conn{id: c.newID(), will: &will{topic: c.topic("will"), payload: []byte("w")}})
	b[connectFlags(b)] |= 3 << 3
	r.sendBytes(b)
	if c.is5() {
		r.expectRefused("will QoS 3", 0x81, 0x82)
	} else {
		r.expectRefused("will QoS 3")
	}
}

// willRetainWithoutWill: [MQTT-3.1.2-15] (3.1.1), [MQTT-3.1.2-13] (5.0):
// with the Will Flag 0, Will Retain MUST be 0.
func willRetainWithoutWill(c *C) {
	r := c.dial("client")
	b := c.connectBytes(r, conn{id: c.newID()})
	b[connectFlags(b)] |= 0x20
	r.sendBytes(b)
	if c.is5() {
		r.expectRefused("will retain without a will", 0x81, 0x82)
	} else {
		r.expectRefused("will retain without a will")
	}
}

// userFlagWithoutUser: [MQTT-3.1.2-19] (3.1.1), [MQTT-3.1.2-17] (5.0):
// with the User Name Flag 1, a user name MUST be in the payload; a CONNECT
// without one is malformed.
func userFlagWithoutUser(c *C) {
	r := c.dial("client")
	b := c.connectBytes(r, conn{id: c.newID()})
	b[connectFlags(b)] |= 0x80
	r.sendBytes(b)
	if c.is5() {
		r.expectRefused("user name flag without a user name", 0x81, 0x82)
	} else {
		r.expectRefused("user name flag without a user name")
	}
}

// passwordWithoutUser311: [MQTT-3.1.2-22] (3.1.1) with the User Name
// Flag 0 the Password Flag MUST be 0.
func passwordWithoutUser311(c *C) {
	r := c.dial("client")
	b := c.connectBytes(r, conn{id: c.newID(), password: []byte("secret")})
	r.sendBytes(b)
	r.expectRefused("a password without a user name", 0x04, 0x05)
}

// passwordWithoutUser5: MQTT 5.0 §3.1.2.9 lets a client send a password
// without a user name; a server that lets anyone in accepts it
// [MQTT-3.1.4-5].
func passwordWithoutUser5(c *C) {
	r := c.dial("client")
	ack := r.connectWith(conn{id: c.newID(), password: []byte("secret")})
	if ack.ReasonCode != 0 {
		c.Errorf("%s; want 0x00: a 5.0 CONNECT may carry a password without a user name", ack)
	}
}

// clientID23: [MQTT-3.1.3-5] the server MUST allow client IDs of 1 to 23
// bytes of 0-9, a-z, A-Z.
func clientID23(c *C) {
	id := c.slug + "Zz09"
	id += strings.Repeat("x", 23-len(id))
	_, ack := c.connect("client", conn{id: id})
	if ack.SessionPresent {
		c.Errorf("%s for a new client; want Session Present 0", ack)
	}
}

// emptyIDPersistent311: [MQTT-3.1.3-8] (3.1.1) a zero-byte client ID with
// clean session 0 MUST get CONNACK 0x02 and the connection closed.
func emptyIDPersistent311(c *C) {
	r := c.dial("client")
	r.sendConnect(conn{session: persistent})
	r.expectRefused("zero-length client ID with clean session 0", 0x02)
}

// emptyIDClean311: [MQTT-3.1.3-6] (3.1.1) a server MAY allow a zero-byte
// client ID with clean session 1, and MUST then treat it as a unique
// client. The suite holds servers to allowing it, as MQTT 5 servers assign
// client IDs: two such clients coexist and both work.
func emptyIDClean311(c *C) {
	r1, _ := c.connect("first", conn{})
	r2, _ := c.connect("second", conn{})
	for _, r := range []*rawClient{r1, r2} {
		r.mustSubscribe(sub(c.topic("a"), 0))
	}
	r1.publish(c.topic("a"), 0, false, []byte("to both"), nil)
	for _, r := range []*rawClient{r1, r2} {
		if p := r.expect(packets.Publish); string(p.Payload) != "to both" {
			c.Errorf("%s: got %s", r.label, p)
		}
	}
}

// assignedClientID: [MQTT-3.1.3-6], [MQTT-3.1.3-7], [MQTT-3.2.2-16] (5.0)
// a zero-length client ID gets an Assigned Client Identifier no other
// session uses, and the server treats the connection as that client's:
// its session resumes under the assigned ID.
func assignedClientID(c *C) {
	r1, ack1 := c.connect("first", conn{session: freshPersistent})
	_, ack2 := c.connect("second", conn{})
	a1, a2 := ack1.Properties.AssignedClientID, ack2.Properties.AssignedClientID
	if a1 == "" || a2 == "" {
		c.Fatalf("CONNACKs carry Assigned Client Identifiers %q and %q; want both [MQTT-3.1.3-7, MQTT-3.2.2-16]", a1, a2)
	}
	if a1 == a2 {
		c.Fatalf("both clients were assigned %q [MQTT-3.2.2-16]", a1)
	}
	r1.mustSubscribe(sub(c.topic("a"), 1))
	r1.disconnect()
	r3, ack3 := c.connect("resumed", conn{id: a1, session: persistent})
	if !ack3.SessionPresent {
		c.Errorf("reconnecting as the assigned %q: %s; want Session Present 1 [MQTT-3.1.3-7]", a1, ack3)
	}
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, []byte("kept"), nil)
	if p := r3.expectMessage(); string(p.Payload) != "kept" {
		c.Errorf("the resumed session got %s; want its subscription's message", p)
	}
}

// takeover: [MQTT-3.1.4-2] (3.1.1), [MQTT-3.1.4-3] (5.0) a CONNECT with
// the client ID of a connected client closes the existing connection
// (5.0: after DISCONNECT 0x8E, Session taken over); the new one works.
func takeover(c *C) {
	id := c.newID()
	r1, _ := c.connect("first", conn{id: id})
	r2, _ := c.connect("second", conn{id: id})
	r1.expectClosed("taken over by a second connection", 0x8E)
	r2.mustSubscribe(sub(c.topic("a"), 1))
	c.publisher("publisher").publishAcked(c.topic("a"), 1, false, []byte("still here"), nil)
	if p := r2.expectMessage(); string(p.Payload) != "still here" {
		c.Errorf("the new connection got %s", p)
	}
}

// refusedConnectIgnoresRest: [MQTT-3.1.4-5] (3.1.1), [MQTT-3.1.4-6]
// (5.0) after refusing a CONNECT the server MUST NOT process anything the
// client sent after it: a PUBLISH right behind a refused CONNECT reaches
// no subscriber.
func refusedConnectIgnoresRest(c *C) {
	s := c.subscriber("subscriber", c.topic("a"), 0)
	r := c.dial("refused")
	b := c.connectBytes(r, conn{id: c.newID()})
	b[connectFlags(b)] |= 0x01 // reserved flag: refused
	b = append(b, r.encode(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish},
		TopicName:   c.topic("a"), Payload: []byte("must not arrive"),
	})...)
	_ = r.trySendBytes(b)
	r.expectRefused("reserved flag set")
	s.expectNothing(quiet, "the PUBLISH followed a refused CONNECT")
}

// connackAdvertises: MQTT 5.0 §3.2.2.3: CONNACK states the server's Receive
// Maximum, Maximum Packet Size and Topic Alias Maximum as configured;
// the suite holds servers to QoS 2 [MQTT-3.2.2-9: a server that lacks it
// says so], retained messages, wildcard, shared subscriptions and
// subscription identifiers; and sends no Response Information unasked
// [MQTT-3.1.2-28].
func connackAdvertises(c *C) {
	_, ack := c.connect("client", conn{id: c.newID()})
	p, l := ack.Properties, c.target.Limits
	if got := cmp.Or(p.ReceiveMaximum, 65535); got != l.receiveMaximum() {
		c.Errorf("Receive Maximum %d (65535: absent); the target declares %d", got, l.receiveMaximum())
	}
	if p.MaximumPacketSize != l.MaximumPacketSize {
		c.Errorf("Maximum Packet Size %d (0: absent); the target declares %d", p.MaximumPacketSize, l.MaximumPacketSize)
	}
	if p.TopicAliasMaximum != l.TopicAliasMaximum {
		c.Errorf("Topic Alias Maximum %d (0: absent); the target declares %d", p.TopicAliasMaximum, l.TopicAliasMaximum)
	}
	for _, f := range []struct {
		name string
		set  bool
		v    byte
	}{
		{"Maximum QoS", p.MaximumQosFlag, 1},
		{"Retain Available", p.RetainAvailableFlag, 1 - p.RetainAvailable},
		{"Wildcard Subscription Available", p.WildcardSubAvailableFlag, 1 - p.WildcardSubAvailable},
		{"Subscription Identifiers Available", p.SubIDAvailableFlag, 1 - p.SubIDAvailable},
		{"Shared Subscription Available", p.SharedSubAvailableFlag, 1 - p.SharedSubAvailable},
	} {
		if f.set && f.v != 0 {
			c.Errorf("CONNACK %s limits a feature the suite holds every server to: %s", f.name, ack)
		}
	}
	if p.ResponseInfo != "" {
		c.Errorf("Response Information %q without Request Response Information [MQTT-3.1.2-28]", p.ResponseInfo)
	}
}

// noProblemInfo: [MQTT-3.1.2-29] (5.0) after Request Problem Information 0
// the server MUST NOT send a Reason String or User Property on any packet
// but PUBLISH, CONNACK and DISCONNECT; the client checks every packet, here
// answers to refusals, where servers put their reasons.
func noProblemInfo(c *C) {
	o := conn{id: c.newID()}
	o.props.RequestProblemInfo, o.props.RequestProblemInfoFlag = 0, true
	r, _ := c.connect("client", o)
	r.unsubscribe(c.topic("never-subscribed"))
	for _, ref := range c.target.Refusals {
		if ref.Filter != "" {
			r.subscribe(0, sub(ref.Filter, 1))
		} else {
			r.publishAcked(ref.Topic, 1, false, []byte("refused"), nil)
		}
	}
	r.mustSubscribe(sub(c.topic("a"), 1))
}
