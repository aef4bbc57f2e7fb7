package remoting_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/mqttrmq/mqttrmq/internal/realrocketmq"
	"github.com/mqttrmq/mqttrmq/internal/remoting"
	"github.com/mqttrmq/mqttrmq/internal/testenv"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

func TestMain(m *testing.M) {
	rlog.SetLogLevel("fatal")
	testenv.Main(m)
}

func send(t *testing.T, namesrv, topic string, n int) {
	t.Helper()
	p, err := rocketmq.NewProducer(producer.WithNameServer([]string{namesrv}), producer.WithGroupName("remoting-test"),
		producer.WithInstanceName(fmt.Sprintf("remoting-test-%d", time.Now().UnixNano())),
		producer.WithQueueSelector(firstQueue{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown()
	for i := range n {
		m := primitive.NewMessage(topic, []byte(fmt.Sprint(i)))
		if _, err := p.SendSync(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
}

// firstQueue sends every message to a topic's first queue.
type firstQueue struct{}

func (firstQueue) Select(_ *primitive.Message, mqs []*primitive.MessageQueue, _ string) *primitive.MessageQueue {
	return mqs[0]
}

// TestPullAndOffsets: a route, pulls from chosen offsets, a long poll
// answered by a message sent meanwhile while other requests go on, a
// search by time, and a consumer offset committed and read back; on
// rocketmqtest and on a real broker.
func TestPullAndOffsets(t *testing.T) {
	t.Run("rocketmqtest", func(t *testing.T) {
		s := rocketmqtest.NewServer(t)
		if err := s.CreateTopic("remoting_test", 1); err != nil {
			t.Fatal(err)
		}
		pullAndOffsets(t, s.Addr())
	})
	t.Run("rocketmq", func(t *testing.T) {
		b := realrocketmq.Connect(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.ResetTopic(ctx, "remoting_test", 1); err != nil {
			t.Fatal(err)
		}
		pullAndOffsets(t, b.NameServer)
	})
}

func pullAndOffsets(t *testing.T, namesrv string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	group := fmt.Sprintf("remoting-test-%d", time.Now().UnixNano())
	ns := remoting.NewConn(namesrv, primitive.Credentials{})
	defer ns.Close()
	route, err := remoting.GetRoute(ctx, ns, "remoting_test")
	if err != nil || len(route.Brokers) != 1 {
		t.Fatalf("route = %+v, %v", route, err)
	}
	var addr string
	for _, a := range route.Brokers {
		addr = a
	}
	br := remoting.NewConn(addr, primitive.Credentials{})
	defer br.Close()

	before := time.Now()
	send(t, namesrv, "remoting_test", 3)
	res := pullUntil(ctx, t, br, group, "remoting_test", 0, 1, 2)
	if len(res.Messages) != 2 || string(res.Messages[0].Body) != "1" || res.Next != 3 {
		t.Fatalf("pull from 1 = %+v", res)
	}
	if max, err := remoting.MaxOffset(ctx, br, "remoting_test", 0); err != nil || max != 3 {
		t.Errorf("MaxOffset = %d, %v", max, err)
	}
	if off, err := remoting.SearchOffset(ctx, br, "remoting_test", 0, before); err != nil || off != 0 {
		t.Errorf("SearchOffset(before) = %d, %v", off, err)
	}

	// A long poll, and meanwhile the other requests are answered.
	done := make(chan remoting.PullResult, 1)
	go func() {
		r, err := remoting.Pull(ctx, br, group, "remoting_test", 0, 3, 10, 20*time.Second)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	// Before a commit: none (rocketmqtest), or 0 for a queue that still
	// holds its first message (the real broker, which answers so).
	if off, ok, err := remoting.ConsumerOffset(ctx, br, group, "remoting_test", 0); err != nil || ok && off != 0 {
		t.Errorf("ConsumerOffset before a commit = %d, %v, %v", off, ok, err)
	}
	if err := remoting.CommitOffset(ctx, br, group, "remoting_test", 0, 2); err != nil {
		t.Fatal(err)
	}
	if off, ok, err := remoting.ConsumerOffset(ctx, br, group, "remoting_test", 0); err != nil || !ok || off != 2 {
		t.Errorf("ConsumerOffset = %d, %v, %v", off, ok, err)
	}
	send(t, namesrv, "remoting_test", 1)
	select {
	case r := <-done:
		if len(r.Messages) != 1 || string(r.Messages[0].Body) != "0" || r.Next != 4 {
			t.Errorf("long poll = %+v", r)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the long poll was never answered")
	}
}

// pullUntil pulls queue from offset until it answers want messages or
// more, or ctx ends, and returns the last answer: a broker makes what it
// stored readable once it has dispatched it to the queue, a moment after
// it answered the send (Apache RocketMQ's reput runs apart from the
// send, and lags under load).
func pullUntil(ctx context.Context, t *testing.T, br *remoting.Conn, group, topic string, queue int, offset int64, want int) remoting.PullResult {
	t.Helper()
	for {
		r, err := remoting.Pull(ctx, br, group, topic, queue, offset, 32, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Messages) >= want {
			return r
		}
		select {
		case <-ctx.Done():
			return r
		case <-time.After(20 * time.Millisecond):
		}
	}
}
