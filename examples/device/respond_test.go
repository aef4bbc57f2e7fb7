package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
	"github.com/mqttrmq/mqttrmq/internal/gatewaytest"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// TestRespond: with -respond the device answers a backend's request on the
// request's response topic with its correlation data; the answer comes
// back through the gateway and RocketMQ, where the backend finds it by the
// correlation data. A message without a response topic is no request and
// gets no answer.
func TestRespond(t *testing.T) {
	srv := rocketmqtest.NewServer(t)
	if err := srv.CreateTopic("vehicles", 4); err != nil {
		t.Fatal(err)
	}
	g := gatewaytest.Start(t, srv, gateway.Config{ParentTopics: []string{"vehicles"}})

	// The backend: a consumer of the devices' messages, and a producer.
	var mu sync.Mutex
	var answers []mqttrmq.Publish
	arrived := make(chan struct{}, 10)
	var guard rocketmqtest.ConsumerGuard
	c, err := rocketmq.NewPushConsumer(consumer.WithNameServer([]string{srv.Addr()}), consumer.WithGroupName("respond-test-replies"),
		consumer.WithInstance("respond-test-consumer"), consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset), consumer.WithStrategy(guard.Strategy(nil)))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Subscribe("vehicles", consumer.MessageSelector{Type: consumer.TAG, Expression: gateway.UplinkTag},
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			for _, m := range msgs {
				if p, err := mqttrmq.FromRocketMQ(m.Topic, m, m.Body); err == nil {
					mu.Lock()
					answers = append(answers, p)
					mu.Unlock()
					arrived <- struct{}{}
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
	defer guard.Shutdown(c)
	p, err := rocketmq.NewProducer(producer.WithNameServer([]string{srv.Addr()}), producer.WithGroupName("respond-test"), producer.WithInstanceName("respond-test-producer"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown()

	var out gatewaytest.Output
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), &out, []string{"-broker", "tcp://" + g.Addr(), "-client", "GID_vehicle@@@car1",
			"-respond", "-reply", "parked, says {client}, to {request}", "-expect", "1", "-wait", "20s"})
	}()
	out.WaitFor(t, regexp.MustCompile(`connected to \S+ as GID_vehicle@@@car1 \(MQTT 5\), answering requests`))

	send := func(body string, request bool) {
		t.Helper()
		m := primitive.NewMessage("vehicles", []byte(body))
		m.WithTag(mqttrmq.TagToMQTT)
		errs := []error{mqttrmq.SetP2P(m, "GID_vehicle@@@car1")}
		if request {
			errs = append(errs, mqttrmq.SetResponseTopic(m, "vehicles/replies/test"), mqttrmq.SetCorrelationData(m, []byte{0xca, 0xfe, 0}))
		}
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		if r, err := p.SendSync(ctx, m); err != nil || r.Status != primitive.SendOK {
			t.Fatalf("send: %v, %v", r, err)
		}
	}
	// The two go to different queues, which the gateway routes each in
	// its own order: the request goes only once the device has the first,
	// so that the device does not answer and stop before it.
	send("hello", false)
	out.WaitFor(t, regexp.MustCompile(`hello \(P2P\), not a request`))
	send("status?", true)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("device: %v\n%s", err, out.String())
		}
	case <-time.After(deadline):
		t.Fatalf("the device answered nothing:\n%s", out.String())
	}
	select {
	case <-arrived:
	case <-time.After(deadline):
		t.Fatalf("the backend read no answer; the device said:\n%s", out.String())
	}
	mu.Lock()
	a := answers[0]
	mu.Unlock()
	if a.Topic != "vehicles/replies/test" || a.ClientID != "GID_vehicle@@@car1" || !bytes.Equal(a.CorrelationData, []byte{0xca, 0xfe, 0}) ||
		string(a.Payload) != "parked, says GID_vehicle@@@car1, to status?" {
		t.Errorf("the backend read %+v; want the answer with the request's correlation data", a)
	}
	for _, want := range []string{
		"← vehicles/p2p/GID_vehicle@@@car1 qos 1: hello (P2P), not a request: no response topic\n",
		"← vehicles/p2p/GID_vehicle@@@car1 qos 1: status? (P2P), a request: answer on vehicles/replies/test, correlation cafe00\n",
		"→ vehicles/replies/test qos 1: parked, says GID_vehicle@@@car1, to status? (the answer, correlation cafe00)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
