package mqttrmq_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
)

// FuzzApachePropertiesWire maps any publish onto a message in the Apache
// dialect, with a few wildcard filters registered, sends it through
// rocketmq-client-go's wire form and maps it back.
func FuzzApachePropertiesWire(f *testing.F) {
	f.Add("vehicles/v1/gps", "GID_car@@@v1", byte(1), true, "unit", "C")
	f.Add("test/p2p/GID_sdasa@@@2222", "", byte(2), false, "", "")
	f.Add("a/b/", "c", byte(0), true, "k", "v")
	f.Add("a/LMQ/b", "c", byte(1), true, "TAGS", "x")
	d := mqttrmq.ApacheRocketMQMQTT
	var fs mqttrmq.FilterSet
	for _, filter := range []string{"vehicles/+/gps", "vehicles/#", "test/+", "a/#", "+/+", "#"} {
		if err := fs.Add(filter); err != nil {
			f.Fatal(err)
		}
	}
	d = d.WithFilters(&fs)
	f.Fuzz(func(t *testing.T, topic, clientID string, qos byte, clean bool, key, value string) {
		p := mqttrmq.Publish{Topic: topic, QoS: mqttrmq.QoS(qos), ClientID: clientID, CleanSession: clean, Payload: []byte("x")}
		if key != "" || value != "" {
			p.UserProperties = []mqttrmq.UserProperty{{Key: key, Value: value}}
		}
		msg := primitive.NewMessage("", p.Payload)
		rmqTopic, err := d.ToRocketMQ(p, msg)
		if err != nil {
			if !errors.Is(err, mqttrmq.ErrInvalidTopic) && !errors.Is(err, mqttrmq.ErrInvalidProperty) {
				t.Fatalf("ToRocketMQ(%+v) = %v; want a sentinel", p, err)
			}
			if len(msg.GetProperties()) != 0 {
				t.Fatalf("ToRocketMQ(%+v) refused, yet wrote %v", p, msg.GetProperties())
			}
			_ = err.Error()
			return
		}
		received := overTheWire(msg)
		if diff := cmp.Diff(msg.GetProperties(), received.GetProperties()); diff != "" {
			t.Fatalf("ToRocketMQ(%+v) properties changed on the wire:\n%s", p, diff)
		}
		// The dispatch list is the topic's own queue and those of the
		// matching filters, each a name the broker indexes.
		queues := strings.Split(received.GetProperty(mqttrmq.PropDispatch), ",")
		if _, second, _ := mqttrmq.SplitTopic(topic); mqttrmq.IsP2PSubtopic(second) {
			if len(queues) != 1 || !strings.HasPrefix(queues[0], "%LMQ%%p2p%") {
				t.Fatalf("INNER_MULTI_DISPATCH of %q = %q; want the P2P queue alone", topic, queues)
			}
		} else if own, err := mqttrmq.LMQQueue(topic); err != nil || queues[0] != own {
			t.Fatalf("INNER_MULTI_DISPATCH of %q = %q; want %q first", topic, queues, own)
		}
		for _, q := range queues {
			if !strings.HasPrefix(q, mqttrmq.LMQPrefix) || strings.Contains(q, "/") {
				t.Fatalf("INNER_MULTI_DISPATCH of %q lists %q", topic, q)
			}
		}
		back, err := d.FromRocketMQ(rmqTopic, received, p.Payload)
		if err != nil {
			t.Fatalf("FromRocketMQ after ToRocketMQ(%+v) = %v", p, err)
		}
		if diff := cmp.Diff(p, back); diff != "" {
			t.Fatalf("round trip of %+v (-want +got):\n%s", p, diff)
		}
		// Without originMqttTopic, as a RocketMQ producer writes it, the
		// dispatch list alone gives the topic back.
		bare := primitive.NewMessage(rmqTopic, nil)
		bare.WithProperty(mqttrmq.PropDispatch, received.GetProperty(mqttrmq.PropDispatch))
		if got, err := d.FromRocketMQ(rmqTopic, overTheWire(bare), nil); err != nil || got.Topic != topic {
			t.Fatalf("FromRocketMQ(INNER_MULTI_DISPATCH %q alone) = %q, %v; want %q", bare.GetProperty(mqttrmq.PropDispatch), got.Topic, err, topic)
		}
	})
}

// FuzzApacheFromRocketMQ reads any properties a RocketMQ producer could set
// for RocketMQ-MQTT.
func FuzzApacheFromRocketMQ(f *testing.F) {
	f.Add("firstTopic", "", "%LMQ%firstTopic%r%+%,%LMQ%firstTopic%r%wc%", "", "", "")
	f.Add("test", "test/a", "%LMQ%test%a%", `{"qosLevel":"1","k":"v"}`, "1", "false")
	f.Add("vehicles", "", "%LMQ%%p2p%GID_car@@@v1%", `{"qosLevel":"0","mqttRealTopic":"v/x"}`, "", "")
	f.Add("t", "t/#", "%LMQ%a%", `{"a":1}`, "3", "yes")
	f.Fuzz(func(t *testing.T, topic, origin, dispatch, ext, qos, clean string) {
		msg := primitive.NewMessage(topic, nil)
		msg.WithProperty(mqttrmq.PropOriginTopic, origin)
		msg.WithProperty(mqttrmq.PropDispatch, dispatch)
		msg.WithProperty(mqttrmq.PropExtData, ext)
		msg.WithProperty("qosLevel", qos)
		msg.WithProperty("cleanSessionFlag", clean)
		p, err := mqttrmq.ApacheRocketMQMQTT.FromRocketMQ(topic, overTheWire(msg), nil)
		if err != nil {
			if !errors.Is(err, mqttrmq.ErrInvalidTopic) && !errors.Is(err, mqttrmq.ErrInvalidProperty) {
				t.Fatalf("FromRocketMQ = %v; want a sentinel", err)
			}
			_ = err.Error()
			return
		}
		if err := mqttrmq.ValidateTopicName(p.Topic); err != nil {
			t.Fatalf("FromRocketMQ delivered topic %q: %v", p.Topic, err)
		}
		if !p.QoS.Valid() || p.Retain {
			t.Fatalf("FromRocketMQ = %+v", p)
		}
		for _, up := range p.UserProperties {
			if strings.ContainsAny(up.Key+up.Value, "\x00\x01\x02") {
				t.Fatalf("FromRocketMQ delivered user property %q", up)
			}
		}
	})
}
