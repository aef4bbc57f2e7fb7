package gateway

import (
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// Stats is a snapshot of the gateway's counters since it was created.
type Stats struct {
	UplinkSent         int64 // device publishes RocketMQ accepted
	UplinkRefused      int64 // device publishes refused: unknown parent topic, malformed topic, payload too large, bad P2P topic
	UplinkSendFailures int64 // send attempts RocketMQ did not take in time (every retry counts)
	UplinkGaveUp       int64 // QoS 1/2 publishes still not taken when the retry budget ran out: their devices were disconnected unacknowledged
	DownlinkDelivered  int64 // RocketMQ messages handed to the broker for this instance's subscribers, whether any matched or not
	DownlinkP2P        int64 // P2P messages handed to their target on this instance
	DownlinkNotHere    int64 // P2P messages whose target has no session on this instance
	DownlinkRefused    int64 // RocketMQ messages the mapping refused (malformed properties)
	SubscribesRefused  int64 // subscriptions refused: malformed filter, unknown parent, another client's P2P topic, over the limit
	ConnectionsRefused int64 // CONNECTs refused by authentication, the client-ID rules or the protocol

	Connected          int64 // clients connected now
	Sessions           int64 // sessions now, connected or not
	PersistentSessions int64 // sessions now that outlive their connection
	Queued             int64 // QoS 1/2 messages waiting for their clients now
	Inflight           int64 // QoS 1/2 messages sent to clients and not yet acknowledged now
	Written            int64 // PUBLISH packets written to clients
	SlowConsumers      int64 // clients disconnected for falling behind
	Expired            int64 // messages not delivered because their expiry interval passed
	OfflineDropped     int64 // oldest messages a returning persistent session did not get, over Config.MaxOfflineMessages

	Routed        int64 // backends' messages this instance's router dispatched to their receivers
	RoutedNowhere int64 // backends' messages the router read that nobody wanted
	RouteFailures int64 // routed copies RocketMQ did not take (their messages are routed again)

	// What this instance's directory holds now, for the whole cluster.
	ClusterInstances int64 // instances heard from, this one included
	ClusterClients   int64 // clients connected anywhere
	ClusterFilters   int64 // distinct filters held by anyone
	ClusterSessions  int64 // persistent sessions, online or not

	// Refusals counts every refusal the MQTT core sent, by packet and
	// MQTT 5 reason code.
	Refusals map[broker.Refusal]int64
}

// counters are the live counters behind Stats.
type counters struct {
	uplinkSent, uplinkRefused, uplinkSendFailures, uplinkGaveUp      atomic.Int64
	downlinkDelivered, downlinkP2P, downlinkNotHere, downlinkRefused atomic.Int64
	offlineDropped, routed, routedNowhere, routeFailures             atomic.Int64
}

func (c *counters) snapshot(b broker.Stats) Stats {
	st := Stats{
		UplinkSent:         c.uplinkSent.Load(),
		UplinkRefused:      c.uplinkRefused.Load(),
		UplinkSendFailures: c.uplinkSendFailures.Load(),
		UplinkGaveUp:       c.uplinkGaveUp.Load(),
		DownlinkDelivered:  c.downlinkDelivered.Load(),
		DownlinkP2P:        c.downlinkP2P.Load(),
		DownlinkNotHere:    c.downlinkNotHere.Load(),
		DownlinkRefused:    c.downlinkRefused.Load(),
		Connected:          b.Connected,
		Sessions:           b.Sessions,
		PersistentSessions: b.PersistentSessions,
		Queued:             b.Queued,
		Inflight:           b.Inflight,
		Written:            b.Delivered,
		SlowConsumers:      b.SlowConsumers,
		Expired:            b.Expired,
		OfflineDropped:     b.OfflineDropped + c.offlineDropped.Load(),
		Routed:             c.routed.Load(),
		RoutedNowhere:      c.routedNowhere.Load(),
		RouteFailures:      c.routeFailures.Load(),
		Refusals:           b.Refusals,
	}
	for r, n := range b.Refusals {
		switch r.Packet {
		case "SUBACK":
			st.SubscribesRefused += n
		case "CONNACK":
			st.ConnectionsRefused += n
		}
	}
	return st
}

// metricsHandler serves the counters in Prometheus's text format.
type metricsHandler struct{ g *Gateway }

func (h metricsHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s := h.g.Stats()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	for _, m := range []struct {
		name, help string
		v          int64
	}{
		{"mqttrmq_uplink_sent_total", "Device publishes RocketMQ accepted.", s.UplinkSent},
		{"mqttrmq_uplink_refused_total", "Device publishes refused as malformed or over a limit.", s.UplinkRefused},
		{"mqttrmq_uplink_send_failures_total", "Send attempts RocketMQ did not take in time.", s.UplinkSendFailures},
		{"mqttrmq_uplink_gave_up_total", "QoS 1/2 publishes given up after the retry budget; their devices were disconnected.", s.UplinkGaveUp},
		{"mqttrmq_downlink_delivered_total", "RocketMQ messages handed to this instance's subscribers, whether any matched or not.", s.DownlinkDelivered},
		{"mqttrmq_downlink_p2p_total", "P2P messages handed to their target.", s.DownlinkP2P},
		{"mqttrmq_downlink_not_here_total", "P2P messages whose target has no session on this instance.", s.DownlinkNotHere},
		{"mqttrmq_downlink_refused_total", "RocketMQ messages the mapping refused.", s.DownlinkRefused},
		{"mqttrmq_subscribes_refused_total", "Subscriptions refused.", s.SubscribesRefused},
		{"mqttrmq_connections_refused_total", "Connections refused by authentication or the client-ID rules.", s.ConnectionsRefused},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", m.name, m.help, m.name, m.name, m.v)
	}
	fmt.Fprintf(w, "# HELP mqttrmq_clients_connected Clients connected to this instance.\n# TYPE mqttrmq_clients_connected gauge\nmqttrmq_clients_connected %d\n", s.Connected)
}
