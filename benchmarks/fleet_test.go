package benchmarks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/mqttload"
)

// BenchmarkFleetCPU measures the CPU a server spends per message at the
// shape of a fleet: 1,000 devices each publishing one QoS 1 message of 256
// bytes a second (bench/telemetry/{i}, spread evenly over the second) for
// 30 s, nobody subscribed. It reports the server process's CPU time (user
// and system, from /proc) per message over that period, counting every
// PUBACK; for the gateway also its RocketMQ's, which runs in a process of
// its own; and, as a reference, the CPU the server uses a second with the
// same devices connected and silent. Beside the gateway and its two
// baselines it runs the gateway's MQTT core with nothing behind it
// (server=core, internal/cmd/mqttcore): the floor, what the gateway spends
// before the mapping and RocketMQ; and the gateway without a linger
// (server=gateway-at-once, -send-linger 0), whose every message has a
// write to RocketMQ of its own, where the default gateway (a linger of
// 5 ms where it pays) sends the messages of many devices together. It
// reports, besides, the median and 99th percentile of the time from a
// publish to its PUBACK, what a linger costs. -gateway-linger sets the
// other gateways' linger:
//
//	go test -run '^$' -bench FleetCPU -count 3 ./benchmarks/
//	go test -run '^$' -bench 'FleetCPU/server=gateway$' -count 1 ./benchmarks/ -gateway-linger 2ms
//
// With -gateway-profile FILE it also writes a CPU profile of the gateway
// process over the publishing period, where its CPU goes:
//
//	go test -run '^$' -bench 'FleetCPU/server=gateway' -count 1 ./benchmarks/ -gateway-profile gateway.pprof
//	go tool pprof -top gateway.pprof
func BenchmarkFleetCPU(b *testing.B) {
	var r results
	for _, k := range append(kinds[:len(kinds):len(kinds)], atOnce, floor) {
		b.Run("server="+k.name, func(b *testing.B) {
			sz := prepare(b)
			for range b.N {
				fleetCPU(b, sz, k, &r)
			}
			b.ReportMetric(0, "ns/op")
		})
	}
	r.report(b, []ratio{
		{"gateway/mosquitto-cpu", "gateway", "mosquitto"},
		{"gateway/mochi-cpu", "gateway", "mochi"},
		{"gateway+rocketmq/mosquitto-cpu", "gateway+rocketmq", "mosquitto"},
		{"gateway/core-cpu", "gateway", "core"},
		{"core/mochi-cpu", "core", "mochi"},
		{"gateway-at-once/mosquitto-cpu", "gateway-at-once", "mosquitto"},
		{"gateway/gateway-at-once-cpu", "gateway", "gateway-at-once"},
	})
}

// connectDevices connects n clients named prefix-i that subscribe to
// nothing, and reads each of them on a goroutine of its own, handing its
// PUBACKs to acked. stop closes them and waits for the readers.
func connectDevices(b *testing.B, d *mqttload.Dialer, n int, prefix string, acked func(i int, id uint16)) (devices []*mqttload.Conn, stop func()) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	devices, err := mqttload.ConnectMany(ctx, n, 32, func(ctx context.Context, i int) (*mqttload.Conn, error) {
		return d.Dial(ctx, mqttload.Connect{ClientID: fmt.Sprintf("%s-%d", prefix, i), KeepAlive: keepAlive})
	})
	if err != nil {
		b.Fatalf("connecting %d devices: %v", n, err)
	}
	var wg sync.WaitGroup
	for i, c := range devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Serve(mqttload.Handler{Puback: func(id uint16) { acked(i, id) }})
		}()
	}
	return devices, func() {
		mqttload.CloseAll(devices)
		wg.Wait()
	}
}

func fleetCPU(b *testing.B, sz sizes, k kind, r *results) {
	s := k.start(b)
	var acked atomic.Int64
	// A device has one publish in flight at a time (one a second, each
	// acknowledged within it): sentAt[i] is when its latest went out, and
	// its PUBACK's latency is read against it.
	sentAt := make([]atomic.Int64, sz.fleetDevices)
	var latMu sync.Mutex
	var latencies []time.Duration
	devices, stop := connectDevices(b, s.dialer(b), sz.fleetDevices, "bench-fleet", func(i int, _ uint16) {
		if t := sentAt[i].Load(); t != 0 {
			d := time.Duration(time.Now().UnixNano() - t)
			latMu.Lock()
			latencies = append(latencies, d)
			latMu.Unlock()
		}
		acked.Add(1)
	})
	defer stop()

	// The devices connected and silent: what the server spends anyway.
	time.Sleep(time.Second)
	idle0, idleRMQ0 := s.cpu(b)
	time.Sleep(sz.fleetIdle)
	idle1, idleRMQ1 := s.cpu(b)
	perSecond := func(d time.Duration) float64 { return ms(d) / sz.fleetIdle.Seconds() }
	b.ReportMetric(perSecond(idle1-idle0), "idle-cpu-ms/s")

	payload := make([]byte, 256)
	topics := make([]string, len(devices))
	for i := range topics {
		topics[i] = fmt.Sprintf("%s/telemetry/%d", parentTopic, i)
	}
	profiled := profile(b, s, sz.fleetPeriod)
	cpu0, rmq0 := s.cpu(b)
	start := time.Now()
	// Device i publishes at start + i/n s, then every second: a steady
	// n messages a second, as a fleet sends them. What is due goes out
	// every millisecond: a fleet's devices do not publish in step, and a
	// coarser tick (5 ms, before) hands the server its messages in bursts,
	// each burst one wake-up for several messages, which a fleet does not.
	n := len(devices)
	total := int(sz.fleetPeriod/time.Second) * n
	tick := time.NewTicker(time.Millisecond)
	sent := 0
	for sent < total {
		due := min(total, int(time.Since(start)*time.Duration(n)/time.Second)+1)
		for ; sent < due; sent++ {
			i := sent % n
			sentAt[i].Store(time.Now().UnixNano())
			if _, err := devices[i].Publish(topics[i], mqttload.AtLeastOnce, payload); err != nil {
				b.Fatalf("device %d: %v", i, err)
			}
		}
		<-tick.C
	}
	tick.Stop()
	for deadline := time.Now().Add(30 * time.Second); acked.Load() < int64(total) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cpu1, rmq1 := s.cpu(b)
	if err := <-profiled; err != nil {
		b.Error(err)
	}

	got := acked.Load()
	if got < int64(total) {
		b.Logf("%s acknowledged %d of %d publishes", s.name, got, total)
	}
	perMsg := float64((cpu1 - cpu0).Microseconds()) / float64(total)
	b.ReportMetric(perMsg, "cpu-us/msg")
	b.ReportMetric(float64(total), "msgs")
	b.ReportMetric(float64(int64(total)-got), "unacked")
	b.ReportMetric(float64(total)/elapsed.Seconds(), "msg/s")
	latMu.Lock()
	slices.Sort(latencies)
	if len(latencies) > 0 {
		b.ReportMetric(ms(latencies[len(latencies)/2]), "ack-p50-ms")
		b.ReportMetric(ms(latencies[len(latencies)*99/100]), "ack-p99-ms")
	}
	latMu.Unlock()
	r.set(s.name, perMsg)
	if s.rocketmq != nil {
		rmqPerMsg := float64((rmq1 - rmq0).Microseconds()) / float64(total)
		b.ReportMetric(rmqPerMsg, "rocketmq-cpu-us/msg")
		b.ReportMetric(perSecond(idleRMQ1-idleRMQ0), "rocketmq-idle-cpu-ms/s")
		r.set(s.name+"+rocketmq", perMsg+rmqPerMsg)
	}
}

// profile takes a CPU profile of the gateway s over the next period,
// with -gateway-profile, and writes it to the flag's file; the channel
// hears how that went. Without the flag, or for another server, it does
// nothing.
func profile(b *testing.B, s *server, period time.Duration) <-chan error {
	done := make(chan error, 1)
	if *profileFlag == "" || s.pprof == "" {
		done <- nil
		return done
	}
	go func() {
		done <- func() error {
			res, err := http.Get(fmt.Sprintf("%sprofile?seconds=%d", s.pprof, int(period/time.Second)))
			if err != nil {
				return fmt.Errorf("gateway profile: %w", err)
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("gateway profile: %s", res.Status)
			}
			f, err := os.Create(*profileFlag)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, res.Body); err != nil {
				f.Close()
				return fmt.Errorf("gateway profile: %w", err)
			}
			b.Logf("gateway CPU profile: %s", *profileFlag)
			return f.Close()
		}()
	}()
	return done
}
