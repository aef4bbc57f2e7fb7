package realrocketmq_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/mqttrmq/mqttrmq/internal/consumerguard"
	"github.com/mqttrmq/mqttrmq/internal/realrocketmq"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

func send(t *testing.T, ns, topic string, bodies ...string) {
	t.Helper()
	p, err := rocketmq.NewProducer(producer.WithNameServer([]string{ns}),
		producer.WithGroupName("p_"+topic), producer.WithInstanceName(fmt.Sprintf("p_%s_%d", topic, time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown()
	for _, body := range bodies {
		if _, err := p.SendSync(context.Background(), primitive.NewMessage(topic, []byte(body))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestResetTopic: a topic deleted and created again starts empty, for the
// inspection and for a new consumer group reading from the first offset,
// which is what gives each test a fresh topic on a shared broker.
func TestResetTopic(t *testing.T) {
	b := realrocketmq.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const topic = "realrocketmq_reset"
	if err := b.ResetTopic(ctx, topic, 2); err != nil {
		t.Fatal(err)
	}
	send(t, b.NameServer, topic, "old1", "old2", "old3")
	msgs, err := b.Messages(ctx, topic, nil)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("Messages = %d messages, %v; want 3", len(msgs), err)
	}
	if err := b.ResetTopic(ctx, topic, 2); err != nil {
		t.Fatal(err)
	}
	send(t, b.NameServer, topic, "new")
	msgs, err = b.Messages(ctx, topic, nil)
	if err != nil || len(msgs) != 1 || string(msgs[0].Body) != "new" {
		t.Fatalf("after the reset, Messages = %v, %v; want the new message alone", msgs, err)
	}

	var guard consumerguard.Guard
	got := make(chan string, 10)
	group := fmt.Sprintf("g_reset_%d", time.Now().UnixNano())
	c, err := rocketmq.NewPushConsumer(consumer.WithNameServer([]string{b.NameServer}), consumer.WithGroupName(group),
		consumer.WithInstance(group), consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		consumer.WithStrategy(guard.Strategy(nil)))
	if err != nil {
		t.Fatal(err)
	}
	c.Subscribe(topic, consumer.MessageSelector{}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			got <- string(m.Body)
		}
		return consumer.ConsumeSuccess, nil
	})
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer guard.Shutdown(c)
	if err := b.WaitForConsumers(ctx, group, 1); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m != "new" {
		t.Errorf("a new group reading from the first offset got %q first; want the new message", m)
	}
	if err := b.WaitForCaughtUp(ctx, group); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		t.Errorf("and then %q", m)
	default:
	}
}

// Request returns the broker's answer whatever its code. Dial reaches any
// name server that answers GET_BROKER_CLUSTER_INFO, rocketmqtest's too, so
// this runs without a real broker.
func TestRequest(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	if err := s.CreateTopic("T", 1); err != nil {
		t.Fatal(err)
	}
	send(t, s.Addr(), "T", "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := realrocketmq.Dial(ctx, s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, err := b.Request(ctx, 30, map[string]string{"topic": "T", "queueId": "0"}) // GET_MAX_OFFSET
	if err != nil || r.Code != 0 || r.Fields["offset"] != "2" {
		t.Errorf("GET_MAX_OFFSET = %+v, %v; want offset 2", r, err)
	}
	r, err = b.Request(ctx, 15, map[string]string{"consumerGroup": "never", "topic": "T", "queueId": "0", "commitOffset": "1"})
	if err != nil || r.Code != 26 || r.Remark != "Group never not exist!" {
		t.Errorf("UPDATE_CONSUMER_OFFSET of an unknown group = %+v, %v; want 26", r, err)
	}
}
