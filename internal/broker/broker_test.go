package broker_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq/internal/broker"
	"github.com/mqttrmq/mqttrmq/internal/testenv"
	"github.com/mqttrmq/mqttrmq/internal/transport"
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.PahoGoroutines()...) }

// loopback routes every publish straight back through the broker, as a
// plain MQTT broker does, so that the core can be tested without RocketMQ.
type loopback struct {
	broker.NopHooks
	srv *broker.Server
}

func (l *loopback) Publish(_ *broker.Client, m *broker.Message, ack func(broker.ReasonCode)) {
	l.srv.Publish(m)
	if ack != nil {
		ack(broker.Success)
	}
}

func start(t *testing.T, opts broker.Options) (*broker.Server, string) {
	t.Helper()
	h := &loopback{}
	opts.Logger = slog.New(slog.DiscardHandler)
	srv := broker.New(opts, h)
	h.srv = srv
	ts, err := transport.Listen(transport.Config{TCP: "127.0.0.1:0", Logger: opts.Logger}, srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); ts.Close() })
	return srv, ts.Addr(transport.TCP)
}

func dial(t *testing.T, addr, id string, clean bool, got chan paho.Message) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(false).SetOrderMatters(true).SetProtocolVersion(4).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m })
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func TestPublishSubscribe(t *testing.T) {
	_, addr := start(t, broker.Options{})
	got := make(chan paho.Message, 100)
	sub := dial(t, addr, "sub", true, got)
	if tok := sub.Subscribe("a/+/c", 2, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	pub := dial(t, addr, "pub", true, make(chan paho.Message, 1))
	for q := byte(0); q <= 2; q++ {
		tok := pub.Publish("a/b/c", q, false, fmt.Sprint("m", q))
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	for q := byte(0); q <= 2; q++ {
		select {
		case m := <-got:
			if string(m.Payload()) != fmt.Sprint("m", q) || m.Qos() != q || m.Topic() != "a/b/c" {
				t.Errorf("got %s %q qos %d", m.Topic(), m.Payload(), m.Qos())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d never arrived", q)
		}
	}
}
