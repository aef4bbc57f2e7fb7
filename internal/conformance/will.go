package conformance

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Will messages: MQTT 3.1.1 §3.1.2.5–3.1.2.7, §3.14.4; MQTT 5.0 §3.1.2.5–7,
// §3.1.3.2 (will properties, will delay), §3.14.
func willCases() []testCase {
	var cs []testCase
	add := func(c ...testCase) { cs = append(cs, c...) }
	add(both("will", refs("MQTT-3.1.2-8", "MQTT-3.1.2-16"), refs("MQTT-3.1.2-8", "MQTT-3.1.2-14"),
		"a connection lost without DISCONNECT publishes its will, not retained", willOnDrop)...)
	add(both("will", refs("MQTT-3.1.2-17"), refs("MQTT-3.1.2-15"),
		"a will with Will Retain 1 is published as a retained message", willRetained)...)
	add(both("will", refs("MQTT-3.14.4-3", "MQTT-3.1.2-10"), refs("MQTT-3.14.4-3", "MQTT-3.1.2-10"),
		"DISCONNECT discards the will", willDiscarded)...)
	add(both("will", refs("MQTT-3.1.2-8", "MQTT-3.1.4-2"), refs("MQTT-3.1.2-8", "MQTT-3.1.4-3"),
		"a connection taken over publishes its will", willOnTakeover)...)
	add(only5("will", refs("§3.14.2.1", "MQTT-3.1.2-8"),
		"DISCONNECT with reason 0x04 publishes the will", willOnDisconnect04))
	add(only5("will", refs("MQTT-3.1.2-8", "§3.1.3.2.2"),
		"a will with a Will Delay Interval is published no sooner than the delay", willDelayed))
	add(only5("will", refs("MQTT-3.1.3-9"),
		"reconnecting within the Will Delay Interval cancels the will", willDelayCancelled))
	add(only5("will", refs("§3.1.3.2.2", "MQTT-3.1.2-8"),
		"a will whose delay outlasts the session is published when the session ends", willDelayOutlastsSession))
	add(only5("will", refs("MQTT-3.1.3-10", "MQTT-3.3.2-4", "MQTT-3.3.2-15", "MQTT-3.3.2-16", "MQTT-3.3.2-17", "MQTT-3.3.2-20"),
		"a will's properties reach its subscribers unaltered, user properties in order", willProperties))
	return cs
}

// withWill connects a raw client with a will to the case's will topic.
func (c *C) withWill(label string, o conn, w will) *rawClient {
	c.Helper()
	if w.topic == "" {
		w.topic = c.topic("will")
	}
	o.will = &w
	r, _ := c.connect(label, o)
	return r
}

// willOnDrop: the will is published when the network connection closes
// without DISCONNECT [MQTT-3.1.2-8], as a non-retained message when Will
// Retain is 0 [MQTT-3.1.2-16 (3.1.1), MQTT-3.1.2-14 (5.0)].
func willOnDrop(c *C) {
	s := c.subscriber("subscriber", c.topic("will"), 2)
	r := c.withWill("client", conn{id: c.newID()}, will{payload: binary, qos: 1})
	r.drop()
	p := s.expectMessage()
	if p.TopicName != c.topic("will") || !bytes.Equal(p.Payload, binary) || p.FixedHeader.Qos != 1 || p.FixedHeader.Retain {
		c.Errorf("got %s; want the will: QoS 1, not retained, payload % x", p, binary)
	}
	late := c.subscriber("late subscriber", c.topic("will"), 1)
	late.expectNothing(quiet, "a will with Will Retain 0 is not retained")
}

// willRetained: with Will Retain 1 the server publishes the will as a
// retained message [MQTT-3.1.2-17 (3.1.1), MQTT-3.1.2-15 (5.0)].
func willRetained(c *C) {
	s := c.subscriber("subscriber", c.topic("will"), 1)
	r := c.withWill("client", conn{id: c.newID()}, will{payload: []byte("gone"), qos: 1, retain: true})
	r.drop()
	s.expectMessage()
	late := c.subscriber("late subscriber", c.topic("will"), 1)
	if p := late.expectMessage(); string(p.Payload) != "gone" || !p.FixedHeader.Retain {
		c.Errorf("a later subscriber got %s; want the will, retained", p)
	}
}

// willDiscarded: on DISCONNECT the server discards the will without
// publishing it [MQTT-3.14.4-3] (5.0: reason code 0x00) and removes it
// from the session [MQTT-3.1.2-10]. The same client ID then publishes to
// the will topic: that message must be the first to arrive.
func willDiscarded(c *C) {
	s := c.subscriber("subscriber", c.topic("will"), 1)
	id := c.newID()
	r := c.withWill("client", conn{id: id}, will{payload: []byte("must not arrive"), qos: 1})
	r.disconnect()
	r2, _ := c.connect("again", conn{id: id})
	r2.publishAcked(c.topic("will"), 1, false, []byte("after"), nil)
	if p := s.expectMessage(); string(p.Payload) != "after" {
		c.Errorf("got %s; want no will after DISCONNECT", p)
	}
}

// willOnTakeover: a takeover closes the old network connection
// [MQTT-3.1.4-2 (3.1.1), MQTT-3.1.4-3 (5.0)] without a DISCONNECT from
// its client, so its will is published [MQTT-3.1.2-8].
func willOnTakeover(c *C) {
	s := c.subscriber("subscriber", c.topic("will"), 1)
	id := c.newID()
	c.withWill("first", conn{id: id}, will{payload: []byte("taken over"), qos: 1})
	c.connect("second", conn{id: id})
	if p := s.expectMessage(); string(p.Payload) != "taken over" {
		c.Errorf("got %s; want the will of the connection taken over", p)
	}
}

// willOnDisconnect04: (5.0) DISCONNECT with reason code 0x04 asks for the
// will to be published (§3.14.2.1).
func willOnDisconnect04(c *C) {
	s := c.subscriber("subscriber", c.topic("will"), 1)
	r := c.withWill("client", conn{id: c.newID()}, will{payload: []byte("asked for"), qos: 1})
	r.disconnectWith(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}, ReasonCode: 0x04})
	if p := s.expectMessage(); string(p.Payload) != "asked for" {
		c.Errorf("got %s; want the will", p)
	}
}

// willDelayed: (5.0) a will is published after the connection closes
// once the Will Delay Interval has passed [MQTT-3.1.2-8, §3.1.3.2.2]:
// never sooner than the delay after the close.
func willDelayed(c *C) {
	const delay = 2
	s := c.subscriber("subscriber", c.topic("will"), 1)
	o := conn{id: c.newID(), session: persistent}
	w := will{payload: []byte("delayed"), qos: 1}
	w.props.WillDelayInterval = delay
	r := c.withWill("client", o, w)
	closed := time.Now()
	r.drop()
	p := s.expectMessage()
	if string(p.Payload) != "delayed" {
		c.Fatalf("got %s; want the will", p)
	}
	if waited := p.at.Sub(closed); waited < delay*time.Second {
		c.Errorf("the will arrived %v after the connection closed; the Will Delay Interval is %d s", waited, delay)
	}
}

// willDelayCancelled: (5.0) if a new network connection to the session is
// made before the Will Delay Interval has passed, the server MUST NOT
// send the will [MQTT-3.1.3-9]. After the delay, the reconnected client
// publishes to the will topic: that must be the first message. The
// server learns of the close no sooner than the case drops the
// connection, and of the new connection no later than its CONNACK comes:
// a reconnect whose CONNACK came after the delay (a loaded machine) shows
// nothing, and is tried again.
func willDelayCancelled(c *C) {
	const delay, attempts = 2, 3
	for attempt := 1; ; attempt++ {
		// A topic of the attempt's own: an earlier attempt's will may
		// rightly come late.
		topic := c.topic(fmt.Sprintf("will%d", attempt))
		s := c.subscriber(fmt.Sprintf("subscriber %d", attempt), topic, 1)
		id := c.newID()
		w := will{topic: topic, payload: []byte("must not arrive"), qos: 1}
		w.props.WillDelayInterval = delay
		r := c.withWill(fmt.Sprintf("client %d", attempt), conn{id: id, session: persistent}, w)
		dropped := time.Now()
		r.drop()
		r2, _ := c.connect(fmt.Sprintf("back %d", attempt), conn{id: id, session: persistent})
		if took := time.Since(dropped); took >= delay*time.Second {
			if attempt == attempts {
				c.Fatalf("the reconnect's CONNACK came %v after the drop, over the Will Delay Interval of %d s, %d times: the case could not run", took, delay, attempts)
			}
			c.Logf("attempt %d: the reconnect's CONNACK came %v after the drop, over the Will Delay Interval of %d s: trying again", attempt, took, delay)
			continue
		}
		time.Sleep(delay*time.Second + quiet)
		r2.publishAcked(topic, 1, false, []byte("back in time"), nil)
		if p := s.expectMessage(); string(p.Payload) != "back in time" {
			c.Errorf("got %s; want no will: the client came back within its delay", p)
		}
		return
	}
}

// willDelayOutlastsSession: (5.0) the server publishes the will when the
// Will Delay Interval has passed or the session ends, whichever is first
// (§3.1.3.2.2): a 1 s session with a 600 s will delay gets its will within
// the case's deadline.
func willDelayOutlastsSession(c *C) {
	s := c.subscriber("subscriber", c.topic("will"), 1)
	o := conn{id: c.newID(), session: persistent}
	o.props.SessionExpiryInterval, o.props.SessionExpiryIntervalFlag = 1, true
	w := will{payload: []byte("session over"), qos: 1}
	w.props.WillDelayInterval = 600
	r := c.withWill("client", o, w)
	r.drop()
	if p := s.expectMessage(); string(p.Payload) != "session over" {
		c.Errorf("got %s; want the will once the 1 s session ended", p)
	}
}

// willProperties: (5.0) a will's Payload Format Indicator, Content Type,
// Response Topic, Correlation Data and User Properties reach subscribers
// unaltered [MQTT-3.3.2-4, MQTT-3.3.2-20, MQTT-3.3.2-15, MQTT-3.3.2-16,
// MQTT-3.3.2-17], the user properties in their order [MQTT-3.1.3-10].
func willProperties(c *C) {
	s := c.subscriber("subscriber", c.topic("will"), 1)
	w := will{payload: []byte("{\"gone\":true}"), qos: 1}
	w.props = packets.Properties{
		PayloadFormat: 1, PayloadFormatFlag: true, ContentType: "application/json",
		ResponseTopic: c.topic("reply"), CorrelationData: []byte{0, 1, 2, 0xff},
		User: []packets.UserProperty{{Key: "k", Val: "2"}, {Key: "a", Val: "1"}, {Key: "k", Val: "1"}},
	}
	r := c.withWill("client", conn{id: c.newID()}, w)
	r.drop()
	p := s.expectMessage()
	got := p.Properties
	if !got.PayloadFormatFlag || got.PayloadFormat != 1 || got.ContentType != w.props.ContentType ||
		got.ResponseTopic != w.props.ResponseTopic || !bytes.Equal(got.CorrelationData, w.props.CorrelationData) ||
		!slices.Equal(got.User, w.props.User) {
		c.Errorf("the will arrived with %s; want %s", describeProps(got), describeProps(w.props))
	}
}

// describeProps shows the message properties of a PUBLISH.
func describeProps(p packets.Properties) string {
	pf := "absent"
	if p.PayloadFormatFlag {
		pf = fmt.Sprint(p.PayloadFormat)
	}
	return fmt.Sprintf("{format %s, expiry %d, content type %q, response topic %q, correlation % x, user %v}",
		pf, p.MessageExpiryInterval, p.ContentType, p.ResponseTopic, p.CorrelationData, p.User)
}
