package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/producer"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
	"go.etcd.io/bbolt"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/consumerguard"
)

// Gateway is an MQTT broker whose every message passes through RocketMQ.
// Create it with New, run it with Start, stop it with Close.
type Gateway struct {
	cfg     Config
	log     *slog.Logger
	parents map[string]bool
	topics  map[string]string // parent → its RocketMQ name in Config.Namespace; nil without one
	stats   counters

	broker    *mqtt.Server
	inline    *mqtt.Client // the broker's own client: it publishes what comes from RocketMQ
	ln        *listener
	producer  rocketmq.Producer
	sender    *sender
	consumer  rocketmq.PushConsumer
	rebalance consumerguard.Guard // the client's Shutdown races its rebalances
	consuming consuming
	handover  handover
	store     *sessionStore  // nil without Config.SessionStore
	subs      *subscriptions // nil but for the Apache dialect

	state     atomic.Int32 // created, started, closed
	closeOnce sync.Once
	closeErr  error
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
// tag, limit or timeout.
func New(cfg Config) (*Gateway, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, log: cfg.Logger.With("gateway", cfg.InstanceID), parents: map[string]bool{}}
	if cfg.apache() && cfg.Dialect.Filters() == nil {
		// The Apache dialect fans uplink messages out to the queues of the
		// filters this instance's clients hold; a dialect given with its
		// own FilterSet is left to whoever feeds that set.
		fs := new(mqttrmq.FilterSet)
		g.cfg.Dialect = cfg.Dialect.WithFilters(fs)
		g.subs = newSubscriptions(fs)
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

	g.broker = mqtt.New(&mqtt.Options{
		InlineClient: true, // downlink messages are published through it
		Logger:       g.log,
	})
	g.inline, _ = g.broker.Clients.Get(mqtt.InlineClientId)
	if err := g.broker.AddHook(&hook{g: g}, nil); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if cfg.SessionStore != "" {
		store := newSessionStore()
		err := g.broker.AddHook(store, &bolt.Options{Path: cfg.SessionStore, Options: &bbolt.Options{Timeout: cfg.ConnectTimeout}})
		if err != nil {
			return nil, fmt.Errorf("gateway: session store %s: %w", cfg.SessionStore, err)
		}
		g.store = &store
	}
	g.ln = newListener("mqtt", cfg.Listen, cfg.ConnectTimeout, cfg.WriteTimeout)
	if err := g.broker.AddListener(g.ln); err != nil {
		g.broker.Close()
		return nil, fmt.Errorf("gateway: listen on %s: %w", cfg.Listen, err)
	}
	return g, nil
}

// clientName names one of this instance's RocketMQ clients. The client
// library shares one connection per name and broker in a process; the
// producer and the consumer get a name each, so that a send that times
// out never holds up the consumer's long polls on the same connection.
func (g *Gateway) clientName(role string) string { return "mqttrmq-" + g.cfg.InstanceID + "-" + role }

// ConsumerGroup returns the name of this instance's own RocketMQ consumer
// group, "mqttrmq-gateway-" + InstanceID, as RocketMQ knows it: in
// Config.Namespace, {Namespace}%mqttrmq-gateway-{InstanceID}. Every instance
// gets every message, and its offsets survive a restart. An operator
// removes it from RocketMQ when the instance is retired.
func (g *Gateway) ConsumerGroup() string {
	if g.cfg.Namespace != "" {
		return g.cfg.Namespace + "%" + g.group()
	}
	return g.group()
}

// group is the consumer group's name without the namespace, which the
// RocketMQ client adds.
func (g *Gateway) group() string { return "mqttrmq-gateway-" + g.cfg.InstanceID }

// producerGroup is shared by every instance.
const producerGroup = "mqttrmq-gateway"

// Start connects to RocketMQ, starts the broker and begins consuming the
// parent topics. It returns once everything runs. ctx is checked between
// these steps (the RocketMQ client takes no context; its own timeouts
// bound each step), and a cancelled start-up closes the gateway. A gateway
// starts once: Start returns ErrClosed after Close, and an error on a
// second call.
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
	g.log.Info("gateway started", "listen", g.Addr(), "parents", g.cfg.ParentTopics, "nameserver", g.cfg.NameServer)
	return nil
}

func (g *Gateway) start(ctx context.Context) error {
	// The producer is given no namespace: rocketmq-client-go prefixes
	// msg.Topic with it on every send, without looking whether it did
	// already, and a publish RocketMQ did not take is sent again. The
	// uplink writes each message's namespaced topic itself (g.topics).
	p, err := rocketmq.NewProducer(
		producer.WithNameServer(g.cfg.NameServer),
		producer.WithGroupName(producerGroup),
		producer.WithInstanceName(g.clientName("producer")),
		producer.WithQueueSelector(laneSelector{}), // one client's messages keep their order in one queue
		producer.WithSendMsgTimeout(g.cfg.SendTimeout),
		producer.WithRetry(2),
		producer.WithCredentials(g.cfg.Credentials),
	)
	if err != nil {
		return fmt.Errorf("gateway: producer: %w", err)
	}
	if err := p.Start(); err != nil {
		return fmt.Errorf("gateway: producer: %w", err)
	}
	g.producer = p
	g.sender = newSender(p, g.cfg.SendTimeout).start()
	if err := ctx.Err(); err != nil {
		return err
	}

	if err := g.broker.Serve(); err != nil {
		return fmt.Errorf("gateway: broker: %w", err)
	}
	if g.subs != nil {
		if err := g.subs.restored(g.broker.Clients.GetAll()); err != nil {
			g.log.Warn("restored filter not fanned out to", "error", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	c, err := g.newConsumer()
	if err != nil {
		return err
	}
	g.consumer = c
	return ctx.Err()
}

// Addr returns the MQTT listener's address, "ip:port".
func (g *Gateway) Addr() string { return g.ln.Address() }

// Stats returns a snapshot of the gateway's counters.
func (g *Gateway) Stats() Stats { return g.stats.snapshot() }

// MetricsHandler serves Stats in Prometheus's text format.
func (g *Gateway) MetricsHandler() http.Handler { return metricsHandler{g} }

func (g *Gateway) connected() int64 { return atomic.LoadInt64(&g.broker.Info.ClientsConnected) }

// Close stops consuming, disconnects every client, and closes the RocketMQ
// clients, in that order, so that no message is taken from RocketMQ without
// being handed to a client. It waits for a delivery in progress, which a
// client that stopped reading can hold up for Config.WriteTimeout. It is
// safe to call more than once.
func (g *Gateway) Close() error {
	g.closeOnce.Do(func() {
		g.state.Store(stateClosed)
		var errs []error
		if g.consumer != nil {
			errs = append(errs, g.rebalance.Shutdown(g.consumer))
		}
		g.consuming.stop()
		errs = append(errs, g.broker.Close())
		if g.sender != nil {
			g.sender.close()
		}
		if g.producer != nil {
			errs = append(errs, g.producer.Shutdown())
		}
		g.closeErr = errors.Join(errs...)
		g.log.Info("gateway stopped", "stats", g.Stats())
	})
	return g.closeErr
}
