package gateway

import (
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// The MQTT 5 message properties of a publish travel through RocketMQ as
// the mapping carries them (mqttrmq.Publish): a device's reach RocketMQ,
// and a backend's, or a device's coming back, reach MQTT 5 subscribers;
// an MQTT 3.1.1 client has none to send or be sent. The MQTT core drops a
// message whose Message Expiry Interval has passed, and sends what is left
// of it [MQTT-3.3.2-5] [MQTT-3.3.2-6], counting from Message.Created: for
// a message from RocketMQ, its born time.

// withProperties adds the MQTT 5 message properties of m to p.
func withProperties(p *mqttrmq.Publish, m *broker.Message) {
	p.UserProperties = userPropertiesOf(m.User)
	p.PayloadUTF8 = m.PayloadFormat == broker.FormatUTF8
	if m.HasExpiry {
		p.MessageExpiry = mqttrmq.ExpiresAfter(m.MessageExpiry)
	}
	p.ContentType = m.ContentType
	p.ResponseTopic = m.ResponseTopic
	// Empty Correlation Data is not carried: RocketMQ has no empty value.
	p.CorrelationData = m.CorrelationData
}

// userPropertiesOf carries an MQTT 5 publish's user properties, in order,
// duplicates kept; nil for none (and for every MQTT 3.1.1 publish).
func userPropertiesOf(user []broker.UserProperty) []mqttrmq.UserProperty {
	if len(user) == 0 {
		return nil
	}
	props := make([]mqttrmq.UserProperty, len(user))
	for i, u := range user {
		props[i] = mqttrmq.UserProperty{Key: u.Key, Value: u.Value}
	}
	return props
}

// messageProperties are the MQTT 5 message properties of what a RocketMQ
// message delivers, as the MQTT core sends them.
func messageProperties(p *mqttrmq.Publish) broker.Properties {
	mp := broker.Properties{
		ContentType:     p.ContentType,
		ResponseTopic:   p.ResponseTopic,
		CorrelationData: p.CorrelationData,
	}
	if p.PayloadUTF8 {
		mp.PayloadFormat = broker.FormatUTF8
	}
	mp.MessageExpiry, mp.HasExpiry = p.MessageExpiry.Seconds()
	if len(p.UserProperties) > 0 {
		mp.User = make([]broker.UserProperty, len(p.UserProperties))
		for i, u := range p.UserProperties {
			mp.User[i] = broker.UserProperty{Key: u.Key, Value: u.Value}
		}
	}
	return mp
}

// rewriteExpiry writes into msg, about to be sent to RocketMQ again, what
// is left at now of m's Message Expiry Interval, and reports it: a retried
// send is born later than the first, and a reader counts the interval from
// the born time of the send RocketMQ took. What has run out is written as
// 0, which every reader takes as expired.
func (g *Gateway) rewriteExpiry(m *broker.Message, msg *primitive.Message, now time.Time) bool {
	if !m.HasExpiry {
		return false
	}
	left, _ := mqttrmq.ExpiresAfter(m.MessageExpiry).Remaining(m.Created, now)
	if err := g.cfg.Dialect.SetMessageExpiry(msg, left); err != nil {
		// Shorter than what was written, it fits where that did.
		g.log.Warn("cannot rewrite the expiry of a retried send", "id", m.ID, "error", err)
		return false
	}
	return true
}
