package gateway

import (
	"errors"
	"fmt"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqttrmq/mqttrmq"
)

// uplink sends one device publish to RocketMQ.
//
// What the broker does next is steered by the error returned:
//   - CodeSuccessIgnore: acknowledge to the device (PUBACK or PUBREC) but
//     deliver nothing locally. Local subscribers get the message back from
//     RocketMQ like every other instance's subscribers, so each gets it
//     exactly once whichever instance the publisher is on.
//   - ErrRejectPacket: send no acknowledgement at all. For a QoS 1 or 2
//     publish RocketMQ did not take within the retry budget, the connection
//     is closed too, so that the device resends it when it reconnects:
//     never acknowledge and drop.
//   - a reason code: an MQTT 5 client's QoS 1 publish refused as malformed
//     gets a PUBACK that says why.
func (g *Gateway) uplink(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	p := mqttrmq.Publish{
		Topic:             pk.TopicName,
		QoS:               mqttrmq.QoS(pk.FixedHeader.Qos),
		Retain:            pk.FixedHeader.Retain,
		ClientID:          cl.ID, // from the connection: a device cannot forge it
		PersistentSession: !cl.Properties.Clean,
		Payload:           pk.Payload,
		UserProperties:    userPropertiesOf(pk.Properties.User),
	}
	msg, code, err := g.uplinkMessage(p)
	if err != nil {
		g.stats.uplinkRefused.Add(1)
		g.log.Info("publish refused", "client", cl.ID, "topic", pk.TopicName, "qos", p.QoS, "error", err)
		return pk, refusal(cl, pk, code)
	}

	if p.QoS == mqttrmq.AtMostOnce {
		// At most once: the device waits for nothing, so neither does its read loop.
		report := func(err error) { g.countSend(cl.ID, err) }
		if err := g.sender.sendAndForget(cl.ID, msg, report); err != nil {
			report(err)
		}
		return pk, packets.CodeSuccessIgnore
	}

	if !g.sendWithRetry(cl, msg) {
		g.stats.uplinkGaveUp.Add(1)
		cl.Stop(fmt.Errorf("gateway: RocketMQ did not take a QoS %d publish: the device resends it on reconnect", p.QoS))
		return pk, packets.ErrRejectPacket
	}
	return pk, packets.CodeSuccessIgnore
}

// will sends a client's will message to RocketMQ, as the client would
// have published it, with the same refusals. Nobody waits for it, so it is
// sent once, within the send timeout.
func (g *Gateway) will(cl *mqtt.Client, w mqtt.Will) {
	p := mqttrmq.Publish{
		Topic:             w.TopicName,
		QoS:               mqttrmq.QoS(w.Qos),
		Retain:            w.Retain,
		ClientID:          cl.ID,
		PersistentSession: !cl.Properties.Clean,
		Payload:           w.Payload,
		UserProperties:    userPropertiesOf(w.User),
	}
	msg, _, err := g.uplinkMessage(p)
	if err != nil {
		g.stats.uplinkRefused.Add(1)
		g.log.Info("will refused", "client", cl.ID, "topic", w.TopicName, "error", err)
		return
	}
	g.countSend(cl.ID, g.sender.send(cl.ID, msg))
}

// sendWithRetry sends msg until RocketMQ takes it or the client's retry
// budget is spent, backing off between attempts.
func (g *Gateway) sendWithRetry(cl *mqtt.Client, msg *primitive.Message) bool {
	budget := g.cfg.SendRetryFor
	if ka := time.Duration(cl.State.Keepalive) * time.Second; ka > 0 && budget > ka/2 {
		budget = ka / 2
	}
	giveUp := time.Now().Add(budget)
	backoff := 20 * time.Millisecond
	for {
		if g.countSend(cl.ID, g.sender.send(cl.ID, msg)) {
			return true
		}
		if time.Now().Add(backoff).After(giveUp) || cl.Closed() {
			return false
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
}

// countSend records the outcome of one send and reports whether RocketMQ took it.
func (g *Gateway) countSend(clientID string, err error) bool {
	if err == nil {
		g.stats.uplinkSent.Add(1)
		return true
	}
	g.stats.uplinkSendFailures.Add(1)
	g.log.Warn("RocketMQ send failed", "client", clientID, "error", err)
	return false
}

// uplinkMessage builds the RocketMQ message for a device publish, or says
// why it is refused, with the MQTT 5 reason code that says so.
func (g *Gateway) uplinkMessage(p mqttrmq.Publish) (*primitive.Message, packets.Code, error) {
	if len(p.Payload) > g.cfg.MaxPayload {
		return nil, packets.ErrPacketTooLarge, fmt.Errorf("payload of %d bytes is over the %d-byte limit", len(p.Payload), g.cfg.MaxPayload)
	}
	parent, second, err := mqttrmq.SplitTopic(p.Topic)
	if err != nil {
		return nil, packets.ErrTopicNameInvalid, err
	}
	if !g.parents[parent] {
		return nil, packets.ErrTopicNameInvalid, fmt.Errorf("parent topic %q is not served", parent)
	}
	if mqttrmq.IsP2PSubtopic(second) {
		if _, _, ok := mqttrmq.ParseP2PTopic(p.Topic); !ok {
			return nil, packets.ErrTopicNameInvalid, fmt.Errorf("a P2P topic is exactly {parent}/p2p/{clientID}")
		}
	}
	msg := &primitive.Message{Body: p.Payload}
	if msg.Topic, err = g.cfg.Dialect.ToRocketMQ(p, msg); err != nil {
		if errors.Is(err, mqttrmq.ErrInvalidTopic) {
			return nil, packets.ErrTopicNameInvalid, err
		}
		return nil, packets.ErrImplementationSpecificError, err
	}
	if t, ok := g.topics[msg.Topic]; ok {
		msg.Topic = t // {Namespace}%{parent}
	}
	if msg.GetTags() == "" { // the Apache dialect tags its messages itself
		msg.WithTag(g.cfg.UplinkTag)
	}
	return msg, packets.CodeSuccess, nil
}

// userPropertiesOf carries an MQTT 5 publish's user properties, in order,
// duplicates kept; nil for none (and for every MQTT 3.1.1 publish).
func userPropertiesOf(user []packets.UserProperty) []mqttrmq.UserProperty {
	if len(user) == 0 {
		return nil
	}
	props := make([]mqttrmq.UserProperty, len(user))
	for i, u := range user {
		props[i] = mqttrmq.UserProperty{Key: u.Key, Value: u.Val}
	}
	return props
}

// refusal is how a refused publish is answered. MQTT 3.1.1 has no way to
// say no to a publish: the broker must acknowledge it or disconnect
// [MQTT-3.3.5-2]; disconnecting would make the device resend the same
// refused message forever, so it is acknowledged and dropped. An MQTT 5
// QoS 1 publish gets a PUBACK with a reason code instead.
func refusal(cl *mqtt.Client, pk packets.Packet, code packets.Code) error {
	switch {
	case pk.FixedHeader.Qos == 0:
		return packets.ErrRejectPacket
	case cl.Properties.ProtocolVersion == 5 && pk.FixedHeader.Qos == 1:
		return code
	default:
		return packets.CodeSuccessIgnore
	}
}
