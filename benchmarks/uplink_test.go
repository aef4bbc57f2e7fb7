package benchmarks

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/mqttload"
)

// BenchmarkUplinkRate measures the QoS 1 messages per second 50 devices
// get acknowledged (256-byte payloads on bench/telemetry/{i}, each device
// keeping 100 publishes in flight, 200,000 in all), nobody subscribed, and
// the server's CPU time per message. It is the out-of-process companion of
// gateway's BenchmarkUplink: the servers run in processes of their own,
// the gateway's RocketMQ in a third, so that the load client and RocketMQ
// do not share the gateway's process.
//
//	go test -run '^$' -bench UplinkRate -count 3 ./benchmarks/
func BenchmarkUplinkRate(b *testing.B) {
	var r results
	for _, k := range kinds {
		b.Run("server="+k.name, func(b *testing.B) {
			sz := prepare(b)
			for range b.N {
				uplinkRate(b, sz, k, &r)
			}
			b.ReportMetric(0, "ns/op")
		})
	}
	r.report(b, []ratio{
		{"gateway/mochi-msg/s", "gateway", "mochi"},
		{"gateway/mosquitto-msg/s", "gateway", "mosquitto"},
	})
}

func uplinkRate(b *testing.B, sz sizes, k kind, r *results) {
	s := k.start(b)
	n := sz.uplinkDevices
	// window[i] holds a token per publish device i has in flight.
	window := make([]chan struct{}, n)
	for i := range window {
		window[i] = make(chan struct{}, sz.uplinkWindow)
	}
	var acked atomic.Int64
	devices, stop := connectDevices(b, s.dialer(b), n, "bench-uplink", func(i int, _ uint16) {
		acked.Add(1)
		<-window[i]
	})
	defer stop()

	payload := make([]byte, 256)
	cpu0, rmq0 := s.cpu(b)
	start := time.Now()
	var wg sync.WaitGroup
	for i, dev := range devices {
		share := sz.uplinkMsgs / n
		if i < sz.uplinkMsgs%n {
			share++
		}
		topic := fmt.Sprintf("%s/telemetry/%d", parentTopic, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range share {
				window[i] <- struct{}{}
				if _, err := dev.Publish(topic, mqttload.AtLeastOnce, payload); err != nil {
					b.Errorf("device %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for deadline := time.Now().Add(time.Minute); acked.Load() < int64(sz.uplinkMsgs) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	cpu1, rmq1 := s.cpu(b)
	got := acked.Load()
	if got < int64(sz.uplinkMsgs) {
		b.Fatalf("%s acknowledged %d of %d publishes within a minute of the last", s.name, got, sz.uplinkMsgs)
	}
	rate := float64(got) / elapsed.Seconds()
	b.ReportMetric(rate, "msg/s")
	b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(got), "cpu-us/msg")
	if s.rocketmq != nil {
		b.ReportMetric(float64((rmq1-rmq0).Microseconds())/float64(got), "rocketmq-cpu-us/msg")
	}
	r.set(s.name, rate)
}
