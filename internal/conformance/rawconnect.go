package conformance

import (
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// session says what a CONNECT asks of the client's session.
type session int

const (
	// cleanSession: clean session 1 (3.1.1); clean start 1 and no Session
	// Expiry Interval (5.0). The session ends with the connection.
	cleanSession session = iota
	// persistent: clean session 0 (3.1.1); clean start 0 and a Session
	// Expiry Interval of 300 s unless the properties set one (5.0).
	persistent
	// freshPersistent (5.0 only): clean start 1 with a Session Expiry
	// Interval of 300 s unless the properties set one.
	freshPersistent
)

// defaultKeepAlive is the keep-alive of a case's clients unless it says
// otherwise: long enough never to matter within a case.
const defaultKeepAlive = 60

// conn describes a CONNECT.
type conn struct {
	id        string // "" for a zero-length client ID
	session   session
	keepAlive uint16 // 0 means defaultKeepAlive, unless zeroKeepAlive
	zeroKA    bool   // send keep-alive 0
	props     packets.Properties
	will      *will
	username  []byte
	password  []byte
	userFlag  bool
	passFlag  bool
	noPing    bool // do not send PINGREQ on the client's own
}

// will is a CONNECT's will message.
type will struct {
	topic   string
	payload []byte
	qos     byte
	retain  bool
	props   packets.Properties // 5.0 will properties
}

// packet builds the CONNECT for version.
func (o conn) packet(version byte) packets.Packet {
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Connect},
		Connect: packets.ConnectParams{
			ProtocolName:     []byte("MQTT"),
			ClientIdentifier: o.id,
			Keepalive:        o.keepAliveValue(),
			Clean:            o.session != persistent,
			Username:         o.username,
			UsernameFlag:     o.userFlag || len(o.username) > 0,
			Password:         o.password,
			PasswordFlag:     o.passFlag || len(o.password) > 0,
		},
		Properties: o.props,
	}
	if version == v5 && o.session != cleanSession && !o.props.SessionExpiryIntervalFlag {
		pk.Properties.SessionExpiryInterval = 300
		pk.Properties.SessionExpiryIntervalFlag = true
	}
	if o.will != nil {
		pk.Connect.WillFlag = true
		pk.Connect.WillTopic = o.will.topic
		pk.Connect.WillPayload = o.will.payload
		pk.Connect.WillQos = o.will.qos
		pk.Connect.WillRetain = o.will.retain
		pk.Connect.WillProperties = o.will.props
	}
	return pk
}

func (o conn) keepAliveValue() uint16 {
	switch {
	case o.zeroKA:
		return 0
	case o.keepAlive == 0:
		return defaultKeepAlive
	}
	return o.keepAlive
}

// sendConnect sends o's CONNECT, noting what it declares for the checks
// on the server's packets.
func (r *rawClient) sendConnect(o conn) {
	r.c.Helper()
	pk := o.packet(r.version)
	if r.version == v5 {
		r.declMu.Lock()
		r.maxPacketSize = pk.Properties.MaximumPacketSize
		r.topicAliasMaximum = pk.Properties.TopicAliasMaximum
		r.noProblemInfo = pk.Properties.RequestProblemInfoFlag && pk.Properties.RequestProblemInfo == 0
		r.declMu.Unlock()
	}
	r.send(pk)
}

// connectWith sends o's CONNECT and returns the CONNACK, whatever its code;
// once accepted, the client pings on its own at half its keep-alive (or
// the Server Keep Alive) unless o says not to [MQTT-3.1.2-20 (5.0),
// MQTT-3.2.2-21].
func (r *rawClient) connectWith(o conn) *rawPacket {
	r.c.Helper()
	r.sendConnect(o)
	ack := r.expect(packets.Connack)
	if ack.ReasonCode != 0 || o.noPing {
		return ack
	}
	ka := o.keepAliveValue()
	if r.version == v5 && ack.Properties.ServerKeepAliveFlag {
		ka = ack.Properties.ServerKeepAlive
	}
	if ka > 0 {
		r.startPinging(max(time.Duration(ka)*time.Second/2, 250*time.Millisecond))
	}
	return ack
}

// connect connects a raw client as o says and fails the case unless the
// server accepts it.
func (c *C) connect(label string, o conn) (*rawClient, *rawPacket) {
	c.Helper()
	r := c.dial(label)
	ack := r.connectWith(o)
	if ack.ReasonCode != 0 {
		c.Fatalf("%s: CONNECT refused: %s", label, ack)
	}
	return r, ack
}

// subscriber connects a raw client and subscribes it to filter at qos.
func (c *C) subscriber(label, filter string, qos byte) *rawClient {
	c.Helper()
	r, _ := c.connect(label, conn{id: c.newID()})
	r.mustSubscribe(sub(filter, qos))
	return r
}

// expectMessage waits for a PUBLISH, acknowledging it as its QoS asks
// (and answering the PUBREL of a QoS 2 one), and returns it.
func (r *rawClient) expectMessage() *rawPacket {
	r.c.Helper()
	for {
		p := r.expectOneOf(packets.Publish, packets.Pubrel)
		if p.FixedHeader.Type == packets.Pubrel {
			r.ack(packets.Pubcomp, p.PacketID)
			continue
		}
		switch p.FixedHeader.Qos {
		case 1:
			r.ack(packets.Puback, p.PacketID)
		case 2:
			r.ack(packets.Pubrec, p.PacketID)
		}
		return p
	}
}

// expectOneOf returns the next packet, failing the case unless it is of
// one of the types.
func (r *rawClient) expectOneOf(types ...byte) *rawPacket {
	r.c.Helper()
	p, ok := r.next(deadline)
	if !ok {
		r.c.Fatalf("%s: waiting for a packet: %s", r.label, r.why())
	}
	for _, t := range types {
		if p.FixedHeader.Type == t {
			return p
		}
	}
	r.c.Fatalf("%s: unexpected %s", r.label, p)
	return nil
}

// expectMessages returns the next n messages, acknowledging each.
func (r *rawClient) expectMessages(n int) []*rawPacket {
	r.c.Helper()
	var got []*rawPacket
	for range n {
		got = append(got, r.expectMessage())
	}
	return got
}

// publishAcked publishes at qos and completes the flow: PUBACK for QoS 1,
// PUBREC, PUBREL and PUBCOMP for QoS 2. It returns the first
// acknowledgement (nil for QoS 0).
func (r *rawClient) publishAcked(topic string, qos byte, retain bool, body []byte, props *packets.Properties) *rawPacket {
	r.c.Helper()
	id := r.publish(topic, qos, retain, body, props)
	switch qos {
	case 1:
		ack := r.expect(packets.Puback)
		r.checkAckID(ack, id)
		return ack
	case 2:
		rec := r.expect(packets.Pubrec)
		r.checkAckID(rec, id)
		if rec.ReasonCode >= 0x80 {
			return rec
		}
		r.ack(packets.Pubrel, id)
		comp := r.expect(packets.Pubcomp)
		r.checkAckID(comp, id)
		return rec
	}
	return nil
}

func (r *rawClient) checkAckID(ack *rawPacket, id uint16) {
	r.c.Helper()
	if ack.PacketID != id {
		r.c.Errorf("%s: %s answers packet identifier %d; want %d [MQTT-2.3.1-6 (3.1.1), MQTT-2.2.1-5 (5.0)]", r.label, ack, ack.PacketID, id)
	}
}

// publisher connects a raw client to publish with.
func (c *C) publisher(label string) *rawClient {
	c.Helper()
	r, _ := c.connect(label, conn{id: c.newID()})
	return r
}
