package rocketmqtest_test

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// deadline bounds every wait in these tests. It is a failure deadline, not
// an expectation: a healthy run finishes far sooner.
const deadline = 30 * time.Second

var clientSeq atomic.Int64

// uniqueName makes a client instance, group or topic name for the running
// test. rocketmq-client-go shares one client per instance name in a process,
// so every producer and consumer in these tests gets its own.
func uniqueName(t testing.TB, kind string) string {
	n := regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(t.Name(), "_")
	if len(n) > 60 {
		n = n[:60]
	}
	return fmt.Sprintf("%s_%s_%d", kind, n, clientSeq.Add(1))
}

func ctxWithDeadline(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	t.Cleanup(cancel)
	return ctx
}

// startProducer starts a real rocketmq-client-go producer against s and shuts
// it down when the test ends.
func startProducer(t testing.TB, s *rocketmqtest.Server, opts ...producer.Option) rocketmq.Producer {
	t.Helper()
	all := append([]producer.Option{
		producer.WithNameServer(primitive.NamesrvAddr{s.Addr()}),
		producer.WithGroupName(uniqueName(t, "PG")),
		producer.WithInstanceName(uniqueName(t, "P")),
	}, opts...)
	p, err := rocketmq.NewProducer(all...)
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("producer Start: %v", err)
	}
	t.Cleanup(func() { p.Shutdown() })
	return p
}

// startPushConsumer subscribes a real push consumer of group to topic,
// handing every message to f, and starts it.
func startPushConsumer(t testing.TB, s *rocketmqtest.Server, group, topic string, sel consumer.MessageSelector,
	f func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error), opts ...consumer.Option) rocketmq.PushConsumer {
	t.Helper()
	all := append([]consumer.Option{
		consumer.WithNameServer(primitive.NamesrvAddr{s.Addr()}),
		consumer.WithGroupName(group),
		consumer.WithInstance(uniqueName(t, "C")),
	}, opts...)
	c, err := rocketmq.NewPushConsumer(all...)
	if err != nil {
		t.Fatalf("NewPushConsumer: %v", err)
	}
	if err := c.Subscribe(topic, sel, f); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("consumer Start: %v", err)
	}
	t.Cleanup(func() { c.Shutdown() })
	return c
}

// collector gathers consumed messages and lets a test wait for them.
type collector struct {
	mu   sync.Mutex
	msgs []*primitive.MessageExt
	ch   chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1)} }

func (c *collector) consume(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	c.mu.Lock()
	c.msgs = append(c.msgs, msgs...)
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
	return consumer.ConsumeSuccess, nil
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

func (c *collector) all() []*primitive.MessageExt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*primitive.MessageExt(nil), c.msgs...)
}

// waitFor waits until the collector holds at least n messages, failing the
// test at the deadline.
func (c *collector) waitFor(t testing.TB, n int) []*primitive.MessageExt {
	t.Helper()
	timeout := time.After(deadline)
	for {
		if c.count() >= n {
			return c.all()
		}
		select {
		case <-c.ch:
		case <-time.After(20 * time.Millisecond):
		case <-timeout:
			t.Fatalf("received %d messages, want %d", c.count(), n)
		}
	}
}

// waitUntil polls cond until it holds, failing the test at the deadline.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	timeout := time.After(deadline)
	for !cond() {
		select {
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func mustSend(t testing.TB, p rocketmq.Producer, msgs ...*primitive.Message) *primitive.SendResult {
	t.Helper()
	res, err := p.SendSync(ctxWithDeadline(t), msgs...)
	if err != nil {
		t.Fatalf("SendSync: %v", err)
	}
	if res.Status != primitive.SendOK {
		t.Fatalf("SendSync status = %v; want SendOK", res.Status)
	}
	return res
}
