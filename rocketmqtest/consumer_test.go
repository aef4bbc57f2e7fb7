package rocketmqtest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

func sendN(t testing.TB, p rocketmq.Producer, topic, prefix string, n int) {
	t.Helper()
	for i := range n {
		mustSend(t, p, primitive.NewMessage(topic, fmt.Appendf(nil, "%s-%d", prefix, i)))
	}
}

func bodies(msgs []*primitive.MessageExt) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, string(m.Body))
	}
	slices.Sort(out)
	return out
}

func newTopic(t testing.TB, s *rocketmqtest.Server, queues int) string {
	t.Helper()
	topic := uniqueName(t, "T")
	if err := s.CreateTopic(topic, queues); err != nil {
		t.Fatal(err)
	}
	return topic
}

var fromFirst = consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset)

// Two consumers of one group split the topic's queues. The first learns of
// the second through NOTIFY_CONSUMER_IDS_CHANGED, not its 20 s timer.
func TestClusteringSplitsQueues(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := newTopic(t, s, 4)
	group := uniqueName(t, "G")
	colA, colB := newCollector(), newCollector()
	a := startPushConsumer(t, s, group, topic, consumer.MessageSelector{}, colA.consume)
	if got := a.allocated(topic); len(got) != 4 {
		t.Fatalf("a lone consumer was given queues %v; want all 4", got)
	}
	b := startPushConsumer(t, s, group, topic, consumer.MessageSelector{}, colB.consume)

	// The client's own rebalance timer fires every 20 s; this failure
	// deadline is shorter, so passing shows the notification did the work.
	timeout := time.After(15 * time.Second)
	for len(a.allocated(topic)) != 2 {
		select {
		case <-timeout:
			t.Fatalf("consumer a still has queues %v; the notification did not make it rebalance", a.allocated(topic))
		case <-time.After(10 * time.Millisecond):
		}
	}
	qa, qb := a.allocated(topic), b.allocated(topic)
	if all := slices.Sorted(slices.Values(append(slices.Clone(qa), qb...))); !slices.Equal(all, []int{0, 1, 2, 3}) {
		t.Fatalf("queues a=%v b=%v; want the four split between them", qa, qb)
	}
	if ids := s.Consumers(group); len(ids) != 2 {
		t.Errorf("Consumers(%s) = %v; want two members", group, ids)
	}

	p := startProducer(t, s)
	sendN(t, p, topic, "m", 40)
	waitUntil(t, "40 messages consumed", func() bool { return colA.count()+colB.count() >= 40 })
	seen := map[string]string{}
	for name, c := range map[string]*collector{"a": colA, "b": colB} {
		mine := qa
		if name == "b" {
			mine = qb
		}
		msgs := c.all()
		if len(msgs) == 0 {
			t.Errorf("consumer %s received nothing", name)
		}
		for _, m := range msgs {
			if !slices.Contains(mine, m.Queue.QueueId) {
				t.Errorf("consumer %s received a message of queue %d; its queues are %v", name, m.Queue.QueueId, mine)
			}
			if other, dup := seen[m.MsgId]; dup {
				t.Errorf("message %s delivered to %s and %s", m.Body, other, name)
			}
			seen[m.MsgId] = name
		}
	}
	if len(seen) != 40 {
		t.Errorf("%d distinct messages consumed; want 40", len(seen))
	}
}

// A group's committed offsets outlive its consumers: a new consumer of the
// group resumes where the last one stopped.
func TestOffsetsCommittedAndQueried(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := newTopic(t, s, 2)
	group := uniqueName(t, "G")
	p := startProducer(t, s)
	sendN(t, p, topic, "old", 10)

	col := newCollector()
	c1 := startPushConsumer(t, s, group, topic, consumer.MessageSelector{}, col.consume, fromFirst)
	col.waitFor(t, 10)
	c1.stop() // persists the offsets
	waitUntil(t, "offsets committed", func() bool {
		for q := range 2 {
			off, ok := s.ConsumerOffset(group, topic, q)
			if !ok || off != s.MaxOffset(topic, q) {
				return false
			}
		}
		return true
	})

	sendN(t, p, topic, "new", 5)
	col2 := newCollector()
	startPushConsumer(t, s, group, topic, consumer.MessageSelector{}, col2.consume, fromFirst)
	for _, m := range col2.waitFor(t, 5) {
		if !strings.HasPrefix(string(m.Body), "new-") {
			t.Errorf("the second consumer received %s; it should resume after the committed offsets", m.Body)
		}
	}
	if s.Requests(rocketmqtest.QueryConsumerOffset) == 0 || s.Requests(rocketmqtest.UpdateConsumerOffset) == 0 {
		t.Errorf("QUERY_CONSUMER_OFFSET %d, UPDATE_CONSUMER_OFFSET %d requests; want both used",
			s.Requests(rocketmqtest.QueryConsumerOffset), s.Requests(rocketmqtest.UpdateConsumerOffset))
	}
}

// PullOffset is a consumer's position: it moves as the client receives
// messages, before its handler is done with them and before it commits
// them. WaitForCaughtUp returns once the consumer has received everything.
func TestPullOffsetFollowsConsumer(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := newTopic(t, s, 4)
	group := uniqueName(t, "G")
	release := make(chan struct{})
	var handled atomic.Int64
	startPushConsumer(t, s, group, topic, consumer.MessageSelector{},
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			<-release
			handled.Add(int64(len(msgs)))
			return consumer.ConsumeSuccess, nil
		}, fromFirst)
	for q := range 4 {
		if off, ok := s.PullOffset(group, topic, q); !ok || off != 0 {
			t.Errorf("PullOffset(queue %d) of a new consumer = %d, %v; want 0, true", q, off, ok)
		}
	}
	p := startProducer(t, s)
	sendN(t, p, topic, "m", 40)

	if err := s.WaitForCaughtUp(ctxWithDeadline(t), group); err != nil {
		t.Fatal(err)
	}
	for q := range 4 {
		if off, ok := s.PullOffset(group, topic, q); !ok || off != s.MaxOffset(topic, q) {
			t.Errorf("PullOffset(queue %d) = %d, %v; want MaxOffset %d", q, off, ok, s.MaxOffset(topic, q))
		}
	}
	if n := handled.Load(); n != 0 {
		t.Errorf("%d messages handled while every handler was blocked", n)
	}
	close(release)
	waitUntil(t, "every message handled", func() bool { return handled.Load() == 40 })
}

// A new group starts at the first or the last offset, as it asks.
func TestConsumeFromFirstAndLast(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := newTopic(t, s, 2)
	p := startProducer(t, s)
	sendN(t, p, topic, "old", 4)

	first, last := newCollector(), newCollector()
	startPushConsumer(t, s, uniqueName(t, "G"), topic, consumer.MessageSelector{}, first.consume, fromFirst)
	startPushConsumer(t, s, uniqueName(t, "G"), topic, consumer.MessageSelector{}, last.consume,
		consumer.WithConsumeFromWhere(consumer.ConsumeFromLastOffset))
	sendN(t, p, topic, "new", 4)

	if got, want := bodies(first.waitFor(t, 8)), []string{"new-0", "new-1", "new-2", "new-3", "old-0", "old-1", "old-2", "old-3"}; !slices.Equal(got, want) {
		t.Errorf("CONSUME_FROM_FIRST_OFFSET received %v; want %v", got, want)
	}
	if got, want := bodies(last.waitFor(t, 4)), []string{"new-0", "new-1", "new-2", "new-3"}; !slices.Equal(got, want) {
		t.Errorf("CONSUME_FROM_LAST_OFFSET received %v; want %v", got, want)
	}
}

// WithNewGroupOffsetZero reproduces a real broker on a young topic: a new
// group reads the queues from the start even with CONSUME_FROM_LAST_OFFSET.
func TestNewGroupOffsetZero(t *testing.T) {
	s := rocketmqtest.NewServer(t, rocketmqtest.WithNewGroupOffsetZero())
	topic := newTopic(t, s, 2)
	p := startProducer(t, s)
	sendN(t, p, topic, "old", 4)
	col := newCollector()
	startPushConsumer(t, s, uniqueName(t, "G"), topic, consumer.MessageSelector{}, col.consume,
		consumer.WithConsumeFromWhere(consumer.ConsumeFromLastOffset))
	if got, want := bodies(col.waitFor(t, 4)), []string{"old-0", "old-1", "old-2", "old-3"}; !slices.Equal(got, want) {
		t.Errorf("received %v; want %v", got, want)
	}
}

// ConsumeRetryLater sends the message back; the broker stores it in the
// group's retry topic after a delay level, and the consumer receives it
// again.
func TestConsumeRetryLaterRedelivers(t *testing.T) {
	s := rocketmqtest.NewServer(t, rocketmqtest.WithDelayLevels(20*time.Millisecond))
	topic := newTopic(t, s, 1)
	group := uniqueName(t, "G")

	var mu sync.Mutex
	var deliveries []*primitive.MessageExt
	consume := func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		deliveries = append(deliveries, msgs...)
		if len(deliveries) == 1 {
			return consumer.ConsumeRetryLater, nil
		}
		return consumer.ConsumeSuccess, nil
	}
	startPushConsumer(t, s, group, topic, consumer.MessageSelector{}, consume)
	p := startProducer(t, s)
	m := primitive.NewMessage(topic, []byte("retry me"))
	m.WithTag("T1")
	sent := mustSend(t, p, m)

	waitUntil(t, "the redelivery", func() bool { mu.Lock(); defer mu.Unlock(); return len(deliveries) >= 2 })
	mu.Lock()
	first, again := deliveries[0], deliveries[1]
	mu.Unlock()
	if first.ReconsumeTimes != 0 || again.ReconsumeTimes != 1 {
		t.Errorf("ReconsumeTimes %d then %d; want 0 then 1", first.ReconsumeTimes, again.ReconsumeTimes)
	}
	if again.MsgId != sent.MsgID || string(again.Body) != "retry me" || again.GetTags() != "T1" || again.Topic != topic {
		t.Errorf("redelivered id %s body %q tags %q topic %s; want the original %s %q T1 %s",
			again.MsgId, again.Body, again.GetTags(), again.Topic, sent.MsgID, "retry me", topic)
	}
	if n := s.Requests(rocketmqtest.ConsumerSendMsgBack); n != 1 {
		t.Errorf("Requests(ConsumerSendMsgBack) = %d; want 1", n)
	}
	retry := s.Messages("%RETRY%" + group)
	if len(retry) != 1 {
		t.Fatalf("retry topic holds %d messages; want 1", len(retry))
	}
	r := retry[0]
	if r.GetProperty("RETRY_TOPIC") != topic || r.GetProperty("ORIGIN_MESSAGE_ID") != sent.OffsetMsgID ||
		r.GetProperty("DELAY") != "3" || r.GetProperty("REAL_TOPIC") != "%RETRY%"+group || r.ReconsumeTimes != 1 {
		t.Errorf("retry message: RETRY_TOPIC %q ORIGIN_MESSAGE_ID %q DELAY %q REAL_TOPIC %q reconsume %d",
			r.GetProperty("RETRY_TOPIC"), r.GetProperty("ORIGIN_MESSAGE_ID"), r.GetProperty("DELAY"), r.GetProperty("REAL_TOPIC"), r.ReconsumeTimes)
	}
	if n := len(s.Messages("SCHEDULE_TOPIC_XXXX")); n != 1 {
		t.Errorf("SCHEDULE_TOPIC_XXXX holds %d messages; want the 1 that waited out its delay", n)
	}
}

// A message retried maxReconsumeTimes goes to the group's dead-letter topic.
func TestDeadLetter(t *testing.T) {
	s := rocketmqtest.NewServer(t, rocketmqtest.WithDelayLevels(20*time.Millisecond))
	topic := newTopic(t, s, 1)
	group := uniqueName(t, "G")
	var mu sync.Mutex
	deliveries := 0
	startPushConsumer(t, s, group, topic, consumer.MessageSelector{},
		func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			mu.Lock()
			deliveries++
			mu.Unlock()
			return consumer.ConsumeRetryLater, nil
		}, consumer.WithMaxReconsumeTimes(1))
	p := startProducer(t, s)
	mustSend(t, p, primitive.NewMessage(topic, []byte("poison")))
	waitUntil(t, "the dead letter", func() bool { return len(s.Messages("%DLQ%"+group)) == 1 })
	dlq := s.Messages("%DLQ%" + group)[0]
	if string(dlq.Body) != "poison" || dlq.GetProperty("RETRY_TOPIC") != topic || dlq.ReconsumeTimes != 2 {
		t.Errorf("dead letter body %q RETRY_TOPIC %q reconsume %d; want poison, %s, 2", dlq.Body, dlq.GetProperty("RETRY_TOPIC"), dlq.ReconsumeTimes, topic)
	}
	mu.Lock()
	defer mu.Unlock()
	if deliveries != 2 {
		t.Errorf("consumed %d times; want 2 (the first delivery and one retry)", deliveries)
	}
}

// An idle consumer's pulls are held by the broker, not answered at once:
// over a quiet second it does not pull again.
func TestLongPollingDoesNotSpin(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := newTopic(t, s, 4)
	col := newCollector()
	startPushConsumer(t, s, uniqueName(t, "G"), topic, consumer.MessageSelector{}, col.consume)
	waitUntil(t, "five held pulls", func() bool { return s.HeldPulls() == 5 }) // 4 queues and the retry queue

	before := s.Requests(rocketmqtest.PullMessage)
	time.Sleep(time.Second)
	if n := s.Requests(rocketmqtest.PullMessage) - before; n > 5 {
		t.Errorf("an idle consumer pulled %d times in a second; its pulls are not being held", n)
	}
	if n := s.HeldPulls(); n != 5 {
		t.Errorf("HeldPulls() = %d; want 5", n)
	}

	p := startProducer(t, s)
	mustSend(t, p, primitive.NewMessage(topic, []byte("wake")))
	if got := col.waitFor(t, 1); string(got[0].Body) != "wake" {
		t.Errorf("received %q; want wake", got[0].Body)
	}
}

// Every consumer of a broadcasting group receives every message.
func TestBroadcasting(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := newTopic(t, s, 2)
	group := uniqueName(t, "G")
	cols := []*collector{newCollector(), newCollector()}
	for _, c := range cols {
		startPushConsumer(t, s, group, topic, consumer.MessageSelector{}, c.consume,
			consumer.WithConsumerModel(consumer.BroadCasting))
	}
	p := startProducer(t, s)
	sendN(t, p, topic, "b", 6)
	for i, c := range cols {
		if got := bodies(c.waitFor(t, 6)); len(got) != 6 || got[0] != "b-0" || got[5] != "b-5" {
			t.Errorf("consumer %d received %v; want all six", i, got)
		}
	}
}

// The broker filters by tag: a consumer subscribed to "a || b" receives
// exactly the messages tagged a or b.
func TestTagFiltering(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := newTopic(t, s, 2)
	some, all := newCollector(), newCollector()
	startPushConsumer(t, s, uniqueName(t, "G"), topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "a || b"}, some.consume)
	startPushConsumer(t, s, uniqueName(t, "G"), topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, all.consume)
	p := startProducer(t, s)
	for _, tag := range []string{"a", "b", "c", ""} {
		m := primitive.NewMessage(topic, []byte("tag:"+tag))
		m.WithTag(tag)
		mustSend(t, p, m)
	}
	if got, want := bodies(all.waitFor(t, 4)), []string{"tag:", "tag:a", "tag:b", "tag:c"}; !slices.Equal(got, want) {
		t.Errorf(`"*" received %v; want %v`, got, want)
	}
	if got, want := bodies(some.waitFor(t, 2)), []string{"tag:a", "tag:b"}; !slices.Equal(got, want) {
		t.Errorf(`"a || b" received %v; want %v`, got, want)
	}
}

// A pull consumer reads a queue by offset.
func TestPullConsumerReadsByOffset(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := newTopic(t, s, 1)
	p := startProducer(t, s)
	sendN(t, p, topic, "p", 10)

	pc, err := rocketmq.NewPullConsumer(
		consumer.WithNameServer(primitive.NamesrvAddr{s.Addr()}),
		consumer.WithGroupName(uniqueName(t, "G")),
		consumer.WithInstance(uniqueName(t, "C")),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Assigning no queues keeps the consumer from pulling on its own;
	// PullFrom names the queue.
	if err := pc.Assign(topic, nil); err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	defer pc.Shutdown()
	mq := &primitive.MessageQueue{Topic: topic, BrokerName: rocketmqtest.BrokerName, QueueId: 0}
	ctx := ctxWithDeadline(t)

	res, err := pc.PullFrom(ctx, mq, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != primitive.PullFound || res.NextBeginOffset != 7 || res.MinOffset != 0 || res.MaxOffset != 10 {
		t.Errorf("PullFrom(3, 4) = status %v next %d min %d max %d; want found, 7, 0, 10", res.Status, res.NextBeginOffset, res.MinOffset, res.MaxOffset)
	}
	var got []string
	for _, m := range res.GetMessageExts() {
		got = append(got, fmt.Sprintf("%d:%s", m.QueueOffset, m.Body))
	}
	if want := []string{"3:p-3", "4:p-4", "5:p-5", "6:p-6"}; !slices.Equal(got, want) {
		t.Errorf("PullFrom(3, 4) read %v; want %v", got, want)
	}

	res, err = pc.PullFrom(ctx, mq, 20, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != primitive.PullOffsetIllegal || res.NextBeginOffset != 10 {
		t.Errorf("PullFrom(20) = status %v next %d; want offset illegal, next 10", res.Status, res.NextBeginOffset)
	}

	stored := s.Messages(topic)
	off, err := pc.OffsetForTimestamp(mq, stored[5].StoreTimestamp)
	if err != nil || off > 5 || stored[off].StoreTimestamp != stored[5].StoreTimestamp {
		t.Errorf("OffsetForTimestamp(store time of offset 5) = %d, %v; want the first offset stored at that time", off, err)
	}
}

// TestRejoinUnderSameClientID: a consumer that leaves its group and comes
// back under the same client ID, as a process restarted with a fixed
// instance name does, counts as pulling its queues (WaitForConsumers) and
// as caught up (WaitForCaughtUp) only once it pulls again: what it pulled
// before it left is forgotten.
func TestRejoinUnderSameClientID(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := newTopic(t, s, 4)
	group := uniqueName(t, "G")
	instance := consumer.WithInstance(uniqueName(t, "I"))
	p := startProducer(t, s)
	mustSend(t, p, primitive.NewMessage(topic, []byte("before")))

	first := newCollector()
	c := startPushConsumer(t, s, group, topic, consumer.MessageSelector{}, first.consume, instance, fromFirst)
	first.waitFor(t, 1)
	c.stop()
	waitUntil(t, "the member that left forgotten", func() bool { return len(s.Pullers(group, topic, 0)) == 0 })

	before := s.Requests(rocketmqtest.PullMessage)
	again := newCollector()
	startPushConsumer(t, s, group, topic, consumer.MessageSelector{}, again.consume, instance, fromFirst) // waits with WaitForConsumers
	if pulled := s.Requests(rocketmqtest.PullMessage) - before; pulled < 4 {
		t.Errorf("WaitForConsumers returned after %d pulls by the rejoined member; want one per queue at least", pulled)
	}
	mustSend(t, p, primitive.NewMessage(topic, []byte("after")))
	if err := s.WaitForCaughtUp(ctxWithDeadline(t), group); err != nil {
		t.Fatal(err)
	}
	again.waitFor(t, 1)
}
