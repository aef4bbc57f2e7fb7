package benchmarks

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/mqttload"
	"github.com/mqttrmq/mqttrmq/internal/serverproc"
)

// BenchmarkIdleConnections measures what an idle MQTT 3.1.1 connection
// costs a server: 10,000, then 19,000 clients (the open-file limit is
// 20,000 a process), each subscribed to a filter of its own
// (bench/idle/{i}/cmd, QoS 1) and then silent, against the gateway (with
// RocketMQ in a process of its own), a plain mochi-mqtt broker and
// Mosquitto. It reports the server's resident memory per connection over
// its idle figure before the first connection, in KB, and, for the Go
// servers, its goroutines per connection, counted in the stack dump the
// server writes on SIGQUIT (over the same count in a second, idle
// instance).
//
//	go test -run '^$' -bench IdleConnections -count 3 ./benchmarks/
func BenchmarkIdleConnections(b *testing.B) {
	var r results
	sz := size(b)
	for _, k := range kinds {
		b.Run("server="+k.name, func(b *testing.B) {
			prepare(b)
			for range b.N {
				idleConnections(b, sz, k, &r)
			}
			b.ReportMetric(0, "ns/op") // the time of a whole run says nothing
		})
	}
	var ratios []ratio
	for _, n := range sz.idleConns {
		c := fmt.Sprint(n)
		ratios = append(ratios,
			ratio{"gateway/mosquitto-KB@" + c, "gateway@" + c, "mosquitto@" + c},
			ratio{"gateway/mochi-KB@" + c, "gateway@" + c, "mochi@" + c},
			ratio{"mochi/mosquitto-KB@" + c, "mochi@" + c, "mosquitto@" + c})
	}
	r.report(b, append(ratios, ratio{"gateway/mochi-goroutines", "gateway-goroutines", "mochi-goroutines"}))
}

func idleConnections(b *testing.B, sz sizes, k kind, r *results) {
	s := k.start(b)
	base := settledRSS(b, sz, s.proc)
	b.ReportMetric(float64(base)/(1<<20), "idle-MB")
	d := s.dialer(b)
	var conns []*mqttload.Conn
	defer func() { mqttload.CloseAll(conns) }()
	for _, n := range sz.idleConns {
		more := connectSubscribers(b, d, len(conns), n, "bench-idle", func(i int) string { return fmt.Sprintf("%s/idle/%d/cmd", parentTopic, i) }, mqttload.AtLeastOnce)
		for _, c := range more {
			c.Idle()
		}
		conns = append(conns, more...)
		rss := settledRSS(b, sz, s.proc)
		checkHolding(b, s, n)
		kb := float64(rss-base) / 1024 / float64(n)
		label := fmt.Sprint(n)
		b.ReportMetric(kb, "KB/conn@"+label)
		r.set(s.name+"@"+label, kb)
	}
	if !s.goServer {
		return
	}
	// The goroutines of the loaded server, over those of an idle one.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	loaded, err := s.proc.DumpGoroutines(ctx)
	if err != nil {
		b.Fatal(err)
	}
	idle := k.start
	if s.rocketmq != nil {
		idle = func(b *testing.B) *server { return startGatewayOn(b, s.rocketmq) }
	}
	quiet := idle(b)
	settledRSS(b, sz, quiet.proc)
	base0, err := quiet.proc.DumpGoroutines(ctx)
	if err != nil {
		b.Fatal(err)
	}
	per := float64(loaded-base0) / float64(len(conns))
	b.ReportMetric(per, "goroutines/conn")
	r.set(s.name+"-goroutines", per)
}

// checkHolding fails b unless the server holds at least n open sockets:
// a server that dropped idle clients would look cheap.
func checkHolding(b *testing.B, s *server, n int) {
	b.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.proc.PID()))
	if err != nil {
		b.Fatal(err)
	}
	if len(fds) < n {
		b.Fatalf("%s holds %d open files with %d clients connected: it dropped some", s.name, len(fds), n)
	}
}

// settledRSS waits until the process's resident memory has stayed within
// 1% (and 256 KB) for window (two seconds at full size), at most ten
// windows, and returns it.
func settledRSS(b *testing.B, sz sizes, p *serverproc.Process) int64 {
	b.Helper()
	const window = 8 // steps
	step := sz.settle / window
	var samples []int64
	deadline := time.Now().Add(10 * sz.settle)
	for {
		rss, err := p.RSS()
		if err != nil {
			b.Fatal(err)
		}
		samples = append(samples, rss)
		if len(samples) > window {
			w := samples[len(samples)-window-1:]
			lo, hi := w[0], w[0]
			for _, v := range w {
				lo, hi = min(lo, v), max(hi, v)
			}
			if hi-lo <= max(hi/100, 256<<10) || time.Now().After(deadline) {
				return rss
			}
		}
		time.Sleep(step)
	}
}
