package gateway_test

import (
	"context"
	"errors"
	"testing"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// TestNamespace: a gateway with Config.Namespace serves its parent topics
// in that RocketMQ namespace. What a device publishes lands on
// ns1%vehicles, where a backend consumer created with the namespace reads
// it as the MQTT publish it was; what a backend producer with the namespace
// sends reaches the device, in both dialects; a publish RocketMQ refused is
// sent again to the same topic.
func TestNamespace(t *testing.T) {
	const ns = "ns1"
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		t.Run(d.String(), func(t *testing.T) {
			s := rocketmqtest.NewServer(t)
			for _, p := range parents {
				if err := s.CreateTopic(ns+"%"+p, 4); err != nil {
					t.Fatal(err)
				}
			}
			g := startGateway(t, s, func(c *gateway.Config) { c.Namespace, c.Dialect = ns, d })
			if got := g.ConsumerGroup(); len(s.Consumers(got)) != 1 {
				t.Errorf("ConsumerGroup() = %q, which has %d consumers; want the gateway's, in the namespace", got, len(s.Consumers(got)))
			}
			car := connect(t, g, "GID_car@@@v1")
			car.mustSubscribe(t, "vehicles/cmd/#", 1)

			// A backend reads the device's publish through the namespace.
			reader := collectIn(t, s, ns, "vehicles", d)
			s.RefuseSends(4) // the producer gives up once; the gateway sends again
			car.publish(t, "vehicles/v1/gps", 1, "31.2,121.5")
			msgs := reader.wait(t, 1)
			m := msgs[0]
			p, err := d.FromRocketMQ(m.Topic, m, m.Body)
			if m.Topic != ns+"%vehicles" || err != nil || p.Topic != "vehicles/v1/gps" || p.ClientID != "GID_car@@@v1" {
				t.Errorf("backend read %s: %+v, %v; want vehicles/v1/gps from GID_car@@@v1 on %s%%vehicles", m.Topic, p, err, ns)
			}
			if n := len(s.Messages(ns + "%vehicles")); n != 1 {
				t.Errorf("%s%%vehicles holds %d messages; want 1", ns, n)
			}
			for _, topic := range s.Topics() {
				if topic == ns+"%"+ns+"%vehicles" || topic == "vehicles" {
					t.Errorf("the gateway wrote to %q", topic)
				}
			}

			// A backend sends through the namespace: P2P and to subscribers.
			be, err := rocketmq.NewProducer(
				producer.WithNameServer([]string{s.Addr()}),
				producer.WithGroupName(uniq(t, "backend")),
				producer.WithInstanceName(uniq(t, "backend")),
				producer.WithNamespace(ns),
			)
			if err != nil {
				t.Fatal(err)
			}
			if err := be.Start(); err != nil {
				t.Fatal(err)
			}
			defer be.Shutdown()
			for _, c := range []struct{ body, topic string }{{"unlock", "vehicles/p2p/GID_car@@@v1"}, {"stop", "vehicles/cmd/all"}} {
				cmd := primitive.NewMessage("", []byte(c.body))
				cmd.WithTag(d.DownlinkTag())
				if cmd.Topic, err = d.SetTopic(cmd, c.topic); err != nil {
					t.Fatal(err)
				}
				(&backend{Producer: be}).send(t, cmd)
				if got := car.next(t); got.Topic != c.topic || got.Payload != c.body {
					t.Errorf("device got %+v; want %q on %s", got, c.body, c.topic)
				}
			}
		})
	}
}

// collectIn is collect for a backend consumer created with a namespace.
func collectIn(t *testing.T, s *rocketmqtest.Server, ns, topic string, d *mqttrmq.Dialect) *collector {
	t.Helper()
	tags := gateway.UplinkTag
	if d.Is(mqttrmq.ApacheRocketMQMQTT) {
		tags = mqttrmq.TagMQTTCommon
	}
	c := &collector{more: make(chan struct{}, 1)}
	var guard rocketmqtest.ConsumerGuard
	group := uniq(t, "readers")
	pc, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer([]string{s.Addr()}),
		consumer.WithGroupName(group),
		consumer.WithNamespace(ns),
		consumer.WithInstance(uniq(t, "reader")),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		consumer.WithStrategy(guard.Strategy(nil)),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: tags},
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			c.mu.Lock()
			c.msgs = append(c.msgs, msgs...)
			c.mu.Unlock()
			select {
			case c.more <- struct{}{}:
			default:
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			if err := s.WaitForCaughtUp(ctx, ns+"%"+group); err != nil {
				t.Errorf("backend consumer never caught up: %v", err)
			}
		}
		guard.Shutdown(pc)
	})
	return c
}

func TestNamespaceConfig(t *testing.T) {
	for _, ns := range []string{"a%b", "a b", "名"} {
		_, err := gateway.New(gateway.Config{NameServer: []string{"127.0.0.1:9876"}, ParentTopics: parents, Namespace: ns})
		if !errors.Is(err, gateway.ErrConfig) {
			t.Errorf("New(Namespace %q) = %v; want ErrConfig", ns, err)
		}
	}
}
