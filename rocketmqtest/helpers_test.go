package rocketmqtest_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
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

// clientSet holds the clients a test started, and shuts them down when the
// test ends, consumers first.
type clientSet struct {
	mu        sync.Mutex
	consumers []*pushClient
	producers []rocketmq.Producer
	members   map[string]int // group -> consumers started and not stopped
}

var testClients sync.Map // testing.TB -> *clientSet

func clientsOf(t testing.TB) *clientSet {
	v, loaded := testClients.LoadOrStore(t, &clientSet{members: map[string]int{}})
	cs := v.(*clientSet)
	if !loaded {
		t.Cleanup(func() {
			cs.shutdown()
			testClients.Delete(t)
		})
	}
	return cs
}

// shutdown stops the test's clients. It first waits until every consumer
// has received every message (see drain). Every consumer is suspended
// before any is shut down, so that none rebalances when another leaves;
// each then shuts down through its ConsumerGuard (see
// rocketmqtest.ConsumerGuard).
func (cs *clientSet) shutdown() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, c := range cs.consumers {
		if !c.stopped {
			c.drain()
		}
	}
	for _, c := range cs.consumers {
		c.Suspend()
	}
	for i := len(cs.consumers) - 1; i >= 0; i-- {
		c := cs.consumers[i]
		c.guard.Shutdown(c.PushConsumer)
	}
	for _, p := range cs.producers {
		p.Shutdown()
	}
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
	cs := clientsOf(t)
	cs.mu.Lock()
	cs.producers = append(cs.producers, p)
	cs.mu.Unlock()
	return p
}

// pushClient is a started push consumer and what the test knows about it.
type pushClient struct {
	rocketmq.PushConsumer
	t        testing.TB
	s        *rocketmqtest.Server
	group    string
	instance string
	guard    rocketmqtest.ConsumerGuard

	mu      sync.Mutex
	alloc   map[string][]int // topic -> queue IDs of the last rebalance
	stopped bool             // guarded by the clientSet's mu
}

// record is the consumer's allocation strategy: the client's default, with
// the result recorded for the test to inspect.
func (c *pushClient) record(group, cid string, mqAll []*primitive.MessageQueue, cidAll []string) []*primitive.MessageQueue {
	res := consumer.AllocateByAveragely(group, cid, mqAll, cidAll)
	if len(mqAll) > 0 {
		ids := make([]int, 0, len(res))
		for _, mq := range res {
			ids = append(ids, mq.QueueId)
		}
		c.mu.Lock()
		c.alloc[mqAll[0].Topic] = ids
		c.mu.Unlock()
	}
	return res
}

// allocated returns the queues of topic the consumer's last rebalance gave it.
func (c *pushClient) allocated(topic string) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.alloc[topic])
}

// stop shuts the consumer down mid-test, as the end of the test would.
func (c *pushClient) stop() {
	c.drain()
	cs := clientsOf(c.t)
	cs.mu.Lock()
	cs.members[c.group]--
	c.stopped = true
	cs.mu.Unlock()
	c.guard.Shutdown(c.PushConsumer)
}

// drain waits until the consumer's group has received every stored message
// and its pulls wait for more, so that no pull is answered while the
// consumer shuts down: rocketmq-client-go's Shutdown closes a channel that
// such an answer is still sent on, which -race reports. A test that has
// already failed does not wait.
func (c *pushClient) drain() {
	if c.t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := c.s.WaitForCaughtUp(ctx, c.group); err != nil {
		c.t.Errorf("before shutting consumer %s down: %v", c.instance, err)
	}
}

// settleGroup waits until the test's consumers of group pull the queues
// that are theirs.
func settleGroup(t testing.TB, s *rocketmqtest.Server, group string) {
	t.Helper()
	cs := clientsOf(t)
	cs.mu.Lock()
	n := cs.members[group]
	cs.mu.Unlock()
	if err := s.WaitForConsumers(ctxWithDeadline(t), group, n); err != nil {
		t.Fatal(err)
	}
}

// startPushConsumer subscribes a real push consumer of group to topic,
// handing every message to f, starts it and waits until the group has
// settled.
func startPushConsumer(t testing.TB, s *rocketmqtest.Server, group, topic string, sel consumer.MessageSelector,
	f func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error), opts ...consumer.Option) *pushClient {
	t.Helper()
	c := &pushClient{t: t, s: s, group: group, instance: uniqueName(t, "C"), alloc: map[string][]int{}}
	all := append([]consumer.Option{
		consumer.WithNameServer(primitive.NamesrvAddr{s.Addr()}),
		consumer.WithGroupName(group),
		consumer.WithInstance(c.instance),
		consumer.WithStrategy(c.guard.Strategy(c.record)),
	}, opts...)
	pc, err := consumer.NewPushConsumer(all...)
	if err != nil {
		t.Fatalf("NewPushConsumer: %v", err)
	}
	c.PushConsumer = pc
	if err := c.Subscribe(topic, sel, f); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("consumer Start: %v", err)
	}
	cs := clientsOf(t)
	cs.mu.Lock()
	cs.consumers = append(cs.consumers, c)
	cs.members[group]++
	cs.mu.Unlock()
	settleGroup(t, s, group)
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
