package mqttrmq_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

var splitNamespaceTests = []struct {
	in            string
	namespace, tp string
	ok            bool
}{
	{"vehicles", "", "vehicles", true},
	{"ns1%vehicles", "ns1", "vehicles", true},
	{"MQ_INST_1234567890_BXhFHXY%vehicles", "MQ_INST_1234567890_BXhFHXY", "vehicles", true}, // a hosted instance's ID
	{strings.Repeat("n", 125) + "%t", strings.Repeat("n", 125), "t", true},                  // 127 characters in all
	{strings.Repeat("n", 125) + "%tt", "", "", false},                                       // 128
	{"%RETRY%group", "", "", false},                                                         // no namespace: a retry topic
	{"%DLQ%group", "", "", false},
	{"ns%", "", "", false},       // no topic
	{"ns%a%b", "", "", false},    // '%' in the topic
	{"n|s%a", "", "", false},     // '|' separates tags
	{"ns%TBW102", "", "", false}, // a system topic, in a namespace or not
	{"ns%a/b", "", "", false},
	{"", "", "", false},
}

func TestSplitNamespace(t *testing.T) {
	for _, tt := range splitNamespaceTests {
		ns, topic, err := mqttrmq.SplitNamespace(tt.in)
		if ns != tt.namespace || topic != tt.tp || (err == nil) != tt.ok || (err != nil && !errors.Is(err, mqttrmq.ErrInvalidTopic)) {
			t.Errorf("SplitNamespace(%q) = %q, %q, %v; want %q, %q, ok=%v", tt.in, ns, topic, err, tt.namespace, tt.tp, tt.ok)
		}
		if err != nil {
			continue
		}
		if back, err := mqttrmq.NamespaceTopic(ns, topic); err != nil || back != tt.in {
			t.Errorf("NamespaceTopic(SplitNamespace(%q)) = %q, %v", tt.in, back, err)
		}
	}
	for _, c := range [][2]string{{"n%s", "t"}, {"ns", "a%b"}, {"ns", ""}, {strings.Repeat("n", 126), "t"}} {
		if got, err := mqttrmq.NamespaceTopic(c[0], c[1]); !errors.Is(err, mqttrmq.ErrInvalidTopic) {
			t.Errorf("NamespaceTopic(%q, %q) = %q, %v; want ErrInvalidTopic", c[0], c[1], got, err)
		}
	}
	for ns, ok := range map[string]bool{"ns1": true, "MQ_INST_x-1": true, "": false, "a%b": false, "a b": false, "名": false} {
		if err := mqttrmq.ValidateNamespace(ns); (err == nil) != ok {
			t.Errorf("ValidateNamespace(%q) = %v; want ok=%v", ns, err, ok)
		}
	}
	// A bad topic is named at its byte in the whole name.
	_, _, err := mqttrmq.SplitNamespace("ns1%a.b")
	var e *mqttrmq.Error
	if !errors.As(err, &e) || e.Offset != 5 {
		t.Errorf("SplitNamespace(ns1%%a.b) = %v; want the '.' at byte 5", err)
	}
}

// TestFromRocketMQReadsNamespacedTopics: a consumer created with
// consumer.WithNamespace("ns1") hands over msg.Topic "ns1%veh", which
// FromRocketMQ refused for its '%', so that the backend example refused
// every message with -namespace. The readers take the namespaced topic and
// deliver the MQTT topic without the namespace.
func TestFromRocketMQReadsNamespacedTopics(t *testing.T) {
	msg := primitive.NewMessage("ns1%veh", nil)
	msg.WithProperty(mqttrmq.PropSecondTopic, "/v1/gps")
	msg.WithProperty(mqttrmq.PropClientID, "GID_car@@@v1")
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		p, err := d.FromRocketMQ(msg.Topic, msg, nil)
		if err != nil || p.Topic != "veh/v1/gps" || p.ClientID != "GID_car@@@v1" {
			t.Errorf("%v.FromRocketMQ(ns1%%veh) = %+v, %v; want veh/v1/gps", d, p, err)
		}
	}
	apache := primitive.NewMessage("ns1%veh", nil)
	apache.WithProperty(mqttrmq.PropOriginTopic, "veh/a")
	if p, err := mqttrmq.FromRocketMQ("ns1%veh", apache, nil); err != nil || p.Topic != "veh/a" {
		t.Errorf("FromRocketMQ(ns1%%veh, originMqttTopic veh/a) = %q, %v", p.Topic, err)
	}
	apache.WithProperty(mqttrmq.PropOriginTopic, "ns1%veh/a") // the namespace is not an MQTT level
	if p, err := mqttrmq.FromRocketMQ("ns1%veh", apache, nil); err == nil {
		t.Errorf("FromRocketMQ(originMqttTopic ns1%%veh/a) = %q; want refused", p.Topic)
	}
	for _, bad := range []string{"%RETRY%g", "ns%", "a%b%c", "n s%veh"} {
		if _, err := mqttrmq.FromRocketMQ(bad, msg, nil); !errors.Is(err, mqttrmq.ErrInvalidTopic) {
			t.Errorf("FromRocketMQ(%q) = %v; want ErrInvalidTopic", bad, err)
		}
	}
}

// TestNamespacedProducersAndConsumers maps messages onto RocketMQ and back
// through rocketmq-client-go producers and a consumer created with a
// namespace, against a broker that holds the topic as ns1%vehicles: what a
// device published, what a backend sends in either dialect, what a producer
// without the namespace sends to NamespaceTopic, and a message redelivered
// after a retry all read back as their MQTT publishes.
func TestNamespacedProducersAndConsumers(t *testing.T) {
	const ns, parent = "ns1", "vehicles"
	s := rocketmqtest.NewServer(t, rocketmqtest.WithDelayLevels(50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond))
	full, err := mqttrmq.NamespaceTopic(ns, parent)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTopic(full, 2); err != nil {
		t.Fatal(err)
	}

	type reading struct {
		topic  string
		p      mqttrmq.Publish
		target string
		retry  bool
	}
	var mu sync.Mutex
	got := map[string]reading{} // by body
	tried := map[string]bool{}
	arrived := make(chan struct{}, 16)
	group := clientName("group")
	startConsumer(t, s, group, parent, func(m *primitive.MessageExt) consumer.ConsumeResult {
		mu.Lock()
		defer mu.Unlock()
		body := string(m.Body)
		if body == "retried" && !tried[body] {
			tried[body] = true
			return consumer.ConsumeRetryLater
		}
		p, err := mqttrmq.FromRocketMQ(m.Topic, m, m.Body)
		if err != nil {
			t.Errorf("FromRocketMQ(%q, %q) = %v", m.Topic, m.GetProperties(), err)
		}
		if ap, err := mqttrmq.ApacheRocketMQMQTT.FromRocketMQ(m.Topic, m, m.Body); err != nil || !cmp.Equal(p, ap) {
			t.Errorf("the dialects read %q differently: %+v, %+v, %v", m.Topic, p, ap, err)
		}
		if born := time.UnixMilli(m.BornTimestamp); m.BornTimestamp <= 0 || !p.Born.Equal(born) {
			t.Errorf("FromRocketMQ(%q) Born = %v; want the BornTimestamp %v", m.Body, p.Born, born)
		}
		p.Born = time.Time{} // not known beforehand
		target, _ := mqttrmq.P2PTargetOf(m)
		got[body] = reading{m.Topic, p, target, m.ReconsumeTimes > 0}
		arrived <- struct{}{}
		return consumer.ConsumeSuccess
	}, consumer.WithNamespace(ns))
	if err := s.WaitForConsumers(context.Background(), ns+"%"+group, 1); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	p := startProducer(t, s, producer.WithNamespace(ns))
	send := func(p interface {
		SendSync(context.Context, ...*primitive.Message) (*primitive.SendResult, error)
	}, m *primitive.Message) {
		t.Helper()
		if r, err := p.SendSync(ctx, m); err != nil || r.Status != primitive.SendOK {
			t.Fatalf("send %s to %s: %v, %v", m.Body, m.Topic, r, err)
		}
	}

	// What a device published, as a gateway maps it.
	uplink := primitive.NewMessage("", []byte("uplink"))
	if uplink.Topic, err = mqttrmq.ToRocketMQ(mqttrmq.Publish{Topic: "vehicles/v1/gps", QoS: 1, ClientID: "GID_car@@@v1"}, uplink); err != nil {
		t.Fatal(err)
	}
	send(p, uplink)
	if uplink.Topic != full {
		t.Errorf("after the send the message's Topic is %q; want %q, as the producer prefixes it", uplink.Topic, full)
	}
	// A backend's P2P command, in each dialect.
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		cmd := primitive.NewMessage(parent, []byte("p2p "+d.String()))
		cmd.WithTag(d.DownlinkTag())
		if err := d.SetP2P(cmd, "GID_car@@@v2"); err != nil {
			t.Fatal(err)
		}
		send(p, cmd)
	}
	// A producer without the namespace names it itself.
	bare := startProducer(t, s)
	broadcast := primitive.NewMessage(full, []byte("broadcast"))
	if _, err := mqttrmq.SetTopic(broadcast, "vehicles/cmd/all"); err != nil {
		t.Fatal(err)
	}
	send(bare, broadcast)
	// One the consumer gives back once: redelivered from %RETRY%ns1%group.
	retried := primitive.NewMessage(parent, []byte("retried"))
	if err := mqttrmq.SetSecondTopic(retried, "/cmd/v1"); err != nil {
		t.Fatal(err)
	}
	send(p, retried)

	want := map[string]reading{
		"uplink":                   {full, mqttrmq.Publish{Topic: "vehicles/v1/gps", QoS: 1, ClientID: "GID_car@@@v1", Payload: []byte("uplink")}, "", false},
		"p2p alibaba-cloud":        {full, mqttrmq.Publish{Topic: "vehicles/p2p/GID_car@@@v2", QoS: 1, Payload: []byte("p2p alibaba-cloud")}, "GID_car@@@v2", false},
		"p2p apache-rocketmq-mqtt": {full, mqttrmq.Publish{Topic: "vehicles/p2p/GID_car@@@v2", QoS: 1, Payload: []byte("p2p apache-rocketmq-mqtt")}, "GID_car@@@v2", false},
		"broadcast":                {full, mqttrmq.Publish{Topic: "vehicles/cmd/all", QoS: 1, Payload: []byte("broadcast")}, "", false},
		"retried":                  {full, mqttrmq.Publish{Topic: "vehicles/cmd/v1", QoS: 1, Payload: []byte("retried")}, "", true},
	}
	for range want {
		select {
		case <-arrived:
		case <-ctx.Done():
			mu.Lock()
			n := len(got)
			mu.Unlock()
			t.Fatalf("%d of %d messages arrived", n, len(want))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(reading{})); diff != "" {
		t.Errorf("read through the namespace (-want +got):\n%s", diff)
	}
	if topics := s.Topics(); !strings.Contains(strings.Join(topics, ","), "%RETRY%"+ns+"%"+group) {
		t.Errorf("broker topics %q; want the namespaced retry topic", topics)
	}
}

// FuzzNamespace holds the round trip of namespaced names: what NamespaceTopic
// accepts SplitNamespace splits back, and the other way round, and every
// reader takes such a name as the bare topic.
func FuzzNamespace(f *testing.F) {
	for _, c := range [][2]string{{"ns1", "vehicles"}, {"", "t"}, {"%RETRY%", "g"}, {"a%b", "c"}, {"MQ_INST_x", "v"}, {"n", strings.Repeat("t", 126)}} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, ns, topic string) {
		name, err := mqttrmq.NamespaceTopic(ns, topic)
		if err != nil {
			if !errors.Is(err, mqttrmq.ErrInvalidTopic) {
				t.Fatalf("NamespaceTopic(%q, %q) = %v; want ErrInvalidTopic", ns, topic, err)
			}
			_ = err.Error()
		} else {
			gotNS, gotTopic, err := mqttrmq.SplitNamespace(name)
			if err != nil || gotNS != ns || gotTopic != topic || len(name) > 127 || strings.Count(name, "%") > 1 {
				t.Fatalf("SplitNamespace(NamespaceTopic(%q, %q) = %q) = %q, %q, %v", ns, topic, name, gotNS, gotTopic, err)
			}
			msg := primitive.NewMessage(name, nil)
			msg.WithProperty(mqttrmq.PropSecondTopic, "/a")
			if p, err := mqttrmq.FromRocketMQ(name, msg, nil); err != nil || p.Topic != topic+"/a" {
				t.Fatalf("FromRocketMQ(%q) = %q, %v; want %q", name, p.Topic, err, topic+"/a")
			}
		}
		// Any name: what SplitNamespace accepts, NamespaceTopic rebuilds.
		whole := ns + topic
		gotNS, gotTopic, err := mqttrmq.SplitNamespace(whole)
		if err != nil {
			if !errors.Is(err, mqttrmq.ErrInvalidTopic) {
				t.Fatalf("SplitNamespace(%q) = %v; want ErrInvalidTopic", whole, err)
			}
			_ = err.Error()
			return
		}
		if back, err := mqttrmq.NamespaceTopic(gotNS, gotTopic); err != nil || back != whole {
			t.Fatalf("NamespaceTopic(SplitNamespace(%q)) = %q, %v", whole, back, err)
		}
	})
}
