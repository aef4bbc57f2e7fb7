package conformance

import (
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Keep-alive: MQTT 3.1.1 §3.1.2.10, §3.12; MQTT 5.0 §3.1.2.10,
// §3.2.2.3.14 (Server Keep Alive), §3.12.
func keepAliveCases() []testCase {
	var cs []testCase
	add := func(c ...testCase) { cs = append(cs, c...) }
	add(both("keepalive", refs("MQTT-3.1.2-24"), refs("MQTT-3.1.2-22"),
		"a client silent for one and a half keep-alives is disconnected, not before one", keepAliveExpires)...)
	add(both("keepalive", refs("MQTT-3.12.4-1", "MQTT-3.1.2-24"), refs("MQTT-3.12.4-1", "MQTT-3.1.2-22"),
		"PINGREQ gets PINGRESP, and PINGREQ or any packet keeps the connection open", keepAliveKept)...)
	add(only5("keepalive", refs("MQTT-3.2.2-21", "MQTT-3.1.2-22", "§3.2.2.3.14"),
		"a keep-alive above the server's is answered with Server Keep Alive, which the server enforces", serverKeepAlive))
	return cs
}

// keepAliveExpires: with keep-alive 1 s, a client that sends nothing is
// disconnected by the server after 1.5 s [MQTT-3.1.2-24 (3.1.1),
// MQTT-3.1.2-22 (5.0)], as if the network had failed (5.0: a DISCONNECT
// first can only say 0x8D, Keep Alive timeout); a server that waited less
// than one keep-alive would cut off clients that keep theirs.
func keepAliveExpires(c *C) {
	r := c.dial("client")
	start := time.Now()
	ack := r.connectWith(conn{id: c.newID(), keepAlive: 1, noPing: true})
	if ack.ReasonCode != 0 {
		c.Fatalf("%s", ack)
	}
	if c.is5() && ack.Properties.ServerKeepAliveFlag && ack.Properties.ServerKeepAlive != 1 {
		c.Fatalf("%s with Server Keep Alive %d for keep-alive 1: this case needs the server to keep 1 s", ack, ack.Properties.ServerKeepAlive)
	}
	if d := r.expectClosed("silent for longer than 1.5 keep-alives"); d != nil && d.ReasonCode != 0x8D {
		c.Errorf("%s; want 0x8D (Keep Alive timeout) if anything", d)
	}
	if took := time.Since(start); took < time.Second {
		c.Errorf("disconnected %v after CONNECT; the keep-alive was 1 s", took)
	}
}

// keepAliveKept: the server answers PINGREQ with PINGRESP [MQTT-3.12.4-1],
// and a client that sends a packet within each keep-alive stays connected
// [MQTT-3.1.2-24 (3.1.1), MQTT-3.1.2-22 (5.0)]: here for 3.5 keep-alives
// of 2 s, pinging and publishing in turn every half second by the clock,
// whatever the answers' delay. A server cuts the client off after 3 s of
// silence only: the client's sends or the server's reads would have to be
// 2.5 s late for a loaded machine to look like a fault.
func keepAliveKept(c *C) {
	const keepAlive = 2
	r := c.dial("client")
	ack := r.connectWith(conn{id: c.newID(), keepAlive: keepAlive, noPing: true})
	if ack.ReasonCode != 0 {
		c.Fatalf("%s", ack)
	}
	ka := time.Duration(keepAlive) * time.Second
	if p := ack.Properties; c.is5() && p.ServerKeepAliveFlag && p.ServerKeepAlive > 0 && p.ServerKeepAlive < keepAlive {
		ka = time.Duration(p.ServerKeepAlive) * time.Second // the client keeps the server's [MQTT-3.2.2-21]
	}
	const every = 500 * time.Millisecond
	start := time.Now()
	end := start.Add(ka * 7 / 2)
	for i, next := 0, start; next.Before(end); i, next = i+1, next.Add(every) {
		time.Sleep(time.Until(next))
		if i%2 == 0 {
			r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
			r.expect(packets.Pingresp)
		} else {
			r.publish(c.topic("nobody"), 0, false, []byte("alive"), nil)
		}
	}
	r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	r.expect(packets.Pingresp)
}

// serverKeepAlive: (5.0) a server that keeps a shorter keep-alive than the
// client asked for says so in Server Keep Alive (§3.2.2.3.14), which the
// client must then use [MQTT-3.2.2-21]; the server enforces it
// [MQTT-3.1.2-22].
func serverKeepAlive(c *C) {
	ska := c.target.Limits.ServerKeepAlive
	c.need(ska > 0, "Server Keep Alive")
	r := c.dial("client")
	start := time.Now()
	ack := r.connectWith(conn{id: c.newID(), keepAlive: ska + 60, noPing: true})
	if ack.ReasonCode != 0 {
		c.Fatalf("%s", ack)
	}
	if !ack.Properties.ServerKeepAliveFlag || ack.Properties.ServerKeepAlive != ska {
		c.Fatalf("%s for keep-alive %d: Server Keep Alive present %v, %d; want %d", ack, ska+60,
			ack.Properties.ServerKeepAliveFlag, ack.Properties.ServerKeepAlive, ska)
	}
	if d := r.expectClosedWithin(deadline+time.Duration(ska)*1500*time.Millisecond, "silent for longer than 1.5 Server Keep Alives"); d != nil && d.ReasonCode != 0x8D {
		c.Errorf("%s; want 0x8D (Keep Alive timeout) if anything", d)
	}
	if took := time.Since(start); took < time.Duration(ska)*time.Second {
		c.Errorf("disconnected %v after CONNECT; the Server Keep Alive was %d s", took, ska)
	}
}
