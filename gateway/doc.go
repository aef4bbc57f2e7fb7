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
// and alone a message goes out at once — or, with the linger
// (Config.SendLinger, 5 ms by default), after waiting that long for
// others: the lanes that lingered then send
// together, in one write to each broker on the one connection the lanes
// share, and their answers come back in one read, which at a fleet's pace
// (devices a second apart) spares most of a message's write, read and
// wake-up for a few milliseconds of latency; at a pace too slow for a
// linger to gather others, a message goes at once. A device's messages all take one
// lane and one RocketMQ queue, which keeps them in order; a retried send
// can fall behind messages of the same device sent after it. Every send
// goes through the project's own producer (internal/remoting): one write
// a request and its answer read by the lane that sent it, which halved
// what a device message costs in CPU beside rocketmq-client-go's
// producer; the gateway reads through rocketmq-client-go's consumers.
//
// # Many gateways, one system
//
// Instances that share a RocketMQ and a Config.Cluster name are one
// system: a message is read by the instances that have a receiver for it,
// one client ID has one connection in the whole cluster, and a persistent
// session follows its client to whichever instance it reconnects to. The
// cluster layer (internal/cluster) keeps all of it in RocketMQ itself, with
// two features of the broker: a topic every instance reads, and Light
// Message Queues filled by multi-dispatch (a message's INNER_MULTI_DISPATCH
// property lists queues, and the broker appends the stored message to each,
// writing its offset in each to INNER_MULTI_QUEUE_OFFSET). No other engine
// and no consensus: the directory is a log, and every instance applies the
// same log.
//
//   - The directory, topic {Cluster}_directory: each instance writes
//     records of what it holds (a client connected at a time, its end, a
//     filter a clean session subscribed to or left, a persistent session's
//     whole record: subscriptions, owner, online, version, expiry), and
//     every Config.SnapshotInterval (30 s) a snapshot of everything it
//     holds, which replaces all it said before. Every instance reads the
//     whole topic, from two intervals back when it starts, so it knows who
//     wants what in the whole cluster. Interest is routing data, not
//     traffic: a few records per connection, not per message.
//   - The inbox of instance I, Light Message Queue %LMQ%{Cluster}-gw-{I}:
//     the messages for receivers on I. I reads it alone, with long polls,
//     from its end when it starts.
//   - The session queue of a persistent session, %LMQ%{Cluster}-s-{ID}
//     (the client ID in base32, or its SHA-256 when too long): every
//     message for the session, online or not. Whichever instance serves the
//     session reads it from the offset the session acknowledged, which is
//     committed in RocketMQ as consumer group {Cluster}-sessions.
//
// A device's PUBLISH is sent to its parent topic with the inboxes and
// session queues that want it listed in its INNER_MULTI_DISPATCH (or, when
// the list does not fit among its properties, on routed copies: messages
// on {Cluster}_route whose body is the original, each listing a part of
// the list). Telemetry nobody subscribes to lists nothing and is read by
// no gateway. A backend's message (tag MQ2MQTT) cannot list queues, so the
// router reads it: every instance is a member of one clustering consumer
// group, {Cluster}-router, so each such message is read once, by one
// instance, which writes routed copies to whoever wants it, and nothing
// when nobody does. An instance reads: its inbox, the router's share of
// the backends' messages, the directory, and the queues of sessions that
// connect to it. With N instances a message is read at most 1 + (the
// number of instances with a receiver for it) times, not N.
//
// How changes travel, and what they cost:
//
//   - A new subscription is queued for the directory when it is accepted
//     and written at once (its SUBACK does not wait for RocketMQ); other
//     instances apply it when they read it, normally within milliseconds
//     (a long poll returns as the record arrives). A message published
//     elsewhere in between is not dispatched to it: the window is the
//     directory's propagation delay, and MQTT makes no promise about
//     messages published while a SUBSCRIBE is in flight. A persistent
//     session's subscriptions and owner travel the same way; the instance
//     it connects to reads its queue when it connects and once more 2 s
//     later, so that a message a writer dispatched meanwhile by the old
//     record (to the queue alone, or to the previous instance's inbox) is
//     still delivered. A persistent client's connect record says it
//     persists, so that from then until its session's record arrives its
//     P2P messages go to its session's queue as well as to its instance's
//     inbox: were it to leave and that instance to close in those
//     milliseconds, the queue still has them.
//   - An instance joining reads two snapshot intervals of the directory,
//     which holds a snapshot of every live instance, before it accepts
//     connections, and writes its own snapshot; it knows everyone at once,
//     and is known as its records arrive.
//   - An instance closing says so (a leave record) and is forgotten at once.
//     An instance that dies is forgotten once no record of it was read for
//     three snapshot intervals (90 s). Until then messages for its clients
//     are still dispatched to its inbox, where nobody reads them: a client
//     that reconnects elsewhere meanwhile is written as connected there (a
//     later connect wins), so its P2P messages follow it at once; its clean
//     session's messages published before it resubscribed are lost, as a
//     clean session's are anyway when its server dies. A persistent
//     session loses nothing: its messages are in its session queue, and the
//     instance it reconnects to reads them from what it acknowledged. The
//     sessions of a dead instance are adopted (kept alive and their expiry
//     counted) by one surviving instance, chosen by rendezvous hashing.
//   - A takeover: a CONNECT on instance B of a client connected on A is
//     written as a connect record with its time; A closes its own connection
//     when it reads it [MQTT-3.1.4-2] (and, for a persistent session, when
//     it reads the session's record with a later version). Times are the
//     instances' clocks, so they must agree to better than the time between
//     two connections of one client; NTP does.
//
// Duplicates: a session's messages may come both through its queue and its
// inbox copy; the offset in its queue tells them apart, so a persistent
// session gets each message once per connection. Between connections, what
// was sent but not acknowledged is sent again, as MQTT requires.
//
// The cost model, for 100 instances and 1,000,000 devices (10,000 an
// instance), each sending a message a minute that no MQTT client
// subscribes to (16,700 messages a second), beside the design of one
// consumer group per instance, in which every instance reads everything:
//
//   - Reads per message: that design, 100 (1.67 million reads a second,
//     every instance decoding all 16,700); here 0 for telemetry nobody
//     wants, 1 per instance with a receiver for a device's message, and 1
//     more (the router) for a backend's.
//   - Memory for the interest table: every instance holds the whole
//     directory, measured at 221 bytes of heap a client (a connection, and
//     for one in ten a persistent session with one subscription;
//     BenchmarkDirectoryMemory in internal/cluster): 221 MB an instance
//     for a million clients; 654 bytes a client where every device
//     subscribes to a filter of its own on a clean session
//     (BenchmarkDirectoryMemoryOwnFilters). That design held only its
//     own clients' state.
//   - Interest traffic: a connect or disconnect is one record of about 80
//     bytes, written once and read by every instance: at a churn of 1% of
//     the devices reconnecting a minute (167 a second), 334 records a
//     second, 27 KB/s into each instance. Snapshots weigh more: each
//     instance writes its 10,000 clients every Config.SnapshotInterval, so
//     each instance reads a million records (80 MB) an interval: 2.7 MB/s
//     at the default 30 s, and applying them takes about 4 µs a record
//     (an eighth of a core). At this size an interval of 5 minutes (0.27
//     MB/s) is the better setting; it lengthens only how long a dead
//     instance's clients are still dispatched to (three intervals).
//   - Routing: a backend's message costs its read by the router and one
//     routed copy written per 400 or so receiving queues (a copy lists up
//     to 31 KB of queue names); a device's message with receivers the
//     same copies, sent after it by its instance.
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
// messages while it is away, and gets them when it reconnects, on any
// instance: its subscriptions are in the directory, its messages in its
// session queue in RocketMQ (which keeps them as long as its commit log
// does, 3 days by default), up to Config.MaxOfflineMessages (10,000: when
// more are waiting the oldest are skipped and counted in
// Stats.OfflineDropped) and Config.MaxSessionExpiry. Messages it had
// unacknowledged when it went away are sent again from its queue; an
// instance that restarts loses none of its sessions.
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
// outcomes), and its router given its share of every parent topic.
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
//   - A persistent session that reconnects to another instance gets what
//     it had not acknowledged again as new PUBLISH packets (new packet
//     identifiers, DUP 0), and with them what it acknowledged since its
//     queue was last committed, which happens whenever it has nothing in
//     flight; on the instance that kept it, it gets them with their
//     identifiers and DUP [MQTT-4.4.0-1].
//   - A SUBSCRIBE that changes the QoS of a filter a persistent session
//     holds already is not written to its record: another instance serves
//     it with the QoS of the first SUBSCRIBE.
//   - A QoS 2 publish is stored in RocketMQ once per PUBLISH the device
//     sends before PUBREL; a device that reconnects and resends it may
//     store it twice.
//   - The RocketMQ client races with itself if a gateway is closed within
//     moments of starting, or while a pull is returning messages; it
//     recovers, and what it had not handed over is consumed again after a
//     restart, but the race detector reports it.
package gateway
