package mqttrmq_test

import (
	"maps"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
)

var (
	sinkString string
	sinkBool   bool
)

func BenchmarkSplitTopic(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		p, s, _ := mqttrmq.SplitTopic("vehicles/telemetry/GID_car@@@v1/gps")
		sinkString = p + s[:0]
	}
}

func BenchmarkParseP2PTopic(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, id, ok := mqttrmq.ParseP2PTopic("vehicles/p2p/GID_car@@@v1")
		sinkString, sinkBool = id, ok
	}
}

var matchBench = []struct{ name, filter, topic string }{
	{"exact", "vehicles/telemetry/GID_car@@@v1/gps", "vehicles/telemetry/GID_car@@@v1/gps"},
	{"plus", "vehicles/+/+/gps", "vehicles/telemetry/GID_car@@@v1/gps"},
	{"hash", "vehicles/#", "vehicles/telemetry/GID_car@@@v1/gps"},
	{"miss", "vehicles/telemetry/GID_car@@@v2/gps", "vehicles/telemetry/GID_car@@@v1/gps"},
	{"shared", "$share/backend/vehicles/+/+/gps", "vehicles/telemetry/GID_car@@@v1/gps"},
}

func BenchmarkMatchTopic(b *testing.B) {
	for _, bm := range matchBench {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkBool = mqttrmq.MatchTopic(bm.filter, bm.topic)
			}
		})
	}
}

var uplink = mqttrmq.Publish{
	Topic:    "vehicles/telemetry/gps",
	QoS:      mqttrmq.AtLeastOnce,
	ClientID: "GID_car@@@v1",
	Payload:  []byte(`{"lat":31.2,"lon":121.5}`),
}

// BenchmarkUplink sets ToRocketMQ beside its floor: the same four properties
// written with WithProperty on a fresh *primitive.Message, values precomputed.
// The README reports ToRocketMQ/floor, side by side with
//
//	go test -run '^$' -bench '^BenchmarkUplink$' -benchmem -count 10 . | benchstat -col /impl -
func BenchmarkUplink(b *testing.B) {
	b.Run("impl=floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			msg := &primitive.Message{Body: uplink.Payload}
			msg.WithProperty(mqttrmq.PropQoS, "1")
			msg.WithProperty(mqttrmq.PropCleanSession, "true")
			msg.WithProperty(mqttrmq.PropClientID, "GID_car@@@v1")
			msg.WithProperty(mqttrmq.PropSecondTopic, "/telemetry/gps")
			msg.Topic = "vehicles"
		}
	})
	b.Run("impl=ToRocketMQ", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			msg := &primitive.Message{Body: uplink.Payload}
			topic, err := mqttrmq.ToRocketMQ(uplink, msg)
			if err != nil {
				b.Fatal(err)
			}
			msg.Topic = topic
		}
	})
}

// uplinkMQTT5 is uplink as an MQTT 5 request: the same four properties and
// all five MQTT 5 message properties beside them.
var uplinkMQTT5 = mqttrmq.Publish{
	Topic:           "vehicles/telemetry/gps",
	QoS:             mqttrmq.AtLeastOnce,
	ClientID:        "GID_car@@@v1",
	Payload:         []byte(`{"lat":31.2,"lon":121.5}`),
	MessageExpiry:   mqttrmq.ExpiresAfter(300),
	PayloadUTF8:     true,
	ContentType:     "application/json",
	ResponseTopic:   "vehicles/replies/GID_car@@@v1",
	CorrelationData: []byte("3f2a9c1e-req-0001"),
}

// BenchmarkUplinkMQTT5 sets ToRocketMQ of an MQTT 5 publish beside its
// floor: its nine properties written with WithProperty on a fresh
// *primitive.Message, values precomputed (the interval's digits and the
// correlation data's Base64 included), in the same run:
//
//	go test -run '^$' -bench '^BenchmarkUplinkMQTT5$' -benchmem -count 10 . | benchstat -col /impl -
func BenchmarkUplinkMQTT5(b *testing.B) {
	b.Run("impl=floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			msg := &primitive.Message{Body: uplinkMQTT5.Payload}
			msg.WithProperty(mqttrmq.PropQoS, "1")
			msg.WithProperty(mqttrmq.PropCleanSession, "true")
			msg.WithProperty(mqttrmq.PropClientID, "GID_car@@@v1")
			msg.WithProperty(mqttrmq.PropSecondTopic, "/telemetry/gps")
			msg.WithProperty(mqttrmq.PropPayloadFormat, "1")
			msg.WithProperty(mqttrmq.PropMessageExpiry, "300")
			msg.WithProperty(mqttrmq.PropContentType, "application/json")
			msg.WithProperty(mqttrmq.PropResponseTopic, "vehicles/replies/GID_car@@@v1")
			msg.WithProperty(mqttrmq.PropCorrelationData, "M2YyYTljMWUtcmVxLTAwMDE=")
			msg.Topic = "vehicles"
		}
	})
	b.Run("impl=ToRocketMQ", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			msg := &primitive.Message{Body: uplinkMQTT5.Payload}
			topic, err := mqttrmq.ToRocketMQ(uplinkMQTT5, msg)
			if err != nil {
				b.Fatal(err)
			}
			msg.Topic = topic
		}
	})
}

// TestUplinkMQTT5Floor holds that BenchmarkUplinkMQTT5's floor writes what
// ToRocketMQ writes, so that the two compare like for like.
func TestUplinkMQTT5Floor(t *testing.T) {
	msg := &primitive.Message{}
	if _, err := mqttrmq.ToRocketMQ(uplinkMQTT5, msg); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"qoslevel": "1", "cleansessionflag": "true", "clientId": "GID_car@@@v1", "mqttSecondTopic": "/telemetry/gps",
		"mqtt5PayloadFormatIndicator": "1", "mqtt5MsgExpireInterval": "300", "mqtt5ContentType": "application/json",
		"mqtt5ResponseTopic": "vehicles/replies/GID_car@@@v1", "mqtt5CorrelationData": "M2YyYTljMWUtcmVxLTAwMDE="}
	if got := msg.GetProperties(); !maps.Equal(got, want) {
		t.Errorf("ToRocketMQ wrote %q; the floor writes %q", got, want)
	}
}

func BenchmarkFromRocketMQ(b *testing.B) {
	msg := primitive.NewMessage("vehicles", uplink.Payload)
	if _, err := mqttrmq.ToRocketMQ(uplink, msg); err != nil {
		b.Fatal(err)
	}
	received := overTheWire(msg)
	b.ReportAllocs()
	for b.Loop() {
		p, err := mqttrmq.FromRocketMQ("vehicles", received, uplink.Payload)
		if err != nil {
			b.Fatal(err)
		}
		sinkString = p.Topic
	}
}

// BenchmarkFromRocketMQMQTT5 reads back what ToRocketMQ wrote of
// uplinkMQTT5: nine properties.
func BenchmarkFromRocketMQMQTT5(b *testing.B) {
	msg := primitive.NewMessage("vehicles", uplinkMQTT5.Payload)
	if _, err := mqttrmq.ToRocketMQ(uplinkMQTT5, msg); err != nil {
		b.Fatal(err)
	}
	received := overTheWire(msg)
	b.ReportAllocs()
	for b.Loop() {
		p, err := mqttrmq.FromRocketMQ("vehicles", received, uplinkMQTT5.Payload)
		if err != nil {
			b.Fatal(err)
		}
		sinkString = p.Topic
	}
}

// TestHotPathsDoNotAllocate holds the zero-allocation promise of the
// documentation; allocation counts, unlike times, are exact.
func TestHotPathsDoNotAllocate(t *testing.T) {
	checks := map[string]func(){
		"SplitTopic":    func() { sinkString, _, _ = mqttrmq.SplitTopic("vehicles/telemetry/gps") },
		"ParseP2PTopic": func() { _, sinkString, _ = mqttrmq.ParseP2PTopic("vehicles/p2p/GID_car@@@v1") },
		// What a namespaced consumer hands over, split without a copy.
		"SplitNamespace": func() { _, sinkString, _ = mqttrmq.SplitNamespace("MQ_INST_1234_abcd%vehicles") },
		// Refusals on the matching path allocate nothing either.
		"MatchTopic(invalid)": func() { sinkBool = mqttrmq.MatchTopic("a/#/b", "a/\x01") },
		"ValidateTopicName":   func() { _ = mqttrmq.ValidateTopicName("vehicles/telemetry/gps") },
		"ValidateTopicFilter": func() { _ = mqttrmq.ValidateTopicFilter("$share/g/vehicles/+/#") },
	}
	for _, bm := range matchBench {
		checks["MatchTopic("+bm.name+")"] = func() { sinkBool = mqttrmq.MatchTopic(bm.filter, bm.topic) }
	}
	for name, f := range checks {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times per call; want 0", name, n)
		}
	}
}
