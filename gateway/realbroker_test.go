package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq/internal/realrocketmq"
)

// realRocketMQ is a real Apache RocketMQ as an end-to-end test's
// RocketMQ. The broker outlives the test, so the test gets fresh parent
// topics (deleted and created again, empty), and sees of every other topic
// only what was stored after it began.
type realRocketMQ struct {
	t        *testing.T
	b        *realrocketmq.Broker
	baseline map[string]map[int]int64 // topic → queue → max offset when the test began
}

// newRealRocketMQ connects to the real broker, or skips the test saying
// how to run it (fails, under MQTTRMQ_REQUIRE_ROCKETMQ).
func newRealRocketMQ(t *testing.T) *realRocketMQ {
	t.Helper()
	b := realrocketmq.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	for _, p := range parents {
		if err := b.ResetTopic(ctx, p, 4); err != nil {
			t.Fatal(err)
		}
	}
	s := &realRocketMQ{t: t, b: b, baseline: map[string]map[int]int64{}}
	topics, err := b.Topics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range topics {
		if offs, ok := s.maxOffsets(ctx, topic); ok {
			s.baseline[topic] = offs
		}
	}
	return s
}

// maxOffsets returns the max offset of each of topic's queues; ok is
// false for a topic the broker does not serve (a system topic of another
// kind, a topic being deleted).
func (s *realRocketMQ) maxOffsets(ctx context.Context, topic string) (map[int]int64, bool) {
	n, err := s.b.RouteQueues(ctx, topic)
	if err != nil || n == 0 {
		return nil, false
	}
	offs := map[int]int64{}
	for q := range n {
		off, err := s.b.MaxOffset(ctx, topic, q)
		if err != nil {
			return nil, false
		}
		offs[q] = off
	}
	return offs, true
}

// Addr is the name server's address.
func (s *realRocketMQ) Addr() string { return s.b.NameServer }

// Consumers lists the group's members the broker knows.
func (s *realRocketMQ) Consumers(group string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	ids, err := s.b.Consumers(ctx, group)
	if err != nil {
		s.t.Logf("consumers of %s: %v", group, err)
	}
	return ids
}

// WaitForCaughtUp waits until group has committed every queue's max
// offset: its members consumed everything, and their pulls wait.
func (s *realRocketMQ) WaitForCaughtUp(ctx context.Context, group string) error {
	return s.b.WaitForCaughtUp(ctx, group)
}

// Messages returns what was stored in topic since the test began.
func (s *realRocketMQ) Messages(topic string) []*primitive.MessageExt {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	msgs, err := s.b.Messages(ctx, topic, s.baseline[topic])
	if err != nil {
		s.t.Logf("messages of %s: %v", topic, err)
	}
	return msgs
}

// Topics lists the topics that grew since the test began.
func (s *realRocketMQ) Topics() []string {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	all, err := s.b.Topics(ctx)
	if err != nil {
		s.t.Errorf("topics: %v", err)
		return nil
	}
	var grown []string
	for _, topic := range all {
		offs, ok := s.maxOffsets(ctx, topic)
		if !ok {
			continue
		}
		for q, off := range offs {
			if off > s.baseline[topic][q] {
				grown = append(grown, topic)
				break
			}
		}
	}
	return grown
}

// faults: the broker process stopped (SIGSTOP) for longer than the
// gateway's send timeout, then resumed; then killed (SIGKILL) and started
// again on its store, while the devices publish, slowly enough that the
// faults fall among their messages.
func (s *realRocketMQ) faults(t *testing.T) (time.Duration, func()) {
	proc := s.b.Process(t)
	return 60 * time.Millisecond, func() {
		time.Sleep(time.Second)
		if err := proc.Pause(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond) // the send timeout is 1 s
		if err := proc.Resume(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		if err := proc.Kill(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		start := time.Now()
		if err := proc.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("the broker was paused for 2.5 s, then killed; it took %v to start again", time.Since(start).Round(time.Millisecond))
	}
}
