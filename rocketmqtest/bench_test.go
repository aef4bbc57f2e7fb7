package rocketmqtest_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// BenchmarkThroughput measures messages per second end to end: 256-byte
// messages sent with SendSync from 8 goroutines sharing one producer,
// through the server, to one push consumer; the clock stops when the
// consumer has received them all. It shows the server is not what limits
// a benchmark built on it: most of the time goes to the client library.
func BenchmarkThroughput(b *testing.B) {
	b.ReportAllocs()
	// The clients of earlier rounds log their failed reconnections to
	// closed servers, at any moment, even into the line that reports the
	// result; keep them out of the output for the rest of the process
	// (benchmarks run after the tests).
	if os.Getenv("RLOG") == "" {
		rlog.SetLogLevel("fatal")
	}
	s := rocketmqtest.NewServer(b)
	topic := newTopic(b, s, 4)
	var received atomic.Int64
	startPushConsumer(b, s, uniqueName(b, "G"), topic, consumer.MessageSelector{},
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			received.Add(int64(len(msgs)))
			return consumer.ConsumeSuccess, nil
		})
	p := startProducer(b, s)
	body := make([]byte, 256)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	const senders = 8

	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range senders {
		n := b.N / senders
		if g < b.N%senders {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				if _, err := p.SendSync(context.Background(), primitive.NewMessage(topic, body)); err != nil {
					b.Errorf("SendSync: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	sent := time.Since(start)
	timeout := time.After(deadline)
	for received.Load() < int64(b.N) {
		select {
		case <-timeout:
			b.Fatalf("received %d of %d messages", received.Load(), b.N)
		case <-time.After(time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	b.StopTimer()
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
	b.ReportMetric(float64(b.N)/sent.Seconds(), "sent/s")
	if pulls := s.Requests(rocketmqtest.PullMessage); pulls > 0 {
		b.ReportMetric(float64(b.N)/float64(pulls), "msg/pull")
	}
}
