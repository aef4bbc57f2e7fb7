package conformance

import (
	"slices"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Retained messages: MQTT 3.1.1 §3.3.1.3; MQTT 5.0 §3.3.1.3 and the
// subscription options Retain As Published and Retain Handling (§3.8.3.1).
func retainCases() []testCase {
	var cs []testCase
	add := func(c ...testCase) { cs = append(cs, c...) }
	add(both("retain", refs("MQTT-3.3.1-5", "MQTT-3.3.1-6", "MQTT-3.3.1-8"), refs("MQTT-3.3.1-5", "MQTT-3.3.1-9"),
		"a retained message reaches a new subscriber with RETAIN 1", retainedOnSubscribe)...)
	add(both("retain", refs("MQTT-3.3.1-5"), refs("MQTT-3.3.1-5"),
		"a retained message replaces the one before it", retainedReplaced)...)
	add(both("retain", refs("MQTT-3.3.1-10", "MQTT-3.3.1-11"), refs("MQTT-3.3.1-6", "MQTT-3.3.1-7"),
		"an empty retained message is delivered and deletes the retained message", retainedDeleted)...)
	add(both("retain", refs("MQTT-3.3.1-12"), refs("MQTT-3.3.1-8"),
		"a message with RETAIN 0 neither stores, replaces nor deletes a retained message", retainZeroKeeps)...)
	add(both("retain", refs("MQTT-3.3.1-9"), refs("MQTT-3.3.1-12"),
		"an established subscription gets retained publishes with RETAIN 0", establishedRetainZero)...)
	add(only311("retain", refs("MQTT-3.3.1-7"),
		"a QoS 0 retained message replaces a retained message", retainedQoS0Replaces))
	add(both("retain", refs("MQTT-3.3.1-6", "MQTT-3.8.4-6"), refs("MQTT-3.3.1-9", "MQTT-3.8.4-8"),
		"a wildcard subscription gets every matching retained message, at the lower QoS", retainedWildcard)...)
	add(both("retain", refs("MQTT-3.1.2-7"), refs("§4.1"),
		"retained messages outlive the session that published them", retainedOutlivesSession)...)
	add(both("retain", refs("MQTT-3.8.4-3"), refs("MQTT-3.8.4-3", "MQTT-3.8.4-4"),
		"subscribing again resends the retained messages", retainedOnResubscribe)...)
	add(only5("retain", refs("MQTT-3.3.1-10"),
		"Retain Handling 1 sends retained messages only for a new subscription", retainHandling1))
	add(only5("retain", refs("MQTT-3.3.1-11"),
		"Retain Handling 2 sends no retained messages", retainHandling2))
	add(only5("retain", refs("MQTT-3.3.1-13"),
		"Retain As Published 1 keeps the RETAIN flag on an established subscription", retainAsPublished))
	add(only5("retain", refs("MQTT-3.3.2-17", "MQTT-3.3.2-18", "MQTT-3.3.2-20", "MQTT-3.3.2-4"),
		"a retained message keeps its properties", retainedProperties))
	return cs
}

// retainedOnSubscribe: the server stores a retained message
// [MQTT-3.3.1-5] and sends it to a new subscription [MQTT-3.3.1-6
// (3.1.1), MQTT-3.3.1-9 (5.0, Retain Handling 0)] with RETAIN 1
// [MQTT-3.3.1-8 (3.1.1)].
func retainedOnSubscribe(c *C) {
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, true, []byte("retained"), nil)
	s := c.subscriber("subscriber", c.topic("a"), 1)
	if p := s.expectMessage(); string(p.Payload) != "retained" || !p.FixedHeader.Retain || p.TopicName != c.topic("a") {
		c.Errorf("got %s; want the retained message with RETAIN 1", p)
	}
}

// retainedReplaced: a retained message replaces any retained before it on
// its topic [MQTT-3.3.1-5].
func retainedReplaced(c *C) {
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, true, []byte("old"), nil)
	pub.publishAcked(c.topic("a"), 1, true, []byte("new"), nil)
	s := c.subscriber("subscriber", c.topic("a"), 1)
	if p := s.expectMessage(); string(p.Payload) != "new" {
		c.Errorf("got %s; want only the newer retained message", p)
	}
	s.expectNothing(quiet, "one retained message per topic")
}

// retainedDeleted: a retained PUBLISH with an empty payload is delivered
// as normal and removes the retained message [MQTT-3.3.1-10 (3.1.1),
// MQTT-3.3.1-6 (5.0)], and is not itself retained [MQTT-3.3.1-11 (3.1.1),
// MQTT-3.3.1-7 (5.0)].
func retainedDeleted(c *C) {
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, true, []byte("to delete"), nil)
	s := c.subscriber("subscriber", c.topic("a"), 1)
	s.expectMessage()
	pub.publishAcked(c.topic("a"), 1, true, nil, nil)
	if p := s.expectMessage(); len(p.Payload) != 0 {
		c.Errorf("the subscriber got %s; want the empty message", p)
	}
	late := c.subscriber("late subscriber", c.topic("a"), 1)
	late.expectNothing(quiet, "the retained message was deleted")
}

// retainZeroKeeps: a PUBLISH with RETAIN 0 is not stored and does not
// remove or replace the retained message [MQTT-3.3.1-12 (3.1.1),
// MQTT-3.3.1-8 (5.0)].
func retainZeroKeeps(c *C) {
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, true, []byte("retained"), nil)
	pub.publishAcked(c.topic("a"), 1, false, []byte("not retained"), nil)
	pub.publishAcked(c.topic("a"), 1, false, nil, nil)
	pub.publishAcked(c.topic("b"), 1, false, []byte("not retained either"), nil)
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	s.mustSubscribe(sub(c.topic("+"), 1))
	if p := s.expectMessage(); string(p.Payload) != "retained" {
		c.Errorf("got %s; want the retained message, untouched", p)
	}
	s.expectNothing(quiet, "no other message is retained")
}

// establishedRetainZero: a message sent to an established subscription has
// RETAIN 0 whatever the publisher set [MQTT-3.3.1-9 (3.1.1); MQTT-3.3.1-12
// (5.0), Retain As Published 0].
func establishedRetainZero(c *C) {
	s := c.subscriber("subscriber", c.topic("a"), 1)
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, true, []byte("retained"), nil)
	if p := s.expectMessage(); p.FixedHeader.Retain {
		c.Errorf("got %s on an established subscription; want RETAIN 0", p)
	}
}

// retainedQoS0Replaces: (3.1.1) a QoS 0 retained message MUST discard the
// message retained before it [MQTT-3.3.1-7]; the server SHOULD keep it.
func retainedQoS0Replaces(c *C) {
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, true, []byte("qos 1"), nil)
	pub.publishAcked(c.topic("a"), 0, true, []byte("qos 0"), nil)
	pub.publishAcked(c.topic("a"), 1, false, []byte("sync"), nil) // the QoS 0 message is in before this is acknowledged
	s := c.subscriber("subscriber", c.topic("a"), 1)
	if p := s.expectMessage(); string(p.Payload) != "qos 0" {
		c.Errorf("got %s; want the QoS 0 retained message", p)
	}
}

// retainedWildcard: a new wildcard subscription gets the retained message
// of every matching topic [MQTT-3.3.1-6 (3.1.1), MQTT-3.3.1-9 (5.0)], each
// at the lower of its QoS and the subscription's [MQTT-3.8.4-6 (3.1.1),
// MQTT-3.8.4-8 (5.0)].
func retainedWildcard(c *C) {
	pub := c.publisher("publisher")
	for i, name := range []string{"x/a", "x/b", "x/c/d"} {
		pub.publishAcked(c.topic(name), byte(i), true, []byte(name), nil)
	}
	s := c.subscriber("subscriber", c.topic("x/#"), 1)
	got := map[string]byte{}
	for range 3 {
		p := s.expectMessage()
		got[string(p.Payload)] = p.FixedHeader.Qos
		if !p.FixedHeader.Retain {
			c.Errorf("got %s; want RETAIN 1", p)
		}
	}
	for i, name := range []string{"x/a", "x/b", "x/c/d"} {
		if q, ok := got[name]; !ok || q != min(byte(i), 1) {
			c.Errorf("retained %s: delivered %v at QoS %d; want QoS %d", name, ok, q, min(i, 1))
		}
	}
}

// retainedOutlivesSession: retained messages are not part of a session
// and are not deleted when it ends [MQTT-3.1.2-7 (3.1.1); 5.0 §4.1].
func retainedOutlivesSession(c *C) {
	pub, _ := c.connect("publisher", conn{id: c.newID()})
	pub.publishAcked(c.topic("a"), 1, true, []byte("outlives"), nil)
	pub.disconnect()
	s := c.subscriber("subscriber", c.topic("a"), 1)
	if p := s.expectMessage(); string(p.Payload) != "outlives" {
		c.Errorf("got %s", p)
	}
}

// retainedOnResubscribe: subscribing again to a filter held replaces the
// subscription and resends the matching retained messages [MQTT-3.8.4-3]
// (5.0: with Retain Handling 0 [MQTT-3.8.4-4]).
func retainedOnResubscribe(c *C) {
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, true, []byte("retained"), nil)
	s := c.subscriber("subscriber", c.topic("a"), 1)
	s.expectMessage()
	s.mustSubscribe(sub(c.topic("a"), 1))
	if p := s.expectMessage(); string(p.Payload) != "retained" || !p.FixedHeader.Retain {
		c.Errorf("got %s; want the retained message again", p)
	}
}

// retainHandling1: (5.0) with Retain Handling 1 the server sends retained
// messages for a new subscription and none when the subscription existed
// [MQTT-3.3.1-10].
func retainHandling1(c *C) {
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, true, []byte("retained"), nil)
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	o := sub(c.topic("a"), 1)
	o.RetainHandling = 1
	s.mustSubscribe(o)
	if p := s.expectMessage(); string(p.Payload) != "retained" {
		c.Errorf("got %s; want the retained message for the new subscription", p)
	}
	s.mustSubscribe(o)
	s.expectNothing(quiet, "Retain Handling 1 and the subscription existed")
}

// retainHandling2: (5.0) with Retain Handling 2 the server sends no
// retained messages [MQTT-3.3.1-11].
func retainHandling2(c *C) {
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, true, []byte("retained"), nil)
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	o := sub(c.topic("a"), 1)
	o.RetainHandling = 2
	s.mustSubscribe(o)
	pub.publishAcked(c.topic("a"), 1, false, []byte("live"), nil)
	if p := s.expectMessage(); string(p.Payload) != "live" {
		c.Errorf("got %s; want only the live message", p)
	}
}

// retainAsPublished: (5.0) with Retain As Published 1 the server forwards
// the RETAIN flag as published [MQTT-3.3.1-13].
func retainAsPublished(c *C) {
	s, _ := c.connect("subscriber", conn{id: c.newID()})
	o := sub(c.topic("a"), 1)
	o.RetainAsPublished = true
	s.mustSubscribe(o)
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, true, []byte("retained"), nil)
	pub.publishAcked(c.topic("a"), 1, false, []byte("plain"), nil)
	for _, want := range []bool{true, false} {
		if p := s.expectMessage(); p.FixedHeader.Retain != want {
			c.Errorf("got %s; want RETAIN %v as published", p, want)
		}
	}
}

// retainedProperties: (5.0) a retained message is the application message
// with its properties: a later subscriber gets them unaltered
// [MQTT-3.3.2-4, MQTT-3.3.2-17, MQTT-3.3.2-18, MQTT-3.3.2-20].
func retainedProperties(c *C) {
	props := packets.Properties{
		PayloadFormat: 1, PayloadFormatFlag: true, ContentType: "text/plain",
		User: []packets.UserProperty{{Key: "z", Val: "1"}, {Key: "a", Val: "2"}},
	}
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, true, []byte("with properties"), &props)
	s := c.subscriber("subscriber", c.topic("a"), 1)
	p := s.expectMessage()
	if got := p.Properties; !got.PayloadFormatFlag || got.PayloadFormat != 1 || got.ContentType != props.ContentType || !slices.Equal(got.User, props.User) {
		c.Errorf("the retained message arrived with %s; want %s", describeProps(got), describeProps(props))
	}
}
