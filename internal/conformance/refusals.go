package conformance

import (
	"fmt"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Refusals and their reason codes: what the target refuses (Target.Refusals)
// and the subscription quota (Limits.MaxSubscriptionsPerClient). MQTT 3.1.1
// §3.3.5, §3.9.3; MQTT 5.0 §3.4.2.1, §3.5.2.1, §3.9.3.
func refusalCases() []testCase {
	var cs []testCase
	add := func(c ...testCase) { cs = append(cs, c...) }
	add(both("refusal", refs("MQTT-3.9.3-2", "MQTT-3.8.4-4"), refs("MQTT-3.9.3-2", "MQTT-3.8.4-5", "MQTT-3.8.4-7"),
		"a refused filter gets its failure code (3.1.1: 0x80) and the others in the SUBSCRIBE are granted", refusedFilter)...)
	add(only5("refusal", refs("MQTT-3.4.2-1", "MQTT-3.5.2-1", "MQTT-4.3.3-9", "MQTT-4.4.0-2"),
		"a refused PUBLISH gets its reason code in PUBACK or PUBREC, reaches nobody, and frees its packet identifier", refusedTopic5))
	add(only311("refusal", refs("MQTT-3.3.5-2"),
		"a refused PUBLISH is acknowledged or the connection closed, and reaches nobody", refusedTopic311))
	add(both("refusal", refs("MQTT-3.9.3-2", "MQTT-3.8.4-3"), refs("MQTT-3.9.3-2", "MQTT-3.8.4-3", "§3.9.3"),
		"a subscription over the server's quota gets 0x80 (5.0: 0x97); resubscribing a held filter is no new subscription", subscriptionQuota)...)
	return cs
}

// refusedFilter: every SUBACK code is a granted QoS or a failure of the
// SUBACK table [MQTT-3.9.3-2]; a refused filter gets 0x80 in 3.1.1 and the
// target's reason code in 5.0, and does not spoil the other filters of its
// SUBSCRIBE, handled as if each came alone [MQTT-3.8.4-4 (3.1.1),
// MQTT-3.8.4-5 (5.0)], each with a code of its own [MQTT-3.8.4-7 (5.0)].
func refusedFilter(c *C) {
	var filters []Refusal
	for _, r := range c.target.Refusals {
		if r.Filter != "" {
			filters = append(filters, r)
		}
	}
	c.need(len(filters) > 0, "refused filter (Target.Refusals)")
	for _, ref := range filters {
		s, _ := c.connect("subscriber", conn{id: c.newID()})
		ack := s.subscribe(0, sub(ref.Filter, 1), sub(c.topic("a"), 1))
		want := ref.Code
		if !c.is5() {
			want = 0x80
		}
		if ack.ReasonCodes[0] != want || ack.ReasonCodes[1] != 1 {
			c.Errorf("SUBSCRIBE to %s (%s) and %s: %s; want codes %s 01", ref.Filter, ref.Why, c.topic("a"), ack, hex(want))
		}
		pub := c.publisher("publisher")
		pub.publishAcked(c.topic("a"), 1, false, []byte("granted"), nil)
		if p := s.expectMessage(); string(p.Payload) != "granted" {
			c.Errorf("got %s", p)
		}
	}
}

// refusedTopic5: a refused publish is answered with one of the PUBACK or
// PUBREC codes [MQTT-3.4.2-1, MQTT-3.5.2-1], the target's; it is then
// acknowledged, never resent [MQTT-4.4.0-2]; after a PUBREC of 0x80 or
// more the packet identifier starts a new message [MQTT-4.3.3-9]; the
// connection stays, and nothing reaches the case's subscriber.
func refusedTopic5(c *C) {
	var topics []Refusal
	for _, r := range c.target.Refusals {
		if r.Topic != "" {
			topics = append(topics, r)
		}
	}
	c.need(len(topics) > 0, "refused topic (Target.Refusals)")
	s := c.subscriber("subscriber", c.topic("a"), 2)
	pub := c.publisher("publisher")
	for _, ref := range topics {
		for qos := byte(1); qos <= 2; qos++ {
			pub.publishID(ref.Topic, qos, false, false, 77, []byte("refused"), nil)
			ack := pub.expect(map[byte]byte{1: packets.Puback, 2: packets.Pubrec}[qos])
			pub.checkAckID(ack, 77)
			if ack.ReasonCode != ref.Code {
				c.Errorf("QoS %d PUBLISH to %s (%s): %s; want %s", qos, ref.Topic, ref.Why, ack, hex(ref.Code))
			}
		}
		pub.publish(ref.Topic, 0, false, []byte("refused"), nil)
		// Identifier 77 is free again: a new QoS 2 message.
		pub.publishID(c.topic("a"), 2, false, false, 77, []byte("accepted"), nil)
		if rec := pub.expect(packets.Pubrec); rec.ReasonCode != 0 {
			c.Errorf("%s for a new message under an identifier freed by a refusal", rec)
		}
		pub.ack(packets.Pubrel, 77)
		pub.expect(packets.Pubcomp)
		if p := s.expectMessage(); string(p.Payload) != "accepted" {
			c.Errorf("got %s; want only the accepted message", p)
		}
	}
}

// refusedTopic311: a 3.1.1 server cannot tell a client that it refused a
// PUBLISH: it MUST acknowledge it as usual or close the connection
// [MQTT-3.3.5-2]; either way the message reaches nobody.
func refusedTopic311(c *C) {
	var topics []Refusal
	for _, r := range c.target.Refusals {
		if r.Topic != "" {
			topics = append(topics, r)
		}
	}
	c.need(len(topics) > 0, "refused topic (Target.Refusals)")
	s := c.subscriber("subscriber", c.topic("a"), 1)
	for _, ref := range topics {
		for qos := byte(1); qos <= 2; qos++ {
			pub := c.publisher(fmt.Sprintf("publisher QoS %d", qos))
			id := pub.publish(ref.Topic, qos, false, []byte("refused"), nil)
			p, ok := pub.next(deadline)
			if !ok {
				if !pub.isClosed() {
					c.Errorf("QoS %d PUBLISH to %s (%s): neither acknowledged nor closed within %v", qos, ref.Topic, ref.Why, deadline)
				}
				continue
			}
			want := map[byte]byte{1: packets.Puback, 2: packets.Pubrec}[qos]
			if p.FixedHeader.Type != want || p.PacketID != id {
				c.Errorf("QoS %d PUBLISH to %s: got %s; want %s for identifier %d or the connection closed", qos, ref.Topic, p, packetName(want), id)
				continue
			}
			if qos == 2 {
				pub.ack(packets.Pubrel, id)
				pub.expect(packets.Pubcomp)
			}
			pub.publishAcked(c.topic("a"), 1, false, []byte("accepted"), nil)
			if p := s.expectMessage(); string(p.Payload) != "accepted" {
				c.Errorf("got %s; want only the accepted message", p)
			}
		}
	}
}

// subscriptionQuota: a server limiting subscriptions per client refuses
// the one over the limit, with 0x80 (3.1.1) or 0x97, Quota exceeded (5.0,
// §3.9.3) [MQTT-3.9.3-2]; subscribing again to a filter held replaces it
// [MQTT-3.8.4-3] and is not a new one. A server without a limit grants
// them all.
func subscriptionQuota(c *C) {
	limit := c.target.Limits.MaxSubscriptionsPerClient
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	n := limit
	if n == 0 {
		n = 50
	}
	for i := range n {
		s.mustSubscribe(sub(c.topic(fmt.Sprint(i)), 1))
	}
	s.mustSubscribe(sub(c.topic("0"), 0))
	ack := s.subscribe(0, sub(c.topic("over"), 1))
	switch want := map[bool]byte{true: 0x97, false: 0x80}[c.is5()]; {
	case limit == 0 && ack.ReasonCodes[0] != 1:
		c.Errorf("subscription %d: %s; the target declares no limit", n+1, ack)
	case limit > 0 && ack.ReasonCodes[0] != want:
		c.Errorf("subscription %d over a limit of %d: %s; want %s", n+1, limit, ack, hex(want))
	}
}
