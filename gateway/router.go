package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
)

// The router: what backends send to MQTT clients reaches the gateways
// that have a receiver for it through the router. Every instance is a
// member of one consumer group, mqttrmq-router, which reads the parent
// topics with the tag of backends' messages (MQ2MQTT; MQTT_COMMON in the
// Apache dialect), so each such message is read once, by one instance.
// That instance looks up in the directory who wants the message and writes
// routed copies listing their inboxes and session queues, which the broker
// fills. A message nobody wants is read once and goes no further.

// newRouter joins the router's consumer group.
//
// Order: a backend's messages in one queue are routed in order, one at a
// time (one callback slot, one message per callback, each copy stored
// before the next message is routed), so they reach each inbox and session
// queue in that order.
func (g *Gateway) newRouter() (rocketmq.PushConsumer, error) {
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer(g.cfg.NameServer),
		consumer.WithGroupName(g.group()),
		consumer.WithNamespace(g.cfg.Namespace), // none when empty
		consumer.WithInstance(g.clientName("router")),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromTimestamp),
		// A group new to RocketMQ starts a second before its first member
		// did; the client reads this timestamp as UTC.
		consumer.WithConsumeTimestamp(time.Now().UTC().Add(-time.Second).Format("20060102150405")),
		consumer.WithCredentials(g.cfg.Credentials),
		consumer.WithConsumeGoroutineNums(1),
		consumer.WithConsumeMessageBatchMaxSize(1),
		consumer.WithStrategy(g.rebalance.Strategy(g.allocate)), // see Close; allocate tells Ready
	)
	if err != nil {
		return nil, fmt.Errorf("gateway: router: %w", err)
	}
	selector := consumer.MessageSelector{Type: consumer.TAG, Expression: g.cfg.Dialect.DownlinkTag()}
	for _, topic := range g.cfg.ParentTopics {
		if err := c.Subscribe(topic, selector, g.route); err != nil {
			c.Shutdown()
			return nil, fmt.Errorf("gateway: router: subscribe %s: %w", topic, err)
		}
	}
	if err := c.Start(); err != nil {
		c.Shutdown()
		return nil, fmt.Errorf("gateway: router: %w", err)
	}
	return c, nil
}

// route dispatches backends' messages. It returns only once every copy is
// stored, and only its return lets the consumer commit the message; a copy
// RocketMQ did not take has the message routed again later (its
// receivers may get it twice).
func (g *Gateway) route(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	if !g.consuming.begin() {
		return consumer.ConsumeRetryLater, nil // closing: the broker may be gone
	}
	defer g.consuming.end()
	for _, m := range msgs {
		if g.cfg.apache() && m.GetProperty(mqttrmq.PropClientID) != "" {
			// A device's message (the Apache dialect tags both ways
			// alike): the gateway that sent it dispatched it.
			continue
		}
		p, _, target, ok := g.message(m)
		if !ok {
			continue // refused and counted
		}
		queues := g.node.Dispatch(p.Topic, target, p.Retain)
		if len(queues) == 0 {
			g.stats.routedNowhere.Add(1)
			continue
		}
		topic := m.Topic
		if g.cfg.Namespace != "" {
			topic = strings.TrimPrefix(topic, g.cfg.Namespace+"%")
		}
		born := time.Now()
		if m.BornTimestamp > 0 {
			born = time.UnixMilli(m.BornTimestamp)
		}
		copies := routedCopies(g.routeTopic(), topic, m.MsgId, born, m.MarshallProperties(), m.Body, queues)
		for _, cp := range copies {
			// The copies of a queue's messages go to one queue, in order.
			if _, err := g.sendSync(context.Background(), m.Queue.QueueId, cp); err != nil {
				g.stats.routeFailures.Add(1)
				g.log.Warn("routing failed; retrying later", "topic", m.Topic, "msgId", m.MsgId, "error", err)
				return consumer.ConsumeRetryLater, nil
			}
		}
		g.stats.routed.Add(1)
	}
	return consumer.ConsumeSuccess, nil
}

// consuming lets Close wait for the router's callbacks. The client's
// Shutdown does not wait for a callback in progress, which would go on
// sending through a producer that is closing.
type consuming struct {
	mu      sync.RWMutex // held for reading by every callback
	stopped bool
}

// begin reports whether a callback may deliver; if so, it must call end.
func (c *consuming) begin() bool {
	c.mu.RLock()
	if c.stopped {
		c.mu.RUnlock()
		return false
	}
	return true
}

func (c *consuming) end() { c.mu.RUnlock() }

// stop waits for the callbacks in progress and refuses any later one.
func (c *consuming) stop() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
}
