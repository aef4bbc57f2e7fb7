package gateway

// The downlink: what a RocketMQ message means to MQTT, and handing it to
// this instance's clients.

import (
	"strconv"
	"strings"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// message reads the MQTT message a RocketMQ message carries, and whom it
// is for when it is P2P; ok is false for a message the mapping refuses,
// counted. A copy the router made is read as its original.
func (g *Gateway) message(m *primitive.MessageExt) (p mqttrmq.Publish, msg *broker.Message, p2p string, ok bool) {
	topic, id, born := m.Topic, m.MsgId, time.Time{}
	var props mqttrmq.Properties = m
	body := m.Body
	if isRouted(m) {
		orig, err := openEnvelope(m.Body)
		if err != nil {
			g.stats.downlinkRefused.Add(1)
			g.log.Warn("message refused", "topic", m.Topic, "msgId", m.MsgId, "error", err)
			return p, nil, "", false
		}
		topic, id, props, body = m.GetProperty(propRoutedTopic), m.GetProperty(propRoutedID), orig, orig.Body
		if ms, err := strconv.ParseInt(m.GetProperty(propRoutedBorn), 10, 64); err == nil {
			born = time.UnixMilli(ms)
		}
	}
	if g.cfg.Namespace != "" {
		// Read from a Light Message Queue, a message has the topic it was
		// sent to, as RocketMQ knows it.
		topic = strings.TrimPrefix(topic, g.cfg.Namespace+"%")
	}
	p, err := g.cfg.Dialect.FromRocketMQ(topic, props, body)
	if err != nil {
		g.stats.downlinkRefused.Add(1)
		g.log.Warn("message refused", "topic", topic, "msgId", id, "error", err)
		return p, nil, "", false
	}
	if !born.IsZero() {
		p.Born = born // a copy's original's
	}
	msg = &broker.Message{
		Topic:      p.Topic,
		Payload:    p.Payload,
		QoS:        byte(p.QoS),
		Retain:     p.Retain,
		Origin:     p.ClientID, // the device that published it, for no-local
		ID:         id,
		Created:    bornTime(p),
		Properties: messageProperties(&p),
	}
	// A message is P2P when it is addressed so (mqttSecondTopic
	// /p2p/{id}), or when the topic it would be delivered on is someone's
	// P2P topic: either way it goes to that one client and no further.
	target, isP2P := g.cfg.Dialect.P2PTargetOf(props)
	if !isP2P {
		_, target, isP2P = mqttrmq.ParseP2PTopic(p.Topic)
	}
	if !isP2P && snoopsP2P("", p.Topic) {
		g.stats.downlinkRefused.Add(1)
		g.log.Warn("message refused", "topic", topic, "msgId", id, "error", "malformed P2P topic "+p.Topic)
		return p, nil, "", false
	}
	return p, msg, target, true
}

// deliver hands one RocketMQ message to this instance's MQTT clients;
// skip, when set, names sessions that had it already.
func (g *Gateway) deliver(m *primitive.MessageExt, skip func(string) bool) {
	_, msg, target, ok := g.message(m)
	if !ok {
		return
	}
	msg.Skip = skip
	at, local := g.recent.take(msg.ID)
	if local {
		msg.Created = at // sent from here: the exact time it was taken
	}
	if target != "" {
		if skip != nil && skip(target) {
			return
		}
		if g.broker.PublishTo(target, msg) {
			g.stats.downlinkP2P.Add(1)
		} else {
			g.stats.downlinkNotHere.Add(1) // no session here to take it
		}
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
// from the message's BornTimestamp; a routed copy carries its original's):
// for a device's, just after the gateway took its PUBLISH. A subscription
// made later does not get it, and its expiry interval counts from here.
func bornTime(p mqttrmq.Publish) time.Time {
	if !p.Born.IsZero() {
		return p.Born
	}
	return time.Now()
}
