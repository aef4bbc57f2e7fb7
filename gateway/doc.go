// Package gateway is a self-hosted MQTT gateway in front of RocketMQ: an
// embedded MQTT broker (mochi-mqtt) whose every message passes through
// RocketMQ with the mapping of package mqttrmq, so that devices written for
// the hosted MQTT service and backends written against its property
// mapping work unchanged on top of any RocketMQ.
//
//	g, err := gateway.New(gateway.Config{
//		Listen:       ":1883",
//		NameServer:   []string{"10.0.0.5:9876"},
//		ParentTopics: []string{"vehicles"},
//		InstanceID:   "gw-1",
//	})
//	if err != nil { ... }
//	if err := g.Start(ctx); err != nil { ... }
//	defer g.Close()
//
// # Uplink
//
// Every PUBLISH from a device becomes a RocketMQ message (mqttrmq.ToRocketMQ)
// on the topic's first level, tagged UplinkTag, with the client ID taken from
// the connection, never from anything the device sends. What the SPEC
// forbids (unknown parent topics, control characters, malformed P2P topics,
// oversized payloads) is refused and counted and never reaches RocketMQ; an
// MQTT 3.1.1 device gets its acknowledgement anyway, because MQTT 3.1.1 can
// only acknowledge a publish or disconnect, and a disconnected device would
// resend the same refused message forever. An MQTT 5 device's QoS 1 publish
// gets a PUBACK with a reason code.
//
// A QoS 1 or 2 publish is acknowledged only once RocketMQ has taken it. A
// send RocketMQ refuses is retried for Config.SendRetryFor; if it still
// fails, the device is disconnected without an acknowledgement and resends
// the publish when it reconnects. The device's read loop waits meanwhile,
// which is also what keeps each device's messages in order. Sends are
// batched: each of a few lanes sends whatever queued up while its previous
// send was in flight, so under load many devices' messages share one round
// trip, and alone a message goes out at once.
//
// # Downlink, and why every message comes back from RocketMQ
//
// Each instance consumes every parent topic with a consumer group of its
// own (named after Config.InstanceID), for both what backends send to MQTT
// clients (tag MQ2MQTT) and what devices published (UplinkTag). RocketMQ
// gives every group every message, so each instance sees every message once
// and delivers it to its own clients; the broker's own local routing of a
// device's publish is switched off. So a device on instance A and a
// subscriber on instance B exchange messages exactly once in steady state,
// and a P2P message reaches its target on whichever instance it is
// connected. The group's offsets live in RocketMQ, so an instance restarted
// with the same InstanceID resumes where it stopped, and a new instance
// starts at its first start-up, not at the start of history. A message is
// committed only after it was handed to MQTT.
//
// The alternatives were weighed: a broadcasting consumer keeps offsets in a
// local file and cannot retry; one shared clustering group would hand each
// message to one instance only, which then could not reach subscribers
// elsewhere. The price of one group per instance is that every instance
// reads all traffic, and that a retired instance's group stays in RocketMQ
// until an operator removes it.
//
// # P2P privacy
//
// A P2P message ({parent}/p2p/{id}, or mqttSecondTopic /p2p/{id}) is written
// to its target directly, without a subscription, and never travels through
// subscriptions: a subscriber of {parent}/# never sees it. No client may
// subscribe to another client's P2P topic, by name or by wildcard in its P2P
// level, and any P2P-shaped topic is withheld from everyone but its owner
// when a message is delivered.
//
// # Sessions
//
// A client with a persistent session (clean session false) keeps its
// subscriptions and unacknowledged QoS 1 and 2 messages while it is away,
// and gets them when it reconnects. With Config.SessionStore they also
// survive a restart. A client that connects to another instance than the
// one holding its session starts a new session there.
//
// # Limits worth knowing
//
//   - Each instance hands RocketMQ's messages to its clients one after
//     another, and the broker writes to a client under a lock every
//     delivery to it needs: a client that stops reading holds up the
//     instance's downlink for up to Config.WriteTimeout, and is then
//     disconnected.
//   - The embedded broker shares one packet-ID space between a client's
//     inbound and outbound messages; a device that reuses an ID still in
//     flight from the broker makes the broker forget that outbound message.
//   - The broker cannot tell a message published by its own client back to
//     it from anyone else's, so MQTT 5's no-local option is not honoured.
//   - A will goes to RocketMQ as soon as its client's connection ends: MQTT
//     5's will delay interval is not honoured, and a client reconnecting
//     within it does not call its will back.
//   - The RocketMQ client races with itself if a gateway is closed within
//     moments of starting, or while a pull is returning messages; it
//     recovers, and what it had not handed over is consumed again after a
//     restart, but the race detector reports it.
package gateway
