package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/rocketmq-client-go/v2"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/broker"
	"github.com/mqttrmq/mqttrmq/internal/cluster"
	"github.com/mqttrmq/mqttrmq/internal/consumerguard"
	"github.com/mqttrmq/mqttrmq/internal/remoting"
	"github.com/mqttrmq/mqttrmq/internal/transport"
)

// Gateway is an MQTT server whose every message passes through RocketMQ.
// Create it with New, run it with Start, stop it with Close.
type Gateway struct {
	cfg     Config
	log     *slog.Logger
	parents map[string]bool
	topics  map[string]string // parent → its RocketMQ name in Config.Namespace; nil without one
	stats   counters
	filters *mqttrmq.FilterSet // the Apache dialect's fan-out; nil otherwise
	recent  recentUplinks      // when each publish sent from here was taken

	broker    *broker.Server
	net       *transport.Server
	lanes     *remoting.Producer // every send: the sender's lanes, and spare's
	answers   mqttLoops          // read RocketMQ's answers to the sender's lanes
	spare     *lanePool          // lanes for the router's, the directory's and the revocations' sends
	sender    *sender
	node      *cluster.Node                // this instance's part in the cluster
	joined    atomic.Pointer[cluster.Node] // node, for Stats, which may run while Start does
	sessions  sessions                     // the persistent sessions served here
	connAt    sync.Map                     // connection ID → when it connected, ns
	consumer  rocketmq.PushConsumer        // the router's
	revoker   rocketmq.PushConsumer        // the revocation topic's, with Config.Tokens
	rebalance consumerguard.Guard          // the client's Shutdown races its rebalances
	consuming consuming

	presence presence        // presence events (presence.go)
	tokens   *tokenAuthority // nil without Config.Tokens (tokens.go)
	access   accessCounters  // permissions and tokens (access.go)

	state     atomic.Int32 // created, started, closed
	up        atomic.Bool  // Start finished
	closeOnce sync.Once
	closeErr  error

	metrics  *metrics    // the Prometheus registry and histograms
	ready    readiness   // what Ready judges from
	draining atomic.Bool // Drain began
}

const (
	stateCreated int32 = iota
	stateStarted
	stateClosed
)

// ErrClosed is returned by Start on a gateway that was closed.
var ErrClosed = errors.New("gateway: closed")

// New checks cfg and builds a gateway; nothing listens or connects until
// Start. It refuses, with an error wrapping ErrConfig, a configuration
// missing NameServer or ParentTopics, or holding a name server that is not
// an IP address and port, an invalid parent topic, instance ID, uplink
// tag, limit or timeout, or a TLS listener without certificates.
func New(cfg Config) (*Gateway, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, log: rateLimited(cfg.Logger, cfg.LogRate).With("gateway", cfg.InstanceID), parents: map[string]bool{}, sessions: sessions{served: map[string]*served{}, queues: map[string]*served{}, kept: map[string]bool{}}}
	g.metrics = newMetrics(g)
	if cfg.apache() && cfg.Dialect.Filters() == nil {
		// The Apache dialect fans uplink messages out to the queues of the
		// filters this instance's clients hold; a dialect given with its
		// own FilterSet is left to whoever feeds that set.
		g.filters = new(mqttrmq.FilterSet)
		g.cfg.Dialect = cfg.Dialect.WithFilters(g.filters)
	}
	for _, t := range cfg.ParentTopics {
		g.parents[t] = true
		if cfg.Namespace != "" {
			if g.topics == nil {
				g.topics = map[string]string{}
			}
			g.topics[t], _ = mqttrmq.NamespaceTopic(cfg.Namespace, t) // checked by withDefaults
		}
	}
	g.presence.init(cfg, time.Now())
	if cfg.Tokens != nil {
		g.tokens = newTokenAuthority(*cfg.Tokens, cfg.Namespace)
	}
	opts := cfg.brokerOptions(g.log)
	opts.Observer = g.metrics
	g.broker = broker.New(opts, (*hooks)(g))
	return g, nil
}

// clientName names one of this instance's RocketMQ clients. The client
// library shares one connection per name and broker in a process; the
// producer and the consumer get a name each, so that a send that times
// out never holds up the consumer's long polls on the same connection.
func (g *Gateway) clientName(role string) string { return "mqttrmq-" + g.cfg.InstanceID + "-" + role }

// ConsumerGroup returns the name of the router's RocketMQ consumer group,
// {Cluster}-router, as RocketMQ knows it ({Namespace}%{Cluster}-router in
// Config.Namespace). Every instance of the cluster is a member: each
// message a backend sends to MQTT clients reaches one of them, which
// dispatches it to the instances and sessions that want it.
func (g *Gateway) ConsumerGroup() string { return g.cfg.names().Group("router") }

// group is the router's consumer group's name without the namespace,
// which the RocketMQ client adds.
func (g *Gateway) group() string { return g.cfg.Cluster + "-router" }

// routeTopic is the route topic as RocketMQ knows it.
func (g *Gateway) routeTopic() string { return g.cfg.names().Topic("route") }

// rocketmqTopic is a parent topic's name as RocketMQ knows it, in
// Config.Namespace.
func (g *Gateway) rocketmqTopic(t string) string {
	if rt, ok := g.topics[t]; ok {
		return rt
	}
	return t
}

// fanOutTo keeps the Apache dialect's filter set in step with the filters
// the cluster's sessions hold: a device's message is dispatched to the
// Light Message Queue of every filter it matches, as RocketMQ-MQTT does.
func (g *Gateway) fanOutTo(filter string, added bool) {
	if !added {
		g.filters.Remove(filter)
	} else if err := g.filters.Add(filter); err != nil {
		g.log.Warn("filter not fanned out to", "filter", filter, "error", err)
	}
}

// producerGroup is shared by every instance.
const producerGroup = "mqttrmq-gateway"

// Start connects to RocketMQ, reads the directory of the instances sharing
// it, starts listening, and joins the router. It returns once everything runs.
// ctx is checked between these steps (the RocketMQ client takes no
// context; its own timeouts bound each step), and a cancelled start-up
// closes the gateway. A gateway starts once: Start returns ErrClosed after
// Close, and an error on a second call.
func (g *Gateway) Start(ctx context.Context) error {
	if !g.state.CompareAndSwap(stateCreated, stateStarted) {
		if g.state.Load() == stateClosed {
			return ErrClosed
		}
		return errors.New("gateway: already started")
	}
	if err := g.start(ctx); err != nil {
		return errors.Join(err, g.Close())
	}
	g.up.Store(true)
	g.log.Info("gateway started", "listen", g.Listeners(), "parents", g.cfg.ParentTopics, "nameserver", g.cfg.NameServer)
	return nil
}

func (g *Gateway) start(ctx context.Context) error {
	// The uplink writes each message's namespaced topic itself
	// (g.topics); the producer knows no namespace.
	g.lanes = remoting.NewProducer(remoting.ProducerConfig{
		NameServers: g.cfg.NameServer,
		Group:       producerGroup,
		Credentials: g.cfg.Credentials,
		Retries:     2,
		Timeout:     g.cfg.SendTimeout,
		Loops:       &g.answers,
	})
	g.spare = &lanePool{p: g.lanes}
	g.sender = newSender(g.lanes, g.cfg.SendTimeout, g.cfg.SendLinger).start()
	if err := ctx.Err(); err != nil {
		return err
	}

	topics := []string{g.routeTopic()}
	for _, t := range g.cfg.ParentTopics {
		topics = append(topics, g.rocketmqTopic(t))
	}
	var filterChanged func(string, bool)
	if g.filters != nil {
		filterChanged = g.fanOutTo
	}
	node, err := cluster.Start(ctx, cluster.Config{
		Instance:      g.cfg.InstanceID,
		NameServer:    g.cfg.NameServer[0],
		Credentials:   g.cfg.Credentials,
		Names:         g.cfg.names(),
		SnapshotEvery: g.cfg.SnapshotInterval,
		Topics:        topics,
		Send:          g.sendDirectory,
		Takeover:      g.takeover,
		Inbox:         g.inbox,
		FilterChanged: filterChanged,
		Logger:        g.log,
	})
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	g.node = node
	g.joined.Store(node)

	ts, err := transport.Listen(g.cfg.transportConfig(g.log), g.broker)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	g.net = ts
	g.answers.net.Store(ts)
	if err := ctx.Err(); err != nil {
		return err
	}

	c, err := g.newRouter()
	if err != nil {
		return err
	}
	g.consumer = c
	if err := g.startTokens(ctx); err != nil {
		return err
	}
	return ctx.Err()
}

// Addr returns the MQTT-over-TCP listener's address, "ip:port".
func (g *Gateway) Addr() string { return g.listener(transport.TCP) }

// Listeners returns the address of every listener, by transport: "tcp",
// "tls", "ws" and "wss".
func (g *Gateway) Listeners() map[string]string {
	out := map[string]string{}
	for _, k := range []transport.Kind{transport.TCP, transport.TLS, transport.WebSocket, transport.SecureWebSocket} {
		if a := g.listener(k); a != "" {
			out[k.String()] = a
		}
	}
	return out
}

func (g *Gateway) listener(k transport.Kind) string {
	if g.net == nil {
		return ""
	}
	return g.net.Addr(k)
}

// Stats returns a snapshot of the gateway's counters.
func (g *Gateway) Stats() Stats {
	st := g.stats.snapshot(g.broker.Stats())
	if g.up.Load() { // and so g.sender is set, for good
		st.UplinkLingers, st.UplinkLingered = g.sender.lingers.Load(), g.sender.lingered.Load()
	}
	if node := g.joined.Load(); node != nil {
		d := node.Directory()
		st.ClusterInstances, st.ClusterClients, st.ClusterFilters, st.ClusterSessions = int64(d.Instances), int64(d.Clients), int64(d.Filters), int64(d.Sessions)
	}
	return st
}

// Close stops routing, disconnects every client, commits what persistent
// sessions acknowledged, and closes the RocketMQ clients, in that order.
// Persistent sessions' messages stay in their queues in RocketMQ for
// whichever instance their clients reconnect to. It is safe to call more
// than once.
func (g *Gateway) Close() error {
	g.closeOnce.Do(func() {
		g.state.Store(stateClosed)
		var errs []error
		var consumers []rocketmq.PushConsumer
		for _, c := range []rocketmq.PushConsumer{g.consumer, g.revoker} {
			if c != nil {
				consumers = append(consumers, c)
			}
		}
		if len(consumers) > 0 {
			errs = append(errs, g.rebalance.Shutdown(consumers...))
		}
		g.consuming.stop()
		g.broker.Close()
		if g.net != nil {
			g.net.Close()
		}
		g.stopTokens()
		if g.node != nil {
			g.node.Close()
		}
		if g.sender != nil {
			g.sender.close()
			g.spare.close()
			g.lanes.Close()
		}
		g.closeErr = errors.Join(errs...)
		g.log.Info("gateway stopped", "stats", g.Stats())
	})
	return g.closeErr
}

// mqttLoops attach the sender's connections to RocketMQ to the raw MQTT
// transport's event loops once it listens: RocketMQ's answers are then
// read, and the clients' acknowledgements written, on the loops that
// read the clients' publishes (see sender). Until then, or without a TCP
// listener, the lanes send from their goroutines.
type mqttLoops struct {
	net atomic.Pointer[transport.Server]
}

func (m *mqttLoops) Attach(nc net.Conn, s remoting.Session) (io.WriteCloser, error) {
	ts := m.net.Load()
	if ts == nil {
		nc.Close()
		return nil, transport.ErrNotAttached
	}
	return ts.Attach(nc, s)
}
