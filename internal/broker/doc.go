// Package broker is the gateway's MQTT core: an MQTT 3.1.1 and 5.0 server
// that holds very many connections cheaply and never lets one client hold
// up another. It speaks the protocol (internal/packet) over the transports
// (internal/transport) and keeps sessions; where messages go is not its
// business. Every PUBLISH a client sends goes to Hooks.Publish, and the
// broker delivers only what its program hands it with Server.Publish (to
// the sessions whose subscriptions match; Server.Deliver does the same
// without retaining) and Server.PublishTo (to one client, without a
// subscription). The gateway routes every message through RocketMQ
// between the two.
//
// # A connection costs no goroutine
//
// A Client is a small record: the connection, what CONNECT said, and
// between packets nothing else unless a packet arrived in pieces (a
// partial buffer), a QoS 1/2 publish awaits its hook (an acknowledgement
// slot), or a message awaits the client (its session's queue). Bytes
// arrive on the transport's poller goroutines, which parse and handle
// every whole packet in place. A connection's deadlines (the connect
// timeout, then 1.5 × its keep-alive) are no timer of its own: one wheel a
// server, in 100 ms slots, holds an entry a connection and looks, when
// the entry's slot comes, at when the client opened or last sent
// anything; a runtime timer and its closure would cost several times the
// entry. Will delays and session expiries, which only ended connections
// have, are runtime timers, not goroutines.
//
// # No client holds up another
//
// Delivering never waits for a socket: a PUBLISH is encoded into a pooled
// buffer and handed to the transport, which writes what the socket takes
// and keeps the rest, up to its write-buffer bound. QoS 1 and 2 messages
// beyond the client's in-flight window (MaxInflight, lowered by an MQTT 5
// client's Receive Maximum) wait in its session's queue, bounded by
// MaxQueuedMessages. A client over either bound is a slow consumer, as
// nats-server calls it: disconnected and counted, while its persistent
// session keeps its unacknowledged and queued messages for the reconnect.
// Locks are per session (for its deliveries and state) and per
// connection (for its inbound side); a CONNECT takes, beyond those of its
// own client ID, only its shard of the session registry, for a map
// operation.
//
// Inbound, a client's QoS 1 and 2 publishes are acknowledged in the order
// they came [MQTT-4.6.0-2], each once its hook answers (for the gateway,
// once RocketMQ stored it). An MQTT 5 client that exceeds the broker's
// Receive Maximum is disconnected (0x93); an MQTT 3.1.1 client, which
// cannot be told the limit, is simply read no further until a slot frees,
// as a blocked socket would do.
//
// # What it implements
//
// MQTT 3.1.1 and 5.0 over TCP, TLS, WebSocket and secure WebSocket; QoS 0,
// 1 and 2 both ways, with separate packet-identifier spaces for each
// direction; clean and persistent sessions (MQTT 5 session expiry;
// MaxSessionExpiry for 3.1.1), resent in-flight messages with DUP on
// reconnect; takeover of a client ID [MQTT-3.1.4-2]; wills with MQTT 5's
// will delay; retained messages with retain handling and
// retain-as-published; keep-alive and server keep-alive; Receive Maximum
// and Maximum Packet Size both ways; topic aliases both ways; subscription
// identifiers; no-local; shared subscriptions ($share/{group}/{filter});
// assigned client identifiers; message expiry (an expired message is not
// delivered, a live one carries what is left); payload format
// validation; and a reason code on every refusal, counted in Stats.
// Enhanced authentication (AUTH) is not offered. Subscriptions are matched
// with mqttrmq.FilterSet.
package broker
