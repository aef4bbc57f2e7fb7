// Package conformance is an MQTT 3.1.1 and 5.0 server conformance suite,
// case by normative statement, that runs against any server reachable over
// TCP: the gateway over rocketmqtest, Mosquitto as the reference that
// shows the cases themselves are right, any core that replaces the
// gateway's broker.
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(t *testing.T) conformance.Target {
//			return conformance.Target{Addr: addr, TopicPrefix: "conformance", Limits: ...}
//		})
//	}
//
// Each case is a subtest named area/version/statements, for example
// "connect/5.0/MQTT-3.1.0-1,MQTT-3.14.0-1 a first packet other than
// CONNECT closes the connection, unanswered": the statements are those of
// the version named, MQTT 3.1.1 (OASIS Standard plus Errata 01) or MQTT 5.0
// (OASIS Standard); where a rule has no numbered statement its section is
// cited (§4.8.2). Every case's function says, in its doc comment, what it
// checks and why that is the rule. The areas are one file each: connect,
// publish (the QoS flows both ways), subscribe, session, will, retain,
// keepalive, properties (MQTT 5 message properties), expiry, flowcontrol
// (Receive Maximum), packetsize, topicalias, shared and refusal (reason
// codes of refused subscriptions and publishes).
//
// # What a case asserts
//
// Cases are strict: where the specification leaves a server a choice, the
// case accepts every choice it allows and nothing else, and says so. Where
// the specification says SHOULD or MAY and the suite holds servers to it
// (a DISCONNECT with a reason code before closing, checking payloads
// declared UTF-8), a Target names the Deviation it takes instead, and the
// case then checks what the specification still requires of it. A MUST is
// never a deviation. Every wait is bounded by a failure deadline; no case
// asserts how fast a server is. A case that must show that something does
// not happen waits for a later message that ordering rules put behind it
// where it can, and otherwise listens for a short while: such a wait can
// miss a late violation but never fails a correct server. Lower bounds on
// time (a will not sent before its delay, a connection not cut before its
// keep-alive) are asserted, since no load on the machine can make a
// correct server early.
//
// Besides what each case checks, every packet the server sends to the
// suite's packet-level client is checked against the rules that hold for
// every packet of its type: reserved header bits, reason codes from the
// packet's table, packet identifiers, the client's Maximum Packet Size and
// Topic Alias Maximum, no Session Expiry Interval on a server's DISCONNECT,
// no Reason String or User Property after Request Problem Information 0.
//
// # Clients
//
// Protocol-precise cases use a client at the packet level, on the packet
// codec of github.com/mochi-mqtt/server/v2/packets (a dependency of the
// gateway already): it sends exactly the bytes a case builds, malformed
// ones included, and reads every packet the server sends. Cases about
// behaviour as applications see it use the clients devices and services
// use: github.com/eclipse/paho.mqtt.golang for MQTT 3.1.1 and
// github.com/eclipse/paho.golang for MQTT 5.0. None of the three is the
// server under test, and the cases depend on no server's behaviour beyond
// the specification.
//
// # Targets
//
// A Target gives the server's address, the first topic level every case
// topic starts with (a gateway serves only topics whose first level is
// one of its RocketMQ topics), the limits it is configured with (Receive
// Maximum, Maximum Packet Size, Topic Alias Maximum, Server Keep Alive,
// subscriptions per client, the largest payload), the topics and filters it refuses and with
// which reason code, and its deviations. A case that needs a limit the
// target does not declare fails, saying so: the suite holds servers to
// all of these features.
//
// A reference server, run to show that the cases are right, may name the
// cases it fails by faults of its own (Target.KnownBreaks), each with the
// statement it breaks and what it does instead: such a case must go on
// failing, and every other case must pass. A server under test names
// none.
package conformance
