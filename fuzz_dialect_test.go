package mqttrmq_test

import (
	"strings"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
)

// FuzzApachePropertiesWire maps any publish onto a message in the Apache
// dialect, with a few wildcard filters registered, sends it through
// rocketmq-client-go's wire form and maps it back.
func FuzzApachePropertiesWire(f *testing.F) {
	f.Add("vehicles/v1/gps", "GID_car@@@v1", byte(1), true, "unit", "C", uint32(0), byte(0), "", "", []byte(nil))
	f.Add("test/p2p/GID_sdasa@@@2222", "", byte(2), false, "", "", uint32(0), byte(0), "", "", []byte(nil))
	f.Add("a/b/", "c", byte(0), true, "k", "v", uint32(0), byte(0), "", "", []byte(nil))
	f.Add("a/LMQ/b", "c", byte(1), true, "TAGS", "x", uint32(0), byte(0), "", "", []byte(nil))
	f.Add("vehicles/v1/cmd", "GID_car@@@app", byte(1), true, "k", "v", uint32(30), byte(3), "application/json", "vehicles/replies/app", []byte{0xfb, 0xef})
	f.Add("a/b", "c", byte(1), true, "mqtt5ContentType", "x", uint32(0), byte(6), "\"\\", "a/\x02", []byte{})
	d := mqttrmq.ApacheRocketMQMQTT
	var fs mqttrmq.FilterSet
	for _, filter := range []string{"vehicles/+/gps", "vehicles/#", "test/+", "a/#", "+/+", "#"} {
		if err := fs.Add(filter); err != nil {
			f.Fatal(err)
		}
	}
	d = d.WithFilters(&fs)
	m := dialectMapper(d)
	f.Fuzz(func(t *testing.T, topic, clientID string, qos byte, clean bool, key, value string, expiry uint32, flags byte, contentType, responseTopic string, correlation []byte) {
		p := mqttrmq.Publish{Topic: topic, QoS: mqttrmq.QoS(qos), ClientID: clientID, PersistentSession: !clean, Payload: []byte("x")}
		if key != "" || value != "" {
			p.UserProperties = []mqttrmq.UserProperty{{Key: key, Value: value}}
		}
		withMQTT5(&p, expiry, flags, contentType, responseTopic, correlation)
		for _, n := range nilMessages {
			checkNilRefused(t, n.name, n.m, topic, clientID, mqttrmq.QoS(qos))
		}
		rmqTopic, received, ok := mapOverTheWire(t, m, p, mqttrmq.ErrInvalidTopic, mqttrmq.ErrInvalidProperty)
		if !ok {
			return
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
	f.Add("t", "t/a", "", `{"qosLevel":"1","mqtt5MsgExpireInterval":"10","mqtt5PayloadFormatIndicator":"1","mqtt5ContentType":"text/plain","mqtt5ResponseTopic":"t/r","mqtt5CorrelationData":"AA==","k":"v"}`, "", "")
	f.Add("t", "t/a", "", `{"mqtt5MsgExpireInterval":"01","mqtt5PayloadFormatIndicator":"2","mqtt5ResponseTopic":"t/+","mqtt5CorrelationData":"AB=="}`, "", "")
	f.Fuzz(func(t *testing.T, topic, origin, dispatch, ext, qos, clean string) {
		msg := primitive.NewMessage(topic, nil)
		msg.WithProperty(mqttrmq.PropOriginTopic, origin)
		msg.WithProperty(mqttrmq.PropDispatch, dispatch)
		msg.WithProperty(mqttrmq.PropExtData, ext)
		msg.WithProperty("qosLevel", qos)
		msg.WithProperty("cleanSessionFlag", clean)
		p, err := mqttrmq.ApacheRocketMQMQTT.FromRocketMQ(topic, overTheWire(msg), nil)
		if err == nil {
			checkMQTT5Readers(t, overTheWire(msg), p)
		}
		if checkDelivered(t, "apache-rocketmq-mqtt.FromRocketMQ", p, err) && p.Retain {
			t.Fatalf("apache-rocketmq-mqtt.FromRocketMQ = %+v; nothing set mqttRetain", p)
		}
		checkOneReading(t, topic, msg)
	})
}
