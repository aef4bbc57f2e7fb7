package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mqttrmq/mqttrmq/internal/broker"
	"github.com/mqttrmq/mqttrmq/internal/transport"
)

// Stats is a snapshot of the gateway's counters since it was created.
type Stats struct {
	UplinkSent         int64 // device publishes RocketMQ accepted
	UplinkRefused      int64 // device publishes refused: unknown parent topic, malformed topic, payload too large, bad P2P topic
	UplinkSendFailures int64 // send attempts RocketMQ did not take in time (every retry counts)
	UplinkGaveUp       int64 // QoS 1/2 publishes still not taken when the retry budget ran out: their devices were disconnected unacknowledged
	UplinkPending      int64 // device publishes on their way to RocketMQ now (queued, being sent, or waiting to be retried)
	UplinkLingers      int64 // lingers (Config.SendLinger) ended, each having sent one publish or more to RocketMQ
	UplinkLingered     int64 // device publishes those lingers sent: over UplinkLingers, what a linger gathers
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
	uplinkPending                                                    atomic.Int64
	downlinkDelivered, downlinkP2P, downlinkNotHere, downlinkRefused atomic.Int64
	offlineDropped, routed, routedNowhere, routeFailures             atomic.Int64
}

func (c *counters) snapshot(b broker.Stats) Stats {
	st := Stats{
		UplinkSent:         c.uplinkSent.Load(),
		UplinkRefused:      c.uplinkRefused.Load(),
		UplinkSendFailures: c.uplinkSendFailures.Load(),
		UplinkGaveUp:       c.uplinkGaveUp.Load(),
		UplinkPending:      c.uplinkPending.Load(),
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

// metrics are the gateway's Prometheus metrics, in a registry of its own:
// the counters and gauges of Stats, read when scraped (statsCollector),
// the latency histograms, observed as things happen, and the Go runtime's
// and the process's own collectors.
//
// No label holds a client ID, a topic or anything else a device chooses:
// labels are reason codes, packet types, QoS levels and transports, so
// the number of series is bounded whatever the devices do.
type metrics struct {
	reg *prometheus.Registry

	uplinkAck [3]prometheus.Observer // by QoS; 0 unused
	uplinkVec *prometheus.HistogramVec
	downlink  prometheus.Histogram
	connect   *prometheus.HistogramVec
	connectBy [4]prometheus.Observer // by transport.Kind
}

// Latency buckets, in seconds.
var (
	// A RocketMQ send takes milliseconds; retries take up to
	// Config.SendRetryFor.
	sendBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	// A message from a backend crosses RocketMQ's long poll and, for a
	// client that is behind, waits in its queue.
	downlinkBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	// A CONNECT is decided on the event loop, authentication included.
	connectBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}
)

func newMetrics(g *Gateway) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.uplinkVec = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "mqttrmq_uplink_ack_seconds",
		Help:    "Time from a QoS 1 or 2 PUBLISH read from a device to its acknowledgement, once RocketMQ took the message (retries included).",
		Buckets: sendBuckets,
	}, []string{"qos"})
	m.uplinkAck[1] = m.uplinkVec.WithLabelValues("1")
	m.uplinkAck[2] = m.uplinkVec.WithLabelValues("2")
	m.downlink = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "mqttrmq_downlink_latency_seconds",
		Help:    "Time from a message's RocketMQ born time (for a device's message published here, the moment its PUBLISH was read) to its PUBLISH written to a client.",
		Buckets: downlinkBuckets,
	})
	m.connect = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "mqttrmq_connect_seconds",
		Help:    "Time from a CONNECT read to its CONNACK queued for the client, accepted or refused, by transport.",
		Buckets: connectBuckets,
	}, []string{"transport"})
	for k := range m.connectBy {
		m.connectBy[k] = m.connect.WithLabelValues(transport.Kind(k).String())
	}
	m.reg.MustRegister(
		gatewayCollector{g, m},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// ConnectHandled and Written are the MQTT core's measurements
// (broker.Observer).
func (m *metrics) ConnectHandled(kind transport.Kind, _ broker.ReasonCode, took time.Duration) {
	if int(kind) < len(m.connectBy) {
		m.connectBy[kind].Observe(took.Seconds())
	}
}

func (m *metrics) Written(msg *broker.Message, at time.Time) {
	// A backend's clock may run ahead of this one: a negative latency
	// counts as none.
	m.downlink.Observe(max(at.Sub(msg.Created), 0).Seconds())
}

// uplinkAcked observes a QoS 1 or 2 publish acknowledged after RocketMQ took it.
func (m *metrics) uplinkAcked(qos byte, read time.Time) {
	if qos == 1 || qos == 2 {
		m.uplinkAck[qos].Observe(time.Since(read).Seconds())
	}
}

// MetricsHandler serves the gateway's metrics in Prometheus's exposition
// formats: the counters and gauges of Stats, refusals by packet and reason
// code, the latency histograms, and the Go runtime's and the process's
// collectors. It is backed by a registry of the gateway's own; nothing is
// registered globally. The README lists the series.
func (g *Gateway) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(g.metrics.reg, promhttp.HandlerOpts{})
}

// Collector returns the gateway's own metrics (those of MetricsHandler
// without the Go runtime's and the process's), for a program that serves
// them from a registry of its own.
func (g *Gateway) Collector() prometheus.Collector { return gatewayCollector{g, g.metrics} }

// gatewayCollector is every metric of the gateway: Stats, read when
// scraped, so that nothing is counted twice, and the histograms.
type gatewayCollector struct {
	g *Gateway
	m *metrics
}

// stat is one series read from Stats.
type stat struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*Stats, *broker.Stats) int64
}

func counter(name, help string, v func(*Stats, *broker.Stats) int64) stat {
	return stat{prometheus.NewDesc(name, help, nil, nil), prometheus.CounterValue, v}
}

func gauge(name, help string, v func(*Stats, *broker.Stats) int64) stat {
	return stat{prometheus.NewDesc(name, help, nil, nil), prometheus.GaugeValue, v}
}

var stats = []stat{
	counter("mqttrmq_uplink_sent_total", "Device publishes RocketMQ accepted.", func(s *Stats, _ *broker.Stats) int64 { return s.UplinkSent }),
	counter("mqttrmq_uplink_refused_total", "Device publishes refused as malformed or over a limit.", func(s *Stats, _ *broker.Stats) int64 { return s.UplinkRefused }),
	counter("mqttrmq_uplink_send_failures_total", "Send attempts RocketMQ did not take in time.", func(s *Stats, _ *broker.Stats) int64 { return s.UplinkSendFailures }),
	counter("mqttrmq_uplink_gave_up_total", "QoS 1/2 publishes given up after the retry budget; their devices were disconnected.", func(s *Stats, _ *broker.Stats) int64 { return s.UplinkGaveUp }),
	counter("mqttrmq_downlink_delivered_total", "RocketMQ messages handed to this instance's subscribers, whether any matched or not.", func(s *Stats, _ *broker.Stats) int64 { return s.DownlinkDelivered }),
	counter("mqttrmq_downlink_p2p_total", "P2P messages handed to their target.", func(s *Stats, _ *broker.Stats) int64 { return s.DownlinkP2P }),
	counter("mqttrmq_downlink_not_here_total", "P2P messages whose target has no session on this instance.", func(s *Stats, _ *broker.Stats) int64 { return s.DownlinkNotHere }),
	counter("mqttrmq_downlink_refused_total", "RocketMQ messages the mapping refused.", func(s *Stats, _ *broker.Stats) int64 { return s.DownlinkRefused }),
	counter("mqttrmq_subscribes_refused_total", "Subscriptions refused.", func(s *Stats, _ *broker.Stats) int64 { return s.SubscribesRefused }),
	counter("mqttrmq_connections_refused_total", "CONNECTs refused by authentication, the client-ID rules or the protocol.", func(s *Stats, _ *broker.Stats) int64 { return s.ConnectionsRefused }),
	counter("mqttrmq_connects_total", "CONNECTs accepted.", func(_ *Stats, b *broker.Stats) int64 { return b.Connects }),
	counter("mqttrmq_takeovers_total", "Connections closed because their client ID connected again.", func(_ *Stats, b *broker.Stats) int64 { return b.Takeovers }),
	counter("mqttrmq_keepalive_timeouts_total", "Connections closed for silence past 1.5 times their keep-alive.", func(_ *Stats, b *broker.Stats) int64 { return b.KeepAliveTimeout }),
	counter("mqttrmq_slow_consumers_total", "Clients disconnected for falling behind (outbound queue or write buffer full).", func(s *Stats, _ *broker.Stats) int64 { return s.SlowConsumers }),
	counter("mqttrmq_publishes_received_total", "PUBLISH packets read from clients and handed on.", func(_ *Stats, b *broker.Stats) int64 { return b.PublishesIn }),
	counter("mqttrmq_publishes_written_total", "PUBLISH packets written to clients.", func(s *Stats, _ *broker.Stats) int64 { return s.Written }),
	counter("mqttrmq_messages_expired_total", "Messages not delivered because their expiry interval passed.", func(s *Stats, _ *broker.Stats) int64 { return s.Expired }),
	counter("mqttrmq_messages_too_large_total", "Messages not delivered because they exceed the client's maximum packet size.", func(_ *Stats, b *broker.Stats) int64 { return b.TooLarge }),
	counter("mqttrmq_offline_dropped_total", "Oldest messages dropped from offline sessions' full queues.", func(s *Stats, _ *broker.Stats) int64 { return s.OfflineDropped }),
	counter("mqttrmq_retained_dropped_total", "Retained messages not kept: over the limit.", func(_ *Stats, b *broker.Stats) int64 { return b.RetainedDropped }),
	gauge("mqttrmq_clients_connected", "Clients connected to this instance.", func(s *Stats, _ *broker.Stats) int64 { return s.Connected }),
	gauge("mqttrmq_sessions", "Sessions on this instance, connected or not.", func(s *Stats, _ *broker.Stats) int64 { return s.Sessions }),
	gauge("mqttrmq_sessions_persistent", "Sessions that outlive their connection.", func(s *Stats, _ *broker.Stats) int64 { return s.PersistentSessions }),
	gauge("mqttrmq_outbound_queued_messages", "QoS 1/2 messages waiting for their clients beyond the in-flight window.", func(s *Stats, _ *broker.Stats) int64 { return s.Queued }),
	gauge("mqttrmq_outbound_inflight_messages", "QoS 1/2 messages written to clients and not yet acknowledged.", func(s *Stats, _ *broker.Stats) int64 { return s.Inflight }),
	counter("mqttrmq_uplink_lingers_total", "Lingers that sent device publishes to RocketMQ together.", func(s *Stats, _ *broker.Stats) int64 { return s.UplinkLingers }),
	counter("mqttrmq_uplink_lingered_total", "Device publishes lingers sent; over mqttrmq_uplink_lingers_total, what a linger gathers.", func(s *Stats, _ *broker.Stats) int64 { return s.UplinkLingered }),
	gauge("mqttrmq_uplink_pending", "Device publishes on their way to RocketMQ (queued, being sent, or waiting to be retried).", func(s *Stats, _ *broker.Stats) int64 { return s.UplinkPending }),
}

var (
	refusalsDesc = prometheus.NewDesc("mqttrmq_refusals_total",
		"Refusals the MQTT core sent, by the packet that carried them (CONNACK, SUBACK, PUBACK for PUBACK and PUBREC, UNSUBACK, DISCONNECT) and MQTT 5 reason code; an MQTT 3.1.1 client got the nearest 3.1.1 code, or a closed connection.",
		[]string{"packet", "code", "reason"}, nil)
	readyDesc = prometheus.NewDesc("mqttrmq_ready",
		"1 while the gateway is ready for new connections (see /readyz), 0 otherwise.", nil, nil)
)

func (c gatewayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, s := range stats {
		ch <- s.desc
	}
	ch <- refusalsDesc
	ch <- readyDesc
	c.m.uplinkVec.Describe(ch)
	c.m.downlink.Describe(ch)
	c.m.connect.Describe(ch)
}

func (c gatewayCollector) Collect(ch chan<- prometheus.Metric) {
	b := c.g.broker.Stats()
	st := c.g.stats.snapshot(b)
	for _, s := range stats {
		ch <- prometheus.MustNewConstMetric(s.desc, s.kind, float64(s.value(&st, &b)))
	}
	for r, n := range st.Refusals {
		name, _, _ := strings.Cut(r.Code.String(), " (0x")
		ch <- prometheus.MustNewConstMetric(refusalsDesc, prometheus.CounterValue, float64(n),
			r.Packet, fmt.Sprintf("0x%02X", byte(r.Code)), name)
	}
	ready := 0.0
	if c.g.Ready() == nil {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, ready)
	c.m.uplinkVec.Collect(ch)
	c.m.downlink.Collect(ch)
	c.m.connect.Collect(ch)
}
