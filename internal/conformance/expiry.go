package conformance

import (
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Message Expiry Interval: MQTT 5.0 §3.3.2.3.3.
func expiryCases() []testCase {
	return []testCase{
		only5("expiry", refs("MQTT-3.3.2-6"),
			"a live subscriber gets the Message Expiry Interval, less the time the message waited", expiryForwarded),
		only5("expiry", refs("MQTT-3.3.2-5", "MQTT-3.3.2-6"),
			"an expired message is not delivered to a returning session; a live one arrives with what is left", expiryOffline),
		only5("expiry", refs("MQTT-3.3.2-5", "MQTT-3.3.2-6"),
			"an expired retained message is not sent to new subscribers; a live one is, with what is left", expiryRetained),
	}
}

// expiryForwarded: the PUBLISH to a subscriber carries the Message Expiry
// Interval less the time the message waited in the server
// [MQTT-3.3.2-6]: at most what was sent, and above 0 while it is live.
func expiryForwarded(c *C) {
	s := c.subscriber("subscriber", c.topic("a"), 1)
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, []byte("expires"), &packets.Properties{MessageExpiryInterval: 30})
	p := s.expectMessage()
	if e := p.Properties.MessageExpiryInterval; e == 0 || e > 30 {
		c.Errorf("delivered with Message Expiry Interval %d (0: absent); want 1 to 30", e)
	}
}

// expiryOffline: a message whose Message Expiry Interval passed before the
// server could start delivering it to a subscriber is deleted for it
// [MQTT-3.3.2-5]; one still live is delivered with the interval less the
// time it waited [MQTT-3.3.2-6]. The expired message was published first,
// on the same topic at the same QoS: if it were delivered, it would come
// first.
func expiryOffline(c *C) {
	id := c.newID()
	r, _ := c.connect("first", conn{id: id, session: persistent})
	r.mustSubscribe(sub(c.topic("a"), 1))
	r.disconnect()
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, []byte("short"), &packets.Properties{MessageExpiryInterval: 1})
	pub.publishAcked(c.topic("a"), 1, false, []byte("long"), &packets.Properties{MessageExpiryInterval: 60})
	pub.publishAcked(c.topic("a"), 1, false, []byte("forever"), nil)
	published := time.Now()
	time.Sleep(2500 * time.Millisecond)
	r2, _ := c.connect("returning", conn{id: id, session: persistent})
	waited := time.Since(published)
	p := r2.expectMessage()
	if string(p.Payload) != "long" {
		c.Fatalf("got %s first; want the message still live, not the one that expired", p)
	}
	if e := p.Properties.MessageExpiryInterval; e == 0 || time.Duration(e)*time.Second > 60*time.Second-waited+time.Second {
		c.Errorf("delivered with Message Expiry Interval %d after waiting at least %v; want at most %d", e, waited.Truncate(time.Second), 60-int(waited.Seconds()))
	}
	p = r2.expectMessage()
	if string(p.Payload) != "forever" || p.Properties.MessageExpiryInterval != 0 {
		c.Errorf("got %s with Message Expiry Interval %d; want the message without expiry, without one", p, p.Properties.MessageExpiryInterval)
	}
}

// expiryRetained: a retained message expires like any other: after its
// interval a new subscriber does not get it [MQTT-3.3.2-5]; a live one
// arrives with the interval less the time it waited [MQTT-3.3.2-6].
func expiryRetained(c *C) {
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("short"), 1, true, []byte("short"), &packets.Properties{MessageExpiryInterval: 1})
	pub.publishAcked(c.topic("long"), 1, true, []byte("long"), &packets.Properties{MessageExpiryInterval: 60})
	published := time.Now()
	time.Sleep(2500 * time.Millisecond)
	s := c.subscriber("subscriber", c.topic("+"), 1)
	waited := time.Since(published)
	p := s.expectMessage()
	if string(p.Payload) != "long" {
		c.Errorf("got %s; want only the retained message still live", p)
	} else if e := p.Properties.MessageExpiryInterval; e == 0 || time.Duration(e)*time.Second > 60*time.Second-waited+time.Second {
		c.Errorf("retained message delivered with Message Expiry Interval %d after waiting at least %v; want at most %d", e, waited.Truncate(time.Second), 60-int(waited.Seconds()))
	}
	s.expectNothing(quiet, "the other retained message expired")
}
