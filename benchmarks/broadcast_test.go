package benchmarks

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/mqttload"
)

// BenchmarkBroadcast measures fan-out: 1,000 subscribers of one topic
// (bench/fanout/all, QoS 1, acknowledging everything), and 200 QoS 1
// messages of 64 bytes sent to it back to back, so 200,000 deliveries.
// The gateway gets them from a backend, a rocketmq-client-go producer
// sending to the parent topic with the tag MQ2MQTT and
// mqttSecondTopic=/fanout/all (source=backend), and, as the other servers
// do, from a publishing device (source=device). It reports deliveries per
// second, from the first send to the last delivery, the deliveries lost
// and duplicated, and the server's CPU time per delivery.
//
//	go test -run '^$' -bench Broadcast -count 3 ./benchmarks/
func BenchmarkBroadcast(b *testing.B) {
	var r results
	for _, c := range []struct {
		kind
		source string
	}{
		{kinds[0], "backend"},
		{kinds[0], "device"},
		{kinds[1], "device"},
		{kinds[2], "device"},
	} {
		b.Run("server="+c.name+"/source="+c.source, func(b *testing.B) {
			sz := prepare(b)
			for range b.N {
				broadcast(b, sz, c.kind, c.source, &r)
			}
			b.ReportMetric(0, "ns/op")
		})
	}
	r.report(b, []ratio{
		{"gateway-backend/mosquitto-deliveries", "gateway-backend", "mosquitto-device"},
		{"gateway-device/mosquitto-deliveries", "gateway-device", "mosquitto-device"},
		{"mochi/mosquitto-deliveries", "mochi-device", "mosquitto-device"},
	})
}

func broadcast(b *testing.B, sz sizes, k kind, source string, r *results) {
	s := k.start(b)
	d := s.dialer(b)
	const topic = parentTopic + "/fanout/all"

	n, msgs := sz.fanoutSubs, sz.fanoutMsgs
	var warmed, delivered, dups atomic.Int64
	var last atomic.Int64 // UnixNano of the latest delivery
	subs := connectSubscribers(b, d, 0, n, "bench-fanout", func(int) string { return topic }, mqttload.AtLeastOnce)
	var readers sync.WaitGroup
	for _, c := range subs {
		seenWarmUp := false
		seen := make([]bool, msgs+1)
		readers.Add(1)
		go func() {
			defer readers.Done()
			c.Serve(mqttload.Handler{Publish: func(p mqttload.Publish) {
				phase, seq, _, ok := readStamp(p.Payload)
				switch {
				case !ok:
				case phase == phaseWarmUp:
					if !seenWarmUp {
						seenWarmUp = true
						warmed.Add(1)
					}
				case phase != phaseBroadcast || seq == 0 || seq > uint64(msgs):
				case seen[seq]:
					dups.Add(1)
				default:
					seen[seq] = true
					delivered.Add(1)
					now := time.Now().UnixNano()
					for {
						l := last.Load()
						if now <= l || last.CompareAndSwap(l, now) {
							break
						}
					}
				}
			}})
		}()
	}
	defer readers.Wait()
	defer mqttload.CloseAll(subs) // before Wait: ends the readers

	// send sends the payloads in order, as fast as the source can: a
	// device publishes them back to back, a backend sends them in one
	// batch (one request to RocketMQ).
	var send func(payloads ...[]byte)
	switch source {
	case "device":
		pub, stop := connectDevices(b, d, 1, "bench-fanout-pub", func(int, uint16) {})
		defer stop()
		send = func(payloads ...[]byte) {
			for _, p := range payloads {
				if _, err := pub[0].Publish(topic, mqttload.AtLeastOnce, p); err != nil {
					b.Fatalf("publish: %v", err)
				}
			}
		}
	case "backend":
		send = backendSender(b, s, "/fanout/all")
	default:
		b.Fatalf("source %q", source)
	}

	payload := make([]byte, 64)
	payloads := make([][]byte, msgs)
	for i := range payloads {
		payloads[i] = make([]byte, len(payload))
		stamp(payloads[i], phaseBroadcast, uint64(i+1))
	}
	deadline := time.Now().Add(time.Minute)
	for warmed.Load() < int64(n) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d subscribers received a warm-up message within a minute", warmed.Load(), n)
		}
		stamp(payload, phaseWarmUp, 0)
		send(payload)
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let the warm-up drain

	cpu0, _ := s.cpu(b)
	start := time.Now()
	send(payloads...)
	want := int64(n * msgs)
	for deadline := time.Now().Add(time.Minute); delivered.Load() < want && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	cpu1, _ := s.cpu(b)
	got := delivered.Load()
	if got == 0 {
		b.Fatalf("%s delivered nothing of the broadcast", s.name)
	}
	rate := float64(got) / time.Unix(0, last.Load()).Sub(start).Seconds()
	b.ReportMetric(rate, "deliveries/s")
	b.ReportMetric(float64(want-got), "lost")
	b.ReportMetric(float64(dups.Load()), "dups")
	b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(got), "cpu-us/delivery")
	r.set(s.name+"-"+source, rate)
}

// backendSender returns a function sending payloads as a backend does: a
// rocketmq-client-go producer's messages to the parent topic, tagged
// MQ2MQTT, with mqttSecondTopic second and QoS 1, sent synchronously in
// one batch, which RocketMQ keeps in one queue, in order.
func backendSender(b *testing.B, s *server, second string) func(payloads ...[]byte) {
	b.Helper()
	name := fmt.Sprintf("bench-backend-%d", instanceSeq.Add(1))
	p, err := rocketmq.NewProducer(
		producer.WithNameServer([]string{s.rocketmq.Addr}),
		producer.WithGroupName(name),
		producer.WithInstanceName(name),
	)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Shutdown() })
	return func(payloads ...[]byte) {
		msgs := make([]*primitive.Message, len(payloads))
		for i, payload := range payloads {
			m := primitive.NewMessage(parentTopic, payload)
			m.WithTag(mqttrmq.TagToMQTT)
			if err := mqttrmq.SetSecondTopic(m, second); err != nil {
				b.Fatal(err)
			}
			if err := mqttrmq.SetQoS(m, mqttrmq.AtLeastOnce); err != nil {
				b.Fatal(err)
			}
			msgs[i] = m
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := p.SendSync(ctx, msgs...)
		if err == nil && res.Status != primitive.SendOK {
			err = fmt.Errorf("status %d", res.Status)
		}
		if err != nil {
			b.Fatalf("backend send: %v", err)
		}
	}
}
