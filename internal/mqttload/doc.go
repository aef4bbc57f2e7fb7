// Package mqttload is a lightweight MQTT 3.1.1 client for load tests: it
// holds tens of thousands of connections from one process, each costing a
// socket, a small read buffer and a few words of state, with no goroutine
// of its own. A connection that only has to stay connected (an idle device
// holding a subscription) is read by nobody after its handshake; one that
// receives is read by whichever goroutine the caller gives it (Conn.Serve).
//
// It speaks only what load tests send and receive: CONNECT, SUBSCRIBE,
// PUBLISH at QoS 0 and 1, PUBACK, PINGREQ and DISCONNECT out; CONNACK,
// SUBACK, PUBLISH, PUBACK and PINGRESP in. Those packets are a few bytes of
// framing each (MQTT 3.1.1 §2–3), so they are encoded here, appending to
// the connection's own buffer, and decoded in place without allocating:
// a general codec such as mochi-mqtt's packets builds a Packet value and a
// bytes.Buffer per packet, which on a two-core machine is CPU the load
// client takes from the server it measures. The tests decode every packet
// this package encodes with mochi-mqtt's packets codec, and the other way
// round, so the two agree on the wire.
//
// A paho client per connection (three goroutines, a router and an
// in-memory store each) would make the client, not the server, the
// bottleneck and the memory hog at 19,000 connections. Dialer spreads
// connections over several loopback source addresses (127.0.0.2, …), so no
// single source address runs out of ephemeral ports, and RaiseFileLimit
// lifts the process's open-file limit to its hard limit.
package mqttload
