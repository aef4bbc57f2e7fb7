package mqttrmq_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// deadline bounds every wait on RocketMQ: a failure deadline, not an
// expectation.
const deadline = 30 * time.Second

var clientSeq atomic.Int64

// clientName gives every RocketMQ client of the tests a name of its own:
// rocketmq-client-go shares one client per name in a process.
func clientName(kind string) string { return fmt.Sprintf("mqttrmq-test-%s-%d", kind, clientSeq.Add(1)) }

// startProducer starts a rocketmq-client-go producer on s, shut down when
// the test ends.
func startProducer(t *testing.T, s *rocketmqtest.Server, opts ...producer.Option) rocketmq.Producer {
	t.Helper()
	p, err := rocketmq.NewProducer(append([]producer.Option{
		producer.WithNameServer(primitive.NamesrvAddr{s.Addr()}),
		producer.WithGroupName(clientName("producer-group")),
		producer.WithInstanceName(clientName("producer")),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown() })
	return p
}

// startConsumer starts a rocketmq-client-go push consumer of topic on s, in
// group, reading from the first message; handle decides on each message. It
// is shut down when the test ends.
func startConsumer(t *testing.T, s *rocketmqtest.Server, group, topic string, handle func(*primitive.MessageExt) consumer.ConsumeResult, opts ...consumer.Option) {
	t.Helper()
	var guard rocketmqtest.ConsumerGuard
	c, err := rocketmq.NewPushConsumer(append([]consumer.Option{
		consumer.WithNameServer(primitive.NamesrvAddr{s.Addr()}),
		consumer.WithGroupName(group),
		consumer.WithInstance(clientName("consumer")),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		consumer.WithStrategy(guard.Strategy(nil)),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Subscribe(topic, consumer.MessageSelector{}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			if r := handle(m); r != consumer.ConsumeSuccess {
				return r, nil
			}
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := guard.Shutdown(c); err != nil {
			t.Error(err)
		}
	})
}

// TestLargestAcceptedMessageCanBeSent: ToRocketMQ counted only its own
// properties, and the setters counted nothing, so that the largest client
// ID ToRocketMQ accepted (32640 bytes and more), and SetP2P of a 33000-byte
// one, made messages that the broker refused (CODE 13) once the producer
// had added UNIQ_KEY and the caller a tag. For every writer, the message
// with the longest value it accepts is sent by a real producer, taken by
// the broker, and given back for a retry, which adds more properties still.
func TestLargestAcceptedMessageCanBeSent(t *testing.T) {
	s := rocketmqtest.NewServer(t, rocketmqtest.WithDelayLevels(50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond))
	const topic = "vehicles"
	if err := s.CreateTopic(topic, 1); err != nil {
		t.Fatal(err)
	}
	long := func(n int) string { return strings.Repeat("a", n) }
	// build makes a message whose long field holds n bytes, or says why not.
	type build func(n int) (*primitive.Message, error)
	mapped := func(d *mqttrmq.Dialect, p func(n int) mqttrmq.Publish) build {
		return func(n int) (*primitive.Message, error) {
			m := primitive.NewMessage("", []byte("x"))
			var err error
			m.Topic, err = d.ToRocketMQ(p(n), m)
			if m.GetTags() == "" {
				m.WithTag("MQTT2MQ") // the gateway's uplink tag
			}
			return m, err
		}
	}
	set := func(f func(m *primitive.Message, n int) error) build {
		return func(n int) (*primitive.Message, error) {
			m := primitive.NewMessage(topic, []byte("x"))
			m.WithTag(mqttrmq.TagToMQTT)
			if err := mqttrmq.SetQoS(m, 1); err != nil {
				return nil, err
			}
			return m, f(m, n)
		}
	}
	cases := []struct {
		name  string
		build build
	}{
		{"ToRocketMQ, a long client ID", mapped(mqttrmq.AlibabaCloud, func(n int) mqttrmq.Publish {
			return mqttrmq.Publish{Topic: topic + "/a", QoS: 1, ClientID: long(n)}
		})},
		{"ToRocketMQ, a long topic", mapped(mqttrmq.AlibabaCloud, func(n int) mqttrmq.Publish {
			return mqttrmq.Publish{Topic: topic + "/" + long(n), QoS: 1, ClientID: "GID_car@@@v1"}
		})},
		{"apache-rocketmq-mqtt.ToRocketMQ, a long client ID", mapped(mqttrmq.ApacheRocketMQMQTT, func(n int) mqttrmq.Publish {
			return mqttrmq.Publish{Topic: topic + "/a", QoS: 1, ClientID: long(n)}
		})},
		{"SetP2P, a long client ID", set(func(m *primitive.Message, n int) error { return mqttrmq.SetP2P(m, long(n)) })},
		{"SetSecondTopic, a long subtopic", set(func(m *primitive.Message, n int) error { return mqttrmq.SetSecondTopic(m, "/"+long(n)) })},
		{"SetRealTopic, a long topic", set(func(m *primitive.Message, n int) error { return mqttrmq.SetRealTopic(m, topic+"/"+long(n)) })},
	}

	// What the broker took, by body, and what came back for a retry.
	var mu sync.Mutex
	retried := map[string]bool{}
	done := make(chan struct{})
	startConsumer(t, s, clientName("group"), topic, func(m *primitive.MessageExt) consumer.ConsumeResult {
		if m.ReconsumeTimes == 0 {
			return consumer.ConsumeRetryLater // give it back to the broker, once
		}
		mu.Lock()
		defer mu.Unlock()
		if m.GetProperty("RETRY_TOPIC") == "" {
			t.Errorf("message %s redelivered without the broker's retry: %q", m.Body, m.GetProperties())
		}
		retried[string(m.Body)] = true
		if len(retried) == len(cases) {
			close(done)
		}
		return consumer.ConsumeSuccess
	})
	p := startProducer(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()

	for i, c := range cases {
		// The longest value accepted, by bisection: 1 byte fits, 33000 cannot.
		lo, hi := 1, 33000
		if _, err := c.build(lo); err != nil {
			t.Fatalf("%s: 1 byte refused: %v", c.name, err)
		}
		if _, err := c.build(hi); !errors.Is(err, mqttrmq.ErrInvalidProperty) {
			t.Fatalf("%s: %d bytes: %v; want ErrInvalidProperty", c.name, hi, err)
		}
		for hi-lo > 1 {
			if mid := (lo + hi) / 2; func() bool { _, err := c.build(mid); return err == nil }() {
				lo = mid
			} else {
				hi = mid
			}
		}
		m, _ := c.build(lo)
		m.Body = []byte(fmt.Sprint(i))
		if r, err := p.SendSync(ctx, m); err != nil || r.Status != primitive.SendOK {
			t.Errorf("%s: the longest accepted (%d bytes) was not sent: %v, %v", c.name, lo, r, err)
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		mu.Lock()
		n := len(retried)
		mu.Unlock()
		t.Fatalf("retried %d of %d messages", n, len(cases))
	}
}
