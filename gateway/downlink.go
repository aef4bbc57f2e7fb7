package gateway

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// newConsumer subscribes this instance's own consumer group to every
// parent topic, for both what backends send to MQTT clients (tag
// MQ2MQTT) and what devices published (the uplink tag).
//
// One group per instance means every instance receives every message
// (RocketMQ hands each message to each group once) and delivers it to its
// own clients, so subscribers on any instance get a message exactly once in
// steady state. The group's offsets live in RocketMQ, so a restarted
// instance with the same InstanceID resumes where it stopped; a new group
// starts at its first start-up time, not at the start of history.
//
// Order: the uplink puts each device's messages in one queue, and the
// consumer runs one callback at a time per parent topic. The client takes
// each queue's pull results in order and, with one callback slot, cannot
// start a queue's next batch before the last one returned, so a device's
// messages reach subscribers in the order it sent them. (The client's
// orderly mode would say the same, but it races on its own message cache.)
func (g *Gateway) newConsumer() (rocketmq.PushConsumer, error) {
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer(g.cfg.NameServer),
		consumer.WithGroupName(g.group()),
		consumer.WithNamespace(g.cfg.Namespace), // none when empty
		consumer.WithInstance(g.clientName("consumer")),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromTimestamp),
		// The client reads this timestamp as UTC.
		consumer.WithConsumeTimestamp(time.Now().UTC().Add(-time.Second).Format("20060102150405")),
		consumer.WithCredentials(g.cfg.Credentials),
		consumer.WithConsumeGoroutineNums(1),
		consumer.WithConsumeMessageBatchMaxSize(32),
		consumer.WithStrategy(g.rebalance.Strategy(g.allocate)), // see Close; allocate tells Ready
	)
	if err != nil {
		return nil, fmt.Errorf("gateway: consumer: %w", err)
	}
	selector := consumer.MessageSelector{Type: consumer.TAG, Expression: g.downlinkTags()}
	for _, topic := range g.cfg.ParentTopics {
		if err := c.Subscribe(topic, selector, g.consume); err != nil {
			c.Shutdown()
			return nil, fmt.Errorf("gateway: subscribe %s: %w", topic, err)
		}
	}
	if err := g.subscribeRevocations(c); err != nil {
		c.Shutdown()
		return nil, err
	}
	if err := c.Start(); err != nil {
		c.Shutdown()
		return nil, fmt.Errorf("gateway: consumer: %w", err)
	}
	return c, nil
}

// consume hands every message to MQTT before it returns, and only its
// return lets the consumer commit the messages' offsets.
func (g *Gateway) consume(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	if !g.consuming.begin() {
		return consumer.ConsumeRetryLater, nil // closing: the broker may be gone
	}
	defer g.consuming.end()
	for _, m := range msgs {
		g.deliver(m)
	}
	return consumer.ConsumeSuccess, nil
}

// consuming lets Close wait for the consumer's callbacks. The client's
// Shutdown does not wait for a callback in progress, which would go on
// delivering into a broker that is closing, and writing to its session
// store as the store is closed.
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

// deliver hands one RocketMQ message to this instance's MQTT clients.
func (g *Gateway) deliver(m *primitive.MessageExt) {
	p, err := g.cfg.Dialect.FromRocketMQ(m.Topic, m, m.Body)
	if err != nil {
		g.stats.downlinkRefused.Add(1)
		g.log.Warn("message refused", "topic", m.Topic, "msgId", m.MsgId, "error", err)
		return
	}
	msg := &broker.Message{
		Topic:      p.Topic,
		Payload:    p.Payload,
		QoS:        byte(p.QoS),
		Retain:     p.Retain,
		Origin:     p.ClientID, // the device that published it, for no-local
		ID:         m.MsgId,
		Created:    bornTime(p),
		Properties: messageProperties(&p),
	}
	at, local := g.recent.take(m.MsgId)
	if local {
		msg.Created = at // sent from here: the exact time it was taken
	}
	// A message is P2P when it is addressed so (mqttSecondTopic
	// /p2p/{id}), or when the topic it would be delivered on is someone's
	// P2P topic: either way it goes to that one client and no further.
	target, ok := g.cfg.Dialect.P2PTargetOf(m)
	if !ok {
		_, target, ok = mqttrmq.ParseP2PTopic(p.Topic)
	}
	if ok {
		if g.broker.PublishTo(target, msg) {
			g.stats.downlinkP2P.Add(1)
		} else {
			g.stats.downlinkNotHere.Add(1) // no session here to take it
		}
		return
	}
	if snoopsP2P("", p.Topic) {
		g.stats.downlinkRefused.Add(1)
		g.log.Warn("message refused", "topic", m.Topic, "msgId", m.MsgId, "error", "malformed P2P topic "+p.Topic)
		return
	}
	if local {
		// Retained here once RocketMQ took it (see uplink): retained
		// again now, it could replace a later retained message that
		// this instance took meanwhile [MQTT-3.3.1-5].
		g.broker.Deliver(msg)
	} else {
		g.broker.Publish(msg)
	}
	g.stats.downlinkDelivered.Add(1)
}

// bornTime is when a message was sent to RocketMQ (the mapping reads it
// from the message's BornTimestamp): for a device's, just after the
// gateway took its PUBLISH. A subscription made later does not get it, and
// its expiry interval counts from here.
func bornTime(p mqttrmq.Publish) time.Time {
	if !p.Born.IsZero() {
		return p.Born
	}
	return time.Now()
}

// downlinkTags is the consumer's tag expression: what backends send to MQTT
// clients and what devices published, which may be one tag.
func (g *Gateway) downlinkTags() string {
	down := g.cfg.Dialect.DownlinkTag()
	if g.cfg.apache() {
		return down // the Apache dialect tags both directions MQTT_COMMON
	}
	return down + " || " + g.cfg.UplinkTag
}
