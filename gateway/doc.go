// Package gateway is a self-hosted MQTT gateway in front of RocketMQ: an
// MQTT 3.1.1 and 5.0 server whose every message passes through RocketMQ
// with the mapping of package mqttrmq, so that devices written for the
// hosted MQTT service and backends written against its property mapping
// work unchanged on top of any RocketMQ.
//
// The MQTT side is the project's own event-driven core (internal/broker,
// over the transports of internal/transport): no goroutine per connection,
// a few kilobytes per idle device, TCP, TLS, WebSocket and secure
// WebSocket listeners, and bounded per-client queues, so that a device
// that stops reading is cut off as a slow consumer instead of holding up
// anyone else. This package is the RocketMQ side: the producer that takes
// every publish, the consumer that brings every message back, and the
// rules of the mapping and of the hosted service in between.
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
// resend the same refused message forever. An MQTT 5 device's QoS 1 or 2
// publish gets a PUBACK or PUBREC with a reason code.
//
// A QoS 1 or 2 publish is acknowledged only once RocketMQ has taken it, and
// acknowledgements go out in the order the publishes came. A send RocketMQ
// refuses is retried for Config.SendRetryFor (at most half the device's
// keep-alive); if it still fails, the device is disconnected without an
// acknowledgement and resends the publish when it reconnects. Nothing
// waits on the event loop meanwhile: up to Config.ReceiveMaximum publishes
// of one device are on their way at once, and an MQTT 3.1.1 device past
// that is read no further until one is acknowledged. Sends are batched:
// each of a few lanes sends whatever queued up while its previous send was
// in flight, so under load many devices' messages share one round trip,
// and alone a message goes out at once. A device's messages all take one
// lane and one RocketMQ queue, which keeps them in order; a retried send
// can fall behind messages of the same device sent after it.
//
// # Downlink, and why every message comes back from RocketMQ
//
// Each instance consumes every parent topic with a consumer group of its
// own (named after Config.InstanceID), for both what backends send to MQTT
// clients (tag MQ2MQTT) and what devices published (UplinkTag). RocketMQ
// gives every group every message, so each instance sees every message once
// and delivers it to its own clients; the MQTT core never routes a
// device's publish locally. So a device on instance A and a
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
// A client with a persistent session (MQTT 3.1.1 clean session 0, MQTT 5
// session expiry over 0) keeps its subscriptions and its QoS 1 and 2
// messages while it is away, up to Config.MaxQueuedMessages (the oldest
// dropped first, counted) and Config.MaxSessionExpiry, and gets them when
// it reconnects. With Config.SessionStore they also survive a restart: the
// store is written when the gateway closes and read when it starts. A
// client that connects to another instance than the one holding its
// session starts a new session there.
//
// # Operations
//
// MetricsHandler serves the gateway's metrics from a Prometheus registry
// of its own (nothing is registered globally; Collector hands them to a
// program's own registry): the counters and gauges of Stats and of the
// MQTT core, read when scraped, refusals by packet and reason code,
// histograms of the time a QoS 1 or 2 publish takes to be acknowledged
// (RocketMQ's send and retries included), of the time from a message's
// RocketMQ born time to its PUBLISH written to a client, and of CONNECT
// handling, and the Go runtime's and the process's collectors. No label
// holds a client ID or a topic.
//
// HealthHandler answers while the process serves; Ready and ReadyHandler
// say whether the gateway should get new connections: started, not
// draining, listeners up, RocketMQ taking its sends (judged by their
// outcomes), and its consumer holding queues of every parent topic.
//
// Drain takes an instance out of service without losing a message: it
// turns unready, stops accepting, sends MQTT 5 clients away (0x8B, or
// 0x9C/0x9D with Config.ServerReference), closes MQTT 3.1.1 clients one by
// one over Config.DrainGrace, waits for every publish already read to
// reach RocketMQ or be given up unacknowledged, and closes.
//
// Every connection event and refusal is one log line at
// Config.EventLogLevel, with the client ID, remote address and reason
// code; each kind of line is rate-limited (Config.LogRate), so that a
// client in a loop cannot flood the log.
// # Presence
//
// With Config.StatusTopic, backends hear of every client that comes and
// goes, as the hosted service's client status notifications (SPEC §8): a
// RocketMQ message tagged connect when a CONNECT is accepted, disconnect
// when the client sends DISCONNECT, tcpclean when its connection closes
// for any reason, each with the JSON body mqttrmq.ParsePresenceEvent
// reads and a channelId unique to the connection. Events are sent at
// least once and never hold up a connection: they wait, bounded by
// Config.StatusBacklog, while RocketMQ is away (PresenceStats).
// mqttrmq.PresenceTracker makes sense of them on the backend's side.
//
// # Tokens
//
// With Config.Tokens, apps log in with the hosted service's Token mode
// (SPEC §9), and TokenHandler serves the token service an application
// server applies to. A token is signed with its AccessKey's secret and
// says what it grants (resources, actions, expiry), so every instance
// holding the AccessKeys verifies it alone; each PUBLISH needs a W token
// covering its topic, each SUBSCRIBE an R token covering its filter. A
// client is warned on $SYS/tokenExpireNotice before a token expires,
// replaces it with $SYS/uploadToken, and is told on
// $SYS/tokenInvalidNotice and disconnected when one expires or is revoked.
// Revocations reach every instance through RocketMQ: the revoking instance
// sends them to Tokens.RevocationTopic, which every instance's consumer
// group reads; a starting instance reads that topic from its first message
// before it takes token logins; and the revocations in force are announced
// again before RocketMQ's retention would drop them (revocations.go tells
// the whole story).
//
// # Permissions
//
// Config.Permissions is a table of allow and deny rules per AccessKey and
// Group ID, on topic filters, for publishing and subscribing; a deny wins,
// and what no rule allows is refused: a SUBSCRIBE with 0x87 (MQTT 3.1.1:
// 0x80), a PUBLISH by not forwarding it (MQTT 5: PUBACK 0x87). See
// ParsePermissions for its format. Refusals are counted in AccessStats and,
// by reason code, in Stats.Refusals.
//
// # Limits worth knowing
//
//   - A message a device publishes reaches subscribers only through
//     RocketMQ, so it costs a round trip through RocketMQ even when
//     publisher and subscriber are on the same instance.
//   - Shared subscriptions share among the members on one instance: with
//     members on several instances, each instance gives each message to
//     one of its own.
//   - Retained messages are kept by each instance from what it consumes,
//     starting when it starts: an instance started after a retained
//     message was published does not have it.
//   - A QoS 2 publish is stored in RocketMQ once per PUBLISH the device
//     sends before PUBREL; a device that reconnects and resends it may
//     store it twice.
//   - The RocketMQ client races with itself if a gateway is closed within
//     moments of starting, or while a pull is returning messages; it
//     recovers, and what it had not handed over is consumed again after a
//     restart, but the race detector reports it.
package gateway
