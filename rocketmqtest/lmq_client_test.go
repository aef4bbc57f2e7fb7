package rocketmqtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// startPullConsumer starts a rocketmq-client-go pull consumer of group that
// pulls only what the test asks for with PullFrom. It needs a topic with a
// route to start, which a Light Message Queue never has: it is given one
// and assigned none of its queues, so that it pulls nothing on its own.
func startPullConsumer(t *testing.T, s *rocketmqtest.Server, group, routed string) rocketmq.PullConsumer {
	t.Helper()
	pc, err := consumer.NewPullConsumer(consumer.WithNameServer(primitive.NamesrvAddr{s.Addr()}),
		consumer.WithGroupName(group), consumer.WithInstance(uniqueName(t, "PC")))
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Assign(routed, nil); err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Shutdown() })
	return pc
}

// rocketmq-client-go end to end: a producer's INNER_MULTI_DISPATCH puts a
// message in two Light Message Queues, and a pull consumer reads one by
// offset, as it reads any queue: the messages come with the topic and
// queue offset they were stored with, their offsets in the Light Message
// Queue in INNER_MULTI_QUEUE_OFFSET. Pulled counts what each group read.
func TestLMQWithClient(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	if err := s.CreateTopic("Telemetry", 2); err != nil {
		t.Fatal(err)
	}
	p := startProducer(t, s, producer.WithQueueSelector(producer.NewManualQueueSelector()))
	for i := range 4 {
		m := primitive.NewMessage("Telemetry", []byte(fmt.Sprint("m", i)))
		m.Queue = &primitive.MessageQueue{Topic: "Telemetry", BrokerName: rocketmqtest.BrokerName, QueueId: i % 2}
		m.WithProperty("INNER_MULTI_DISPATCH", "%LMQ%inbox-1,%LMQ%session-"+fmt.Sprint(i%2))
		mustSend(t, p, m)
	}
	if n := s.MaxOffset("%LMQ%inbox-1", 0); n != 4 {
		t.Fatalf("%%LMQ%%inbox-1 holds %d messages; want 4", n)
	}

	group := uniqueName(t, "G")
	pc := startPullConsumer(t, s, group, "Telemetry")
	inbox := &primitive.MessageQueue{Topic: "%LMQ%inbox-1", BrokerName: rocketmqtest.BrokerName, QueueId: 0}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := pc.PullFrom(ctx, inbox, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != primitive.PullFound || r.NextBeginOffset != 4 || r.MaxOffset != 4 || len(r.GetMessageExts()) != 3 {
		t.Fatalf("pull from 1: status %v next %d max %d, %d messages", r.Status, r.NextBeginOffset, r.MaxOffset, len(r.GetMessageExts()))
	}
	for i, m := range r.GetMessageExts() {
		n := i + 1 // sent n-th, to queue n%2 of Telemetry, to session-(n%2) after n/2 others
		got := fmt.Sprintf("%s %s/%d@%d in %s: %s", m.Body, m.Topic, m.Queue.QueueId, m.QueueOffset, m.Queue.Topic,
			m.GetProperty("INNER_MULTI_QUEUE_OFFSET"))
		if want := fmt.Sprintf("m%d Telemetry/0@%d in %s: %d,%d", n, n/2, inbox.Topic, n, n/2); got != want {
			t.Errorf("message %d = %s; want %s", i, got, want)
		}
	}
	if got := s.Pulled(group); got != 3 {
		t.Errorf("Pulled(%s) = %d; want 3", group, got)
	}

	// A push consumer of the topic reads each message once more.
	c := newCollector()
	push := uniqueName(t, "push")
	startPushConsumer(t, s, push, "Telemetry", consumer.MessageSelector{}, c.consume,
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset))
	c.waitFor(t, 4)
	if err := s.WaitForCaughtUp(ctxWithDeadline(t), push); err != nil {
		t.Fatal(err)
	}
	if got, all := s.Pulled(push), s.Pulled(""); got != 4 || all != 7 {
		t.Errorf("Pulled(push) = %d, Pulled(\"\") = %d; want 4 and 7", got, all)
	}
}
