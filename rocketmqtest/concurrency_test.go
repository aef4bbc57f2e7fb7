package rocketmqtest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// Many producers and consumers at once, on one server: every message
// reaches every group that should have it, once.
func TestManyProducersAndConsumers(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	const queues = 4
	orders, events := newTopic(t, s, queues), newTopic(t, s, queues)

	// Group A: three clustering consumers of orders. Group B: one consumer
	// of events. Group C: two broadcasting consumers of orders.
	groupA, groupB, groupC := uniqueName(t, "GA"), uniqueName(t, "GB"), uniqueName(t, "GC")
	colA := newCollector()
	for range 3 {
		startPushConsumer(t, s, groupA, orders, consumer.MessageSelector{}, colA.consume)
	}
	colB := newCollector()
	startPushConsumer(t, s, groupB, events, consumer.MessageSelector{}, colB.consume)
	colC := []*collector{newCollector(), newCollector()}
	for _, c := range colC {
		startPushConsumer(t, s, groupC, orders, consumer.MessageSelector{}, c.consume,
			consumer.WithConsumerModel(consumer.BroadCasting))
	}

	const producers, perProducer = 4, 50
	var wg sync.WaitGroup
	for i := range producers {
		p := startProducer(t, s)
		for half, topic := range []string{orders, events} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range perProducer {
					body := fmt.Appendf(nil, "p%d-%d-%d", i, half, j)
					if j%2 == 0 {
						if _, err := p.SendSync(context.Background(), primitive.NewMessage(topic, body)); err != nil {
							t.Errorf("SendSync: %v", err)
						}
						continue
					}
					done := make(chan struct{})
					err := p.SendAsync(context.Background(), func(_ context.Context, _ *primitive.SendResult, err error) {
						if err != nil {
							t.Errorf("SendAsync callback: %v", err)
						}
						close(done)
					}, primitive.NewMessage(topic, body))
					if err != nil {
						t.Errorf("SendAsync: %v", err)
						continue
					}
					<-done
				}
			}()
		}
	}
	wg.Wait()

	const each = producers * perProducer
	distinct := func(name string, c *collector) {
		t.Helper()
		msgs := c.waitFor(t, each)
		seen := map[string]bool{}
		for _, m := range msgs {
			if seen[string(m.Body)] {
				t.Errorf("%s received %s twice", name, m.Body)
			}
			seen[string(m.Body)] = true
		}
		if len(seen) != each {
			t.Errorf("%s received %d distinct messages; want %d", name, len(seen), each)
		}
	}
	distinct("group A", colA)
	distinct("group B", colB)
	for i, c := range colC {
		distinct(fmt.Sprintf("broadcasting consumer %d", i), c)
	}
	if n := len(s.Messages(orders)) + len(s.Messages(events)); n != 2*each {
		t.Errorf("%d messages stored; want %d", n, 2*each)
	}
}
