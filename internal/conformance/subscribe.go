package conformance

import (
	"fmt"
	"maps"
	"slices"

	"github.com/mochi-mqtt/server/v2/packets"
)

// SUBSCRIBE, UNSUBSCRIBE and topic matching: MQTT 3.1.1 §3.8–3.11 and §4.7,
// MQTT 5.0 the same sections.
func subscribeCases() []testCase {
	var cs []testCase
	add := func(c ...testCase) { cs = append(cs, c...) }
	add(both("subscribe", refs("MQTT-3.8.4-1", "MQTT-3.8.4-2", "MQTT-3.8.4-4", "MQTT-3.8.4-5", "MQTT-3.9.3-1"),
		refs("MQTT-3.8.4-1", "MQTT-3.8.4-2", "MQTT-3.8.4-5", "MQTT-3.8.4-6", "MQTT-3.9.3-1"),
		"one SUBSCRIBE of three filters gets one SUBACK with a code per filter, in order", subscribeMany)...)
	add(both("subscribe", refs("MQTT-3.8.4-6"), refs("MQTT-3.8.4-8"),
		"a message is delivered at the lower of its QoS and the subscription's", minimumQoS)...)
	add(both("subscribe", refs("MQTT-3.3.5-1"), refs("MQTT-3.3.4-2"),
		"overlapping subscriptions deliver at the highest QoS among them", overlappingQoS)...)
	add(both("subscribe", refs("MQTT-4.7.1-2", "MQTT-4.7.1-3", "MQTT-3.3.2-3"), refs("MQTT-4.7.1-2", "MQTT-4.7.1-3", "MQTT-3.3.2-3"),
		"'+' matches one level and '#' the parent and every level below", wildcardMatching)...)
	add(both("subscribe", refs("MQTT-4.7.3-4"), refs("MQTT-4.7.3-4"),
		"topics are matched byte for byte: no case folding, no trailing-slash folding", noNormalisation)...)
	add(both("subscribe", refs("MQTT-3.8.4-3"), refs("MQTT-3.8.4-3"),
		"subscribing to a filter again replaces the subscription: one copy, the new QoS", resubscribeReplaces)...)
	add(both("subscribe", refs("MQTT-4.7.1-2", "MQTT-4.7.1-3", "MQTT-4.8.0-1"), refs("MQTT-4.7.1-2", "MQTT-4.7.1-3", "MQTT-4.13.1-1"),
		"an invalid topic filter closes the connection", invalidFilter)...)
	add(both("subscribe", refs("MQTT-3.8.1-1"), refs("MQTT-3.8.1-1"),
		"SUBSCRIBE with wrong reserved header flags closes the connection", subscribeBadFlags)...)
	add(both("subscribe", refs("MQTT-3.8.3-3"), refs("MQTT-3.8.3-2"),
		"SUBSCRIBE without a filter closes the connection", subscribeEmpty)...)
	add(only311("subscribe", refs("MQTT-3-8.3-4"),
		"SUBSCRIBE asking for QoS 3 closes the connection", subscribeQoS3))
	add(only5("subscribe", refs("MQTT-3.8.3-5", "§3.8.3.1"),
		"subscription options with reserved bits or Retain Handling 3 close the connection", subscribeBadOptions))
	add(both("subscribe", refs("MQTT-3.10.4-1", "MQTT-3.10.4-2", "MQTT-3.10.4-4", "MQTT-3.10.4-5", "MQTT-3.10.4-6"),
		refs("MQTT-3.10.4-1", "MQTT-3.10.4-2", "MQTT-3.10.4-4", "MQTT-3.10.4-5", "MQTT-3.10.4-6", "MQTT-3.11.3-1", "MQTT-3.11.3-2"),
		"UNSUBSCRIBE ends a subscription and is answered even for a filter never subscribed", unsubscribe)...)
	add(both("subscribe", refs("MQTT-3.10.4-1"), refs("MQTT-3.10.4-1"),
		"UNSUBSCRIBE compares filters character by character: '+' does not end 'a'", unsubscribeExact)...)
	add(both("subscribe", refs("MQTT-3.10.1-1"), refs("MQTT-3.10.1-1"),
		"UNSUBSCRIBE with wrong reserved header flags closes the connection", unsubscribeBadFlags)...)
	add(both("subscribe", refs("MQTT-3.10.3-2"), refs("MQTT-3.10.3-2"),
		"UNSUBSCRIBE without a filter closes the connection", unsubscribeEmpty)...)
	add(only5("subscribe", refs("MQTT-3.8.3-3"),
		"No Local keeps a client's own messages from its subscription", noLocal))
	add(only5("subscribe", refs("MQTT-3.3.4-3", "MQTT-3.3.4-4", "MQTT-3.3.4-5"),
		"a message carries the Subscription Identifiers of the subscriptions it matched, and only those", subscriptionIdentifiers))
	add(only5("subscribe", refs("MQTT-3.8.4-3", "§3.8.2.1.2"),
		"subscribing again with a new Subscription Identifier replaces the old one", subscriptionIdentifierReplaced))
	add(only5("subscribe", refs("§3.8.2.1.2", "MQTT-4.13.1-1"),
		"Subscription Identifier 0 closes the connection", subscriptionIdentifierZero))
	add(only5("subscribe", refs("MQTT-3.3.4-6", "MQTT-4.13.1-1"),
		"a client PUBLISH carrying a Subscription Identifier closes the connection", publishWithSubscriptionID))
	return cs
}

// subscribeMany: the server answers SUBSCRIBE with a SUBACK of the same
// packet identifier [MQTT-3.8.4-1, MQTT-3.8.4-2], handling several filters
// as several subscriptions [MQTT-3.8.4-4 (3.1.1), MQTT-3.8.4-5 (5.0)] with
// one code each [MQTT-3.8.4-5 (3.1.1), MQTT-3.8.4-6 (5.0)], in the
// filters' order [MQTT-3.9.3-1]; each granted filter then works.
func subscribeMany(c *C) {
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	subs := []packets.Subscription{sub(c.topic("two"), 2), sub(c.topic("zero"), 0), sub(c.topic("one"), 1)}
	ack := s.subscribe(0, subs...)
	if want := []byte{2, 0, 1}; !slices.Equal(ack.ReasonCodes, want) {
		c.Fatalf("%s; want codes % x", ack, want)
	}
	pub := c.publisher("publisher")
	for _, sb := range subs {
		pub.publishAcked(sb.Filter, 2, false, []byte(sb.Filter), nil)
	}
	got := map[string]byte{}
	for range subs {
		p := s.expectMessage()
		got[p.TopicName] = p.FixedHeader.Qos
	}
	for _, sb := range subs {
		if q, ok := got[sb.Filter]; !ok || q != sb.Qos {
			c.Errorf("message on %s: delivered %v at QoS %d; want QoS %d", sb.Filter, ok, q, sb.Qos)
		}
	}
}

// minimumQoS: the QoS of a delivered message is the minimum of the
// published QoS and the granted QoS [MQTT-3.8.4-6 (3.1.1), MQTT-3.8.4-8
// (5.0)], for all nine pairs.
func minimumQoS(c *C) {
	var subs []*rawClient
	for q := byte(0); q <= 2; q++ {
		subs = append(subs, c.subscriber(fmt.Sprintf("subscriber-qos%d", q), c.topic("a"), q))
	}
	pub := c.publisher("publisher")
	for q := byte(0); q <= 2; q++ {
		pub.publishAcked(c.topic("a"), q, false, []byte{'0' + q}, nil)
	}
	for sq, s := range subs {
		for pq := byte(0); pq <= 2; pq++ {
			p := s.expectMessage()
			if want := min(pq, byte(sq)); p.FixedHeader.Qos != want || p.Payload[0] != '0'+pq {
				c.Errorf("subscription QoS %d, message QoS %d: got %s; want QoS %d", sq, pq, p, want)
			}
		}
	}
}

// overlappingQoS: when a client's subscriptions overlap, the server
// delivers respecting the maximum QoS of all of them [MQTT-3.3.5-1
// (3.1.1), MQTT-3.3.4-2 (5.0)]: one copy at QoS 2, or one copy per
// subscription among which one is at QoS 2.
func overlappingQoS(c *C) {
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	s.mustSubscribe(sub(c.topic("#"), 0), sub(c.topic("+"), 2))
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("x"), 2, false, []byte("overlap"), nil)
	pub.publishAcked(c.topic("x"), 0, false, []byte("barrier"), nil)
	best := -1
	for {
		p := s.expectMessage()
		if string(p.Payload) == "barrier" {
			break
		}
		best = max(best, int(p.FixedHeader.Qos))
	}
	if best != 2 {
		c.Errorf("the message matched subscriptions at QoS 0 and 2; best copy delivered at QoS %d; want 2", best)
	}
}

// wildcardMatching: '+' matches exactly one level [MQTT-4.7.1-3]; '#'
// matches its parent and any number of levels [MQTT-4.7.1-2]; a delivered
// topic matches the subscription [MQTT-3.3.2-3].
func wildcardMatching(c *C) {
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	s.mustSubscribe(sub(c.topic("+/x"), 0), sub(c.topic("a/#"), 0))
	pub := c.publisher("publisher")
	topics := map[string]bool{
		"a": true, "a/x": true, "b/x": true, "b/y": false, "a/b/c": true,
		"b/x/y": false, "x": false, "ab/c": false, "/x": true,
	}
	for _, name := range slices.Sorted(maps.Keys(topics)) {
		pub.publishAcked(c.topic(name), 1, false, []byte(name), nil)
	}
	pub.publishAcked(c.topic("a/zz-barrier"), 1, false, []byte("barrier"), nil)
	got := map[string]bool{}
	for {
		p := s.expectMessage()
		if string(p.Payload) == "barrier" {
			break
		}
		if p.TopicName != c.topic(string(p.Payload)) {
			c.Errorf("message published to %s arrived on %s", c.topic(string(p.Payload)), p.TopicName)
		}
		got[string(p.Payload)] = true
	}
	for name, want := range topics {
		if got[name] != want {
			c.Errorf("%s against %s and %s: delivered %v; want %v", c.topic(name), c.topic("+/x"), c.topic("a/#"), got[name], want)
		}
	}
}

// noNormalisation: the server matches without normalising topics or
// filters [MQTT-4.7.3-4].
func noNormalisation(c *C) {
	s := c.subscriber("subscriber", c.topic("Case"), 1)
	pub := c.publisher("publisher")
	for _, name := range []string{"case", "Case/", "CASE", "Case"} {
		pub.publishAcked(c.topic(name), 1, false, []byte(name), nil)
	}
	if p := s.expectMessage(); string(p.Payload) != "Case" {
		c.Errorf("got the message published to %s on a subscription to %s", c.topic(string(p.Payload)), c.topic("Case"))
	}
}

// resubscribeReplaces: a SUBSCRIBE to a filter already subscribed replaces
// the subscription [MQTT-3.8.4-3]: messages come once, at the new QoS.
func resubscribeReplaces(c *C) {
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	s.mustSubscribe(sub(c.topic("a"), 0))
	s.mustSubscribe(sub(c.topic("a"), 1))
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, []byte("one"), nil)
	pub.publishAcked(c.topic("a"), 1, false, []byte("two"), nil)
	for _, want := range []string{"one", "two"} {
		if p := s.expectMessage(); string(p.Payload) != want || p.FixedHeader.Qos != 1 {
			c.Errorf("got %s; want %s once, at QoS 1", p, want)
		}
	}
}

// invalidFilter: '#' is the last level [MQTT-4.7.1-2] and '+' a whole
// level [MQTT-4.7.1-3]; a filter breaking either is a protocol violation,
// on which the server closes the connection [MQTT-4.8.0-1 (3.1.1)] (5.0:
// a Malformed Packet or Protocol Error, [MQTT-4.13.1-1]; 0x8F is for
// well-formed filters the server does not allow).
func invalidFilter(c *C) {
	for _, f := range []string{c.topic("#/a"), c.topic("a+"), c.topic("a#")} {
		r, _ := c.connect("client "+f, conn{id: c.newID()})
		r.sendSubscribe(0, sub(f, 0))
		r.expectClosed("SUBSCRIBE to the invalid filter "+f, 0x81, 0x82)
	}
}

// subscribeBadFlags: SUBSCRIBE's fixed header flags are 0010; the server
// treats anything else as malformed and closes the connection
// [MQTT-3.8.1-1].
func subscribeBadFlags(c *C) {
	r, _ := c.connect("client", conn{id: c.newID()})
	b := r.encode(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe}, PacketID: 1, Filters: packets.Subscriptions{sub(c.topic("a"), 0)}})
	b[0] = packets.Subscribe << 4 // flags 0000
	_ = r.trySendBytes(b)
	r.expectClosed("SUBSCRIBE with flags 0000", 0x81)
}

// subscribeEmpty: SUBSCRIBE carries at least one filter [MQTT-3.8.3-3
// (3.1.1), MQTT-3.8.3-2 (5.0)]; one without is a protocol violation.
func subscribeEmpty(c *C) {
	r, _ := c.connect("client", conn{id: c.newID()})
	b := []byte{packets.Subscribe<<4 | 2, 2, 0, 1}
	if c.is5() {
		b = []byte{packets.Subscribe<<4 | 2, 3, 0, 1, 0}
	}
	_ = r.trySendBytes(b)
	r.expectClosed("SUBSCRIBE without a filter", 0x81, 0x82)
}

// subscribeQoS3: (3.1.1) the server treats a SUBSCRIBE whose QoS is not
// 0, 1 or 2 as malformed and closes the connection [MQTT-3-8.3-4].
func subscribeQoS3(c *C) {
	r, _ := c.connect("client", conn{id: c.newID()})
	f := c.topic("a")
	b := []byte{packets.Subscribe<<4 | 2, byte(2 + 2 + len(f) + 1), 0, 1, 0, byte(len(f))}
	b = append(append(b, f...), 3)
	_ = r.trySendBytes(b)
	r.expectClosed("SUBSCRIBE at QoS 3")
}

// subscribeBadOptions: (5.0) reserved bits of the subscription options
// are 0 [MQTT-3.8.3-5], and Retain Handling 3 is a Protocol Error
// (§3.8.3.1).
func subscribeBadOptions(c *C) {
	f := c.topic("a")
	for _, opts := range []byte{0x40, 0x80, 0x30} {
		r, _ := c.connect(fmt.Sprintf("client options %#02x", opts), conn{id: c.newID()})
		b := []byte{packets.Subscribe<<4 | 2, byte(2 + 1 + 2 + len(f) + 1), 0, 1, 0, 0, byte(len(f))}
		b = append(append(b, f...), opts)
		_ = r.trySendBytes(b)
		r.expectClosed(fmt.Sprintf("subscription options %#02x", opts), 0x81, 0x82)
	}
}

// unsubscribe: UNSUBSCRIBE deletes the subscription whose filter it names
// [MQTT-3.10.4-1], after which nothing more is sent for it
// [MQTT-3.10.4-2]; the server answers with an UNSUBACK of the same packet
// identifier [MQTT-3.10.4-4, MQTT-3.10.4-5] even for a filter never
// subscribed, once for several [MQTT-3.10.4-6]; 5.0 says which filters
// had a subscription, in order [MQTT-3.11.3-1, MQTT-3.11.3-2].
func unsubscribe(c *C) {
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	s.mustSubscribe(sub(c.topic("a"), 1), sub(c.topic("b"), 1))
	ack := s.unsubscribe(c.topic("a"), c.topic("never"))
	if c.is5() && !slices.Equal(ack.ReasonCodes, []byte{0x00, 0x11}) {
		c.Errorf("%s; want codes 00 11 (Success, No subscription existed)", ack)
	}
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, []byte("unsubscribed"), nil)
	pub.publishAcked(c.topic("b"), 1, false, []byte("subscribed"), nil)
	if p := s.expectMessage(); string(p.Payload) != "subscribed" {
		c.Errorf("got %s; want only the message of the remaining subscription", p)
	}
	s.expectNothing(quiet, "the only message for the remaining subscription came")
}

// unsubscribeExact: UNSUBSCRIBE compares its filters with the client's
// character by character [MQTT-3.10.4-1]: "+" does not end "a".
func unsubscribeExact(c *C) {
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	s.mustSubscribe(sub(c.topic("a"), 1))
	ack := s.unsubscribe(c.topic("+"))
	if c.is5() && !slices.Equal(ack.ReasonCodes, []byte{0x11}) {
		c.Errorf("%s; want 0x11 (No subscription existed)", ack)
	}
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, []byte("still subscribed"), nil)
	if p := s.expectMessage(); string(p.Payload) != "still subscribed" {
		c.Errorf("got %s", p)
	}
}

// unsubscribeBadFlags: UNSUBSCRIBE's fixed header flags are 0010; anything
// else is malformed and closes the connection [MQTT-3.10.1-1].
func unsubscribeBadFlags(c *C) {
	r, _ := c.connect("client", conn{id: c.newID()})
	b := r.encode(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsubscribe}, PacketID: 1, Filters: packets.Subscriptions{sub(c.topic("a"), 0)}})
	b[0] = packets.Unsubscribe << 4
	_ = r.trySendBytes(b)
	r.expectClosed("UNSUBSCRIBE with flags 0000", 0x81)
}

// unsubscribeEmpty: UNSUBSCRIBE carries at least one filter
// [MQTT-3.10.3-2].
func unsubscribeEmpty(c *C) {
	r, _ := c.connect("client", conn{id: c.newID()})
	b := []byte{packets.Unsubscribe<<4 | 2, 2, 0, 1}
	if c.is5() {
		b = []byte{packets.Unsubscribe<<4 | 2, 3, 0, 1, 0}
	}
	_ = r.trySendBytes(b)
	r.expectClosed("UNSUBSCRIBE without a filter", 0x81, 0x82)
}

// noLocal: with No Local 1, messages MUST NOT be forwarded to the
// connection that published them [MQTT-3.8.3-3]; others' still are.
func noLocal(c *C) {
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	nl := sub(c.topic("a"), 1)
	nl.NoLocal = true
	s.mustSubscribe(nl)
	s.publishAcked(c.topic("a"), 1, false, []byte("own"), nil)
	other := c.publisher("other")
	other.publishAcked(c.topic("a"), 1, false, []byte("other's"), nil)
	if p := s.expectMessage(); string(p.Payload) != "other's" {
		c.Errorf("got %s; want only the other client's message", p)
	}
	s.expectNothing(quiet, "its own message must not come back")
}

// subscriptionIdentifiers: a message matching subscriptions with
// Subscription Identifiers carries them [MQTT-3.3.4-3]: all of them on a
// single copy [MQTT-3.3.4-4], or each copy its own [MQTT-3.3.4-5]; a
// subscription without one adds none.
func subscriptionIdentifiers(c *C) {
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	for _, sb := range []struct {
		id     int
		filter string
	}{{3, c.topic("+")}, {268435455, c.topic("#")}, {0, c.topic("a")}} {
		ack := s.subscribe(sb.id, sub(sb.filter, 1))
		if ack.ReasonCodes[0] != 1 {
			c.Fatalf("subscribe %s with identifier %d: %s", sb.filter, sb.id, ack)
		}
	}
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, []byte("three subscriptions"), nil)
	pub.publishAcked(c.topic("b/c"), 1, false, []byte("one subscription"), nil)
	var copies [][]int
	for {
		p := s.expectMessage()
		if string(p.Payload) == "one subscription" {
			if !slices.Equal(p.Properties.SubscriptionIdentifier, []int{268435455}) {
				c.Errorf("%s carries Subscription Identifiers %v; want [268435455]", p, p.Properties.SubscriptionIdentifier)
			}
			break
		}
		copies = append(copies, slices.Sorted(slices.Values(p.Properties.SubscriptionIdentifier)))
	}
	switch len(copies) {
	case 1:
		if !slices.Equal(copies[0], []int{3, 268435455}) {
			c.Errorf("one copy carrying Subscription Identifiers %v; want 3 and 268435455 [MQTT-3.3.4-4]", copies[0])
		}
	case 3:
		slices.SortFunc(copies, slices.Compare)
		if want := [][]int{{}, {3}, {268435455}}; fmt.Sprint(copies) != fmt.Sprint(want) {
			c.Errorf("three copies carrying Subscription Identifiers %v; want one each of 3, 268435455 and none [MQTT-3.3.4-5]", copies)
		}
	default:
		c.Errorf("%d copies (identifiers %v) of a message matching 3 subscriptions; want 1 or 3", len(copies), copies)
	}
}

// subscriptionIdentifierReplaced: a SUBSCRIBE to a filter held replaces
// the subscription [MQTT-3.8.4-3], its identifier with it (§3.8.2.1.2).
func subscriptionIdentifierReplaced(c *C) {
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	s.subscribe(5, sub(c.topic("a"), 1))
	s.subscribe(6, sub(c.topic("a"), 1))
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, false, []byte("x"), nil)
	if p := s.expectMessage(); !slices.Equal(p.Properties.SubscriptionIdentifier, []int{6}) {
		c.Errorf("%s carries Subscription Identifiers %v; want [6]", p, p.Properties.SubscriptionIdentifier)
	}
}

// subscriptionIdentifierZero: a Subscription Identifier of 0 is a
// Protocol Error (§3.8.2.1.2); the server closes [MQTT-4.13.1-1].
func subscriptionIdentifierZero(c *C) {
	r, _ := c.connect("client", conn{id: c.newID()})
	f := c.topic("a")
	// The codec leaves out an identifier of 0: write it by hand.
	b := []byte{packets.Subscribe<<4 | 2, byte(2 + 3 + 2 + len(f) + 1), 0, 1, 2, packets.PropSubscriptionIdentifier, 0, 0, byte(len(f))}
	b = append(append(b, f...), 0)
	_ = r.trySendBytes(b)
	r.expectClosed("Subscription Identifier 0", 0x81, 0x82)
}

// publishWithSubscriptionID: a client's PUBLISH MUST NOT carry a
// Subscription Identifier [MQTT-3.3.4-6]: a Protocol Error, on which the
// server closes the connection [MQTT-4.13.1-1].
func publishWithSubscriptionID(c *C) {
	b := c.encode(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, TopicName: c.topic("a"), PacketID: 1,
		Payload: []byte("x"), Properties: packets.Properties{SubscriptionIdentifier: []int{4}},
	})
	c.protocolError("a PUBLISH carrying a Subscription Identifier", b, 0x82)
}
