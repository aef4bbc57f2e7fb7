// Package rocketmq5 lets the mapping read and write the messages of the
// RocketMQ 5 gRPC client, github.com/apache/rocketmq-clients/golang/v5,
// which reaches RocketMQ through its proxy (rocketmq-proxy).
//
// The mapping (package mqttrmq) reads and writes message properties
// through mqttrmq.Properties, which rocketmq-client-go's messages
// implement as they are. The gRPC client keeps a message's tag apart from
// its properties (Message.Tag, MessageView.GetTag) and refuses none of the
// keys the remoting protocol reserves, so Message and View translate: the
// property TAGS, which the Apache RocketMQ-MQTT dialect writes, is the
// message's tag; every other key is a property.
//
//	msg, err := rocketmq5.NewMessage(mqttrmq.ApacheRocketMQMQTT, p) // p an mqttrmq.Publish
//	_, err = producer.Send(ctx, msg)
//	…
//	p, err := rocketmq5.FromRocketMQ(nil, view) // view a received *golang.MessageView
//
// It is a module of its own, so that programs using the mapping with
// rocketmq-client-go do not take in the gRPC client's dependencies.
package rocketmq5

import (
	rmq "github.com/apache/rocketmq-clients/golang/v5"

	"github.com/mqttrmq/mqttrmq"
)

// propTags is the remoting protocol's name for a message's tag.
const propTags = "TAGS"

// Message is an outgoing gRPC-client message as mqttrmq.Properties.
type Message struct{ M *rmq.Message }

// GetProperty returns the property key of the message, its tag for TAGS,
// or "" when it has none (or M is nil).
func (m Message) GetProperty(key string) string {
	if m.M == nil {
		return ""
	}
	if key == propTags {
		if t := m.M.GetTag(); t != nil {
			return *t
		}
		return ""
	}
	return m.M.GetProperties()[key]
}

// WithProperty sets the property key, or the tag for TAGS. Like
// rocketmq-client-go's WithProperty it ignores an empty key or value, and
// it does nothing when M is nil.
func (m Message) WithProperty(key, value string) {
	if m.M == nil || key == "" || value == "" {
		return
	}
	if key == propTags {
		m.M.SetTag(value)
		return
	}
	m.M.AddProperty(key, value)
}

// View is a received gRPC-client message as mqttrmq.Properties, read only.
type View struct{ V *rmq.MessageView }

// GetProperty returns the property key of the message, its tag for TAGS,
// or "" when it has none (or V is nil).
func (v View) GetProperty(key string) string {
	if v.V == nil {
		return ""
	}
	if key == propTags {
		if t := v.V.GetTag(); t != nil {
			return *t
		}
		return ""
	}
	return v.V.GetProperties()[key]
}

// WithProperty does nothing: a received message cannot be changed.
func (View) WithProperty(string, string) {}

// NewMessage maps p onto a new gRPC-client message with d (nil: the
// default dialect, mqttrmq.AlibabaCloud): its RocketMQ topic, body and
// properties. It refuses what d.ToRocketMQ refuses, with the same error.
// A device's message sent by a gateway also needs its tag (the default
// dialect writes none; set it with SetTag).
func NewMessage(d *mqttrmq.Dialect, p mqttrmq.Publish) (*rmq.Message, error) {
	m := &rmq.Message{Body: p.Payload}
	topic, err := d.ToRocketMQ(p, Message{m})
	if err != nil {
		return nil, err
	}
	m.Topic = topic
	return m, nil
}

// FromRocketMQ reads a received gRPC-client message with d (nil: the
// default dialect), as d.FromRocketMQ reads a rocketmq-client-go one, Born
// included: the view's born timestamp, which a Message Expiry Interval
// counts from (see mqttrmq.Publish.ExpiryLeft). A nil v is refused.
func FromRocketMQ(d *mqttrmq.Dialect, v *rmq.MessageView) (mqttrmq.Publish, error) {
	if v == nil {
		return d.FromRocketMQ("", View{}, nil)
	}
	p, err := d.FromRocketMQ(v.GetTopic(), View{v}, v.GetBody())
	if err == nil {
		if born := v.GetBornTimestamp(); born != nil && born.UnixMilli() > 0 {
			p.Born = *born
		}
	}
	return p, err
}
