package rocketmqtest_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// A producer and a push consumer of rocketmq-client-go, unmodified, talk to
// the in-process server.
func Example() {
	s, err := rocketmqtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateTopic("Orders", 4); err != nil {
		log.Fatal(err)
	}
	ns := primitive.NamesrvAddr{s.Addr()}

	received := make(chan *primitive.MessageExt, 1)
	var guard rocketmqtest.ConsumerGuard
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer(ns),
		consumer.WithGroupName("example_group"),
		consumer.WithInstance("example_consumer"),
		consumer.WithStrategy(guard.Strategy(nil)),
	)
	if err != nil {
		log.Fatal(err)
	}
	err = c.Subscribe("Orders", consumer.MessageSelector{Type: consumer.TAG, Expression: "created"},
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			for _, m := range msgs {
				received <- m
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Start(); err != nil {
		log.Fatal(err)
	}
	defer guard.Shutdown(c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.WaitForConsumers(ctx, "example_group", 1); err != nil {
		log.Fatal(err)
	}

	p, err := rocketmq.NewProducer(
		producer.WithNameServer(ns),
		producer.WithGroupName("example_producer"),
		producer.WithInstanceName("example_producer"),
	)
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown()
	msg := primitive.NewMessage("Orders", []byte("order #1"))
	msg.WithTag("created")
	msg.WithProperty("customer", "c-42")
	res, err := p.SendSync(ctx, msg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent:", res.Status == primitive.SendOK)

	select {
	case m := <-received:
		fmt.Printf("received: %s, tag %s, customer %s\n", m.Body, m.GetTags(), m.GetProperty("customer"))
	case <-ctx.Done():
		log.Fatal("nothing received")
	}
	fmt.Println("stored:", len(s.Messages("Orders")))
	// Before the deferred Shutdown: every pull of the group waits at the
	// server with nothing to deliver.
	if err := s.WaitForCaughtUp(ctx, "example_group"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("caught up")
	// Output:
	// sent: true
	// received: order #1, tag created, customer c-42
	// stored: 1
	// caught up
}

// A message dispatched to a Light Message Queue by INNER_MULTI_DISPATCH,
// read back by offset with rocketmq-client-go's pull consumer; Pulled
// counts what the group's pulls returned.
func ExampleServer_Pulled() {
	s, err := rocketmqtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateTopic("Telemetry", 1); err != nil {
		log.Fatal(err)
	}
	ns := primitive.NamesrvAddr{s.Addr()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	p, err := rocketmq.NewProducer(producer.WithNameServer(ns), producer.WithInstanceName("telemetry_producer"))
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown()
	msg := primitive.NewMessage("Telemetry", []byte("21.5 °C"))
	msg.WithProperty("INNER_MULTI_DISPATCH", "%LMQ%inbox-1,%LMQ%inbox-2")
	if _, err := p.SendSync(ctx, msg); err != nil {
		log.Fatal(err)
	}

	pc, err := rocketmq.NewPullConsumer(consumer.WithNameServer(ns),
		consumer.WithGroupName("inbox_reader"), consumer.WithInstance("inbox_reader"))
	if err != nil {
		log.Fatal(err)
	}
	// The client starts only with a topic the name server routes, which a
	// Light Message Queue never is: assign no queues of an ordinary one.
	if err := pc.Assign("Telemetry", nil); err != nil {
		log.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		log.Fatal(err)
	}
	defer pc.Shutdown()
	inbox := &primitive.MessageQueue{Topic: "%LMQ%inbox-2", BrokerName: rocketmqtest.BrokerName, QueueId: 0}
	r, err := pc.PullFrom(ctx, inbox, 0, 32)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range r.GetMessageExts() {
		fmt.Printf("%s, sent to %s, at offsets %s\n", m.Body, m.Topic, m.GetProperty("INNER_MULTI_QUEUE_OFFSET"))
	}
	fmt.Println("pulled:", s.Pulled("inbox_reader"))
	// Output:
	// 21.5 °C, sent to Telemetry, at offsets 0,0
	// pulled: 1
}
