package conformance

import (
	"fmt"
	"sort"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Shared subscriptions: MQTT 5.0 §4.8.2; for MQTT 3.1.1 clients too, as
// servers commonly accept them (the project's SPEC §2).
func sharedCases() []testCase {
	var cs []testCase
	add := func(c ...testCase) { cs = append(cs, c...) }
	add(both("shared", refs("§4.8.2 (5.0)"), refs("§4.8.2", "MQTT-4.8.2-3"),
		"each message to a shared subscription reaches exactly one of its members", sharedOneMember)...)
	add(only5("shared", refs("§4.8.2"),
		"every share group gets every message, beside ordinary subscribers", sharedGroups))
	add(only5("shared", refs("§3.3.1.3", "§4.8.2"),
		"a shared subscription gets no retained messages", sharedNoRetained))
	add(only5("shared", refs("MQTT-3.8.3-4"),
		"No Local on a shared subscription closes the connection", sharedNoLocal))
	add(only5("shared", refs("MQTT-4.8.2-1", "MQTT-4.8.2-2"),
		"a shared subscription with an invalid share name closes the connection", sharedBadName))
	add(only5("shared", refs("MQTT-3.10.4-1", "§4.8.2"),
		"unsubscribing one member leaves every message to the others", sharedUnsubscribe))
	return cs
}

// shareFilter returns the shared subscription filter of group to the
// case's topic a.
func (c *C) shareFilter(group string) string { return "$share/" + c.slug + group + "/" + c.topic("a") }

// collect reads messages from every client, acknowledging them, until n
// have arrived in all, and returns each client's payloads.
func collect(c *C, clients []*rawClient, n int) [][]string {
	c.Helper()
	got := make([][]string, len(clients))
	end := time.Now().Add(deadline)
	for total := 0; total < n; {
		if time.Now().After(end) {
			c.Fatalf("%d of %d messages arrived within %v: %v", total, n, deadline, got)
		}
		for i, r := range clients {
			p, ok := r.next(20 * time.Millisecond)
			switch {
			case !ok:
			case p.FixedHeader.Type == packets.Pubrel:
				r.ack(packets.Pubcomp, p.PacketID)
			case p.FixedHeader.Type != packets.Publish:
				c.Fatalf("%s: unexpected %s", r.label, p)
			default:
				switch p.FixedHeader.Qos {
				case 1:
					r.ack(packets.Puback, p.PacketID)
				case 2:
					r.ack(packets.Pubrec, p.PacketID)
				}
				got[i] = append(got[i], string(p.Payload))
				total++
			}
		}
	}
	return got
}

// sharedOneMember: the server sends each message matching a shared
// subscription to one of its members only (§4.8.2), at the QoS that
// member was granted [MQTT-4.8.2-3]; none is lost.
func sharedOneMember(c *C) {
	const n = 20
	var members []*rawClient
	for i := range 2 {
		members = append(members, c.subscriber(fmt.Sprintf("member %d", i), c.shareFilter("g"), 1))
	}
	pub := c.publisher("publisher")
	for i := range n {
		pub.publishAcked(c.topic("a"), 1, false, fmt.Appendf(nil, "%02d", i), nil)
	}
	got := collect(c, members, n)
	all := append(append([]string{}, got[0]...), got[1]...)
	sort.Strings(all)
	for i, p := range all {
		if p != fmt.Sprintf("%02d", i) {
			c.Fatalf("the members got %v and %v; want each of the %d messages exactly once", got[0], got[1], n)
		}
	}
	for _, m := range members {
		m.expectNothing(quiet, "every message was delivered once")
	}
}

// sharedGroups: each share group is a subscription of its own, and
// ordinary subscriptions to the same topic get every message (§4.8.2).
func sharedGroups(c *C) {
	const n = 6
	g1 := c.subscriber("group 1", c.shareFilter("g1"), 1)
	g2 := c.subscriber("group 2", c.shareFilter("g2"), 1)
	plain := c.subscriber("ordinary", c.topic("a"), 1)
	pub := c.publisher("publisher")
	for i := range n {
		pub.publishAcked(c.topic("a"), 1, false, fmt.Appendf(nil, "%d", i), nil)
	}
	for _, r := range []*rawClient{g1, g2, plain} {
		for i := range n {
			if p := r.expectMessage(); string(p.Payload) != fmt.Sprint(i) {
				c.Errorf("%s: got %s; want message %d", r.label, p, i)
			}
		}
	}
}

// sharedNoRetained: retained messages go to new non-shared subscriptions
// (§3.3.1.3); a shared subscription gets none (§4.8.2).
func sharedNoRetained(c *C) {
	pub := c.publisher("publisher")
	pub.publishAcked(c.topic("a"), 1, true, []byte("retained"), nil)
	s := c.subscriber("member", c.shareFilter("g"), 1)
	pub.publishAcked(c.topic("a"), 1, false, []byte("live"), nil)
	if p := s.expectMessage(); string(p.Payload) != "live" {
		c.Errorf("got %s; want only the live message", p)
	}
}

// sharedNoLocal: No Local 1 on a shared subscription is a Protocol Error
// [MQTT-3.8.3-4]: the server closes the connection.
func sharedNoLocal(c *C) {
	r, _ := c.connect("client", conn{id: c.newID()})
	s := sub(c.shareFilter("g"), 1)
	s.NoLocal = true
	r.sendSubscribe(0, s)
	r.expectClosed("No Local on a shared subscription", 0x82)
}

// sharedBadName: a shared subscription is $share/{ShareName}/{filter},
// the share name at least one character [MQTT-4.8.2-1] without '/', '+'
// or '#', followed by '/' and a filter [MQTT-4.8.2-2]; anything else is
// malformed and the server closes the connection.
func sharedBadName(c *C) {
	for _, f := range []string{"$share/" + c.slug + "+/" + c.topic("a"), "$share//" + c.topic("a"), "$share/" + c.slug} {
		r, _ := c.connect("client "+f, conn{id: c.newID()})
		r.sendSubscribe(0, sub(f, 1))
		r.expectClosed("SUBSCRIBE to "+f, 0x81, 0x82)
	}
}

// sharedUnsubscribe: UNSUBSCRIBE of a shared filter ends that member's
// share [MQTT-3.10.4-1]; the remaining member gets every message (§4.8.2).
func sharedUnsubscribe(c *C) {
	const n = 6
	m1 := c.subscriber("member 1", c.shareFilter("g"), 1)
	m2 := c.subscriber("member 2", c.shareFilter("g"), 1)
	m1.unsubscribe(c.shareFilter("g"))
	pub := c.publisher("publisher")
	for i := range n {
		pub.publishAcked(c.topic("a"), 1, false, fmt.Appendf(nil, "%d", i), nil)
	}
	for i := range n {
		if p := m2.expectMessage(); string(p.Payload) != fmt.Sprint(i) {
			c.Errorf("got %s; want message %d", p, i)
		}
	}
	m1.expectNothing(quiet, "it unsubscribed")
}
