package rocketmqtest_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// The producer retries a send refused with SERVICE_NOT_AVAILABLE, three
// times by default; a fourth refusal reaches the caller. A code it does not retry
// fails the send at once.
func TestRefusedSendsAreRetried(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := newTopic(t, s, 2)
	p := startProducer(t, s)
	sends := func() uint64 { return s.Requests(rocketmqtest.SendMessage) }

	s.RefuseSends(3)
	before := sends()
	mustSend(t, p, primitive.NewMessage(topic, []byte("fourth time lucky")))
	if n := sends() - before; n != 4 {
		t.Errorf("RefuseSends(3): %d send requests; want 4", n)
	}
	if msgs := s.Messages(topic); len(msgs) != 1 {
		t.Errorf("RefuseSends(3): %d messages stored; want 1", len(msgs))
	}

	s.RefuseSends(4)
	_, err := p.SendSync(ctxWithDeadline(t), primitive.NewMessage(topic, []byte("refused")))
	if err == nil || !strings.Contains(err.Error(), "CODE: 14") {
		t.Errorf("RefuseSends(4): SendSync error = %v; want SERVICE_NOT_AVAILABLE (CODE: 14)", err)
	}

	s.RefuseSendsWith(1, rocketmqtest.CodeSystemBusy)
	before = sends()
	_, err = p.SendSync(ctxWithDeadline(t), primitive.NewMessage(topic, []byte("busy")))
	if err == nil || !strings.Contains(err.Error(), "CODE: 2") || sends()-before != 1 {
		t.Errorf("RefuseSendsWith(1, SYSTEM_BUSY): error %v after %d requests; want CODE: 2 after 1", err, sends()-before)
	}
	if msgs := s.Messages(topic); len(msgs) != 1 {
		t.Errorf("%d messages stored; the refused sends must store nothing", len(msgs))
	}
	mustSend(t, p, primitive.NewMessage(topic, []byte("after")))
}

// A paused server answers nothing, so clients time out; after it resumes it
// works through what it read, late (the timed-out send is stored: a
// producer that retried would have stored it twice), and answers new
// requests at once.
func TestPauseCausesTimeoutsThenRecovers(t *testing.T) {
	s := rocketmqtest.NewServer(t)
	topic := newTopic(t, s, 1)
	p := startProducer(t, s, producer.WithSendMsgTimeout(time.Second), producer.WithRetry(0))
	mustSend(t, p, primitive.NewMessage(topic, []byte("before")))

	s.Pause(time.Hour)
	if _, err := p.SendSync(ctxWithDeadline(t), primitive.NewMessage(topic, []byte("during"))); err == nil {
		t.Fatal("SendSync to a paused server succeeded")
	}
	if n := len(s.Messages(topic)); n != 1 {
		t.Fatalf("%d messages stored while paused; want 1", n)
	}
	s.Resume()
	waitUntil(t, "the late send to be stored", func() bool { return len(s.Messages(topic)) == 2 })
	mustSend(t, p, primitive.NewMessage(topic, []byte("after")))
	if got := bodies(s.Messages(topic)); len(got) != 3 || got[0] != "after" || got[1] != "before" || got[2] != "during" {
		t.Errorf("stored %v; want before, during (late) and after", got)
	}
}

// Clients reconnect after the broker drops their connections. A producer's
// next send reconnects at once. A consumer's held pulls are lost with the
// connection: rocketmq-client-go waits out its 30 s pull timeout, and the
// broker has forgotten the consumer until its next heartbeat (every 30 s),
// so consumption resumes within about half a minute, as after a broker
// restart. The wait cannot be shortened from the test: the client fixes
// its pull timeout (see pullTimeout) and its 3 s back-off after a failed
// pull, and fails no pending request when a connection closes.
func TestDroppedConnectionsReconnect(t *testing.T) {
	t.Parallel()
	s := rocketmqtest.NewServer(t)
	topic := newTopic(t, s, 2)
	group := uniqueName(t, "G")
	col := newCollector()
	startPushConsumer(t, s, group, topic, consumer.MessageSelector{}, col.consume)
	p := startProducer(t, s)
	mustSend(t, p, primitive.NewMessage(topic, []byte("before")))
	col.waitFor(t, 1)

	if n := s.DropConnections(); n < 2 {
		t.Fatalf("DropConnections() = %d; want the producer's and the consumer's", n)
	}
	mustSend(t, p, primitive.NewMessage(topic, []byte("after")))

	const reconnect = 75 * time.Second // failure deadline: 30 s pull timeout, 30 s heartbeat, margin
	timeout := time.After(reconnect)
	for col.count() < 2 {
		select {
		case <-timeout:
			t.Fatalf("the consumer did not resume within %v; received %d", reconnect, col.count())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if got := bodies(col.all()); got[0] != "after" || got[1] != "before" {
		t.Errorf("received %v; want before and after", got)
	}
	if len(s.Consumers(group)) != 1 {
		t.Errorf("Consumers(%s) = %v; want the consumer registered again", group, s.Consumers(group))
	}
}

// A producer and a push consumer with one instance name share one
// rocketmq-client-go client, and so one connection to the broker. When a
// SendSync's context expires during a pause, the producer retries with the
// expired context; the client takes the write deadline from it, the write
// fails at once, and the client closes the shared connection without
// failing the requests still waiting on it. The consumer's long polls are
// among them: it waits out the client's fixed 30 s pull timeout before it
// pulls again (and, if its heartbeat went down with the connection, its
// next rebalance), although the server answered everything once the pause
// ended. With an instance name each, only the producer's connection is
// closed and the consumer catches up as soon as the pause ends. The server
// does the same in both cases: this documents the client, and the README's
// notes warn about it.
func TestTimedOutSendOnSharedClientStallsConsumer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		shared bool
	}{
		{"own instance names", false},
		{"one instance name", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.shared {
				t.Parallel() // slow: alongside TestDroppedConnectionsReconnect
			}
			s := rocketmqtest.NewServer(t)
			topic := newTopic(t, s, 4)
			group := uniqueName(t, "G")
			var (
				copts = []consumer.Option{fromFirst}
				popts []producer.Option
			)
			if tc.shared {
				instance := uniqueName(t, "I")
				copts = append(copts, consumer.WithInstance(instance))
				popts = append(popts, producer.WithInstanceName(instance))
			}
			col := newCollector()
			startPushConsumer(t, s, group, topic, consumer.MessageSelector{}, col.consume, copts...)
			p := startProducer(t, s, popts...)

			const n, pauseAt = 300, 50
			var pausedAt time.Time
			failed := 0
			for i := range n {
				if i == pauseAt {
					pausedAt = time.Now()
					s.Pause(1500 * time.Millisecond)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				if _, err := p.SendSync(ctx, primitive.NewMessage(topic, []byte(strconv.Itoa(i)))); err != nil {
					failed++
				}
				cancel()
			}
			if failed == 0 {
				t.Fatal("no SendSync timed out during the pause")
			}
			// The failure deadline: a consumer with its own connection
			// catches up at once; one sharing the producer's waits out the
			// client's 30 s pull timeout, its 3 s back-off and perhaps a
			// 20 s rebalance.
			wait := deadline
			if tc.shared {
				wait = 75 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := s.WaitForCaughtUp(ctx, group); err != nil {
				t.Fatal(err)
			}
			caughtUp := time.Since(pausedAt)
			stored := 0 // a send that timed out may be stored all the same
			for q := range 4 {
				stored += int(s.MaxOffset(topic, q))
			}
			col.waitFor(t, stored)
			// How long it took is the client's business (its 30 s pull
			// timeout, when the connection is shared); it is reported,
			// not asserted: this machine's clock is no test's oracle.
			t.Logf("caught up %v after the pause began (the client's pull timeout is %v)", caughtUp, pullTimeout)
		})
	}
}

// pullTimeout is how long rocketmq-client-go waits for the answer to a pull
// (fixed in rmqClient.PullMessage; consumer.WithConsumerPullTimeout is not
// read).
const pullTimeout = 30 * time.Second
