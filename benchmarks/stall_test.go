package benchmarks

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/mqttload"
)

// BenchmarkStalledSubscriber measures whether one client that stops
// reading holds up the others. 100 subscribers of bench/stall/feed (QoS 1,
// acknowledging everything) receive a steady stream from one publishing
// device (50 QoS 1 publishes a second of 16 KiB each; through the gateway,
// every message goes to RocketMQ and back); for 10 s nothing else happens
// ("clean"), then for 15 s one more QoS 1 subscriber of the same topic,
// with a 4 KiB receive buffer (SO_RCVBUF), reads nothing after its SUBACK
// ("stalled"). Every second of
// each phase a new client connects. It reports the 100 subscribers'
// latency (publish to receipt, p50 and p99), their deliveries per second
// (deliveries of the phase's messages over the time from its first
// publish to its last delivery), the deliveries lost (and duplicated:
// "dups"), and the slowest
// CONNACK of a new client, for each phase; p99-stalled/clean is the
// latency ratio the target bounds (≤ 2, with nothing lost and CONNACK ≤
// 200 ms).
//
//	go test -run '^$' -bench StalledSubscriber -count 3 ./benchmarks/
func BenchmarkStalledSubscriber(b *testing.B) {
	var r results
	for _, k := range kinds {
		b.Run("server="+k.name, func(b *testing.B) {
			sz := prepare(b)
			for range b.N {
				stalledSubscriber(b, sz, k, &r)
			}
			b.ReportMetric(0, "ns/op")
		})
	}
	r.report(b, []ratio{
		{"gateway/mosquitto-stalled-p99", "gateway-stalled-p99", "mosquitto-stalled-p99"},
		{"gateway/mosquitto-stalled-connack", "gateway-stalled-connack", "mosquitto-stalled-connack"},
		{"gateway/mosquitto-stalled-deliveries", "gateway-stalled-deliveries", "mosquitto-stalled-deliveries"},
		{"gateway/mochi-stalled-p99", "gateway-stalled-p99", "mochi-stalled-p99"},
	})
}

// phaseStats gathers what the subscribers received in one phase.
type phaseStats struct {
	mu        sync.Mutex
	latencies []time.Duration
	last      time.Time // the latest delivery
}

func (p *phaseStats) add(sent, now time.Time) {
	p.mu.Lock()
	p.latencies = append(p.latencies, now.Sub(sent))
	if now.After(p.last) {
		p.last = now
	}
	p.mu.Unlock()
}

func (p *phaseStats) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.latencies)
}

func stalledSubscriber(b *testing.B, sz sizes, k kind, r *results) {
	s := k.start(b)
	d := s.dialer(b)
	const topic = parentTopic + "/stall/feed"

	stats := map[byte]*phaseStats{phaseClean: {}, phaseStalled: {}}
	var warmed, dups atomic.Int64
	subs := connectSubscribers(b, d, 0, sz.stallSubs, "bench-stall-sub", func(int) string { return topic }, mqttload.AtLeastOnce)
	var readers sync.WaitGroup
	for _, c := range subs {
		seenWarmUp := false
		seen := map[uint64]bool{}
		readers.Add(1)
		go func() {
			defer readers.Done()
			c.Serve(mqttload.Handler{Publish: func(p mqttload.Publish) {
				now := time.Now()
				phase, seq, sent, ok := readStamp(p.Payload)
				switch {
				case !ok:
				case phase == phaseWarmUp:
					if !seenWarmUp {
						seenWarmUp = true
						warmed.Add(1)
					}
				case seen[seq]:
					dups.Add(1)
				case stats[phase] != nil:
					seen[seq] = true
					stats[phase].add(sent, now)
				}
			}})
		}()
	}
	defer readers.Wait()
	defer mqttload.CloseAll(subs) // before Wait: ends the readers

	pub, err := d.Dial(context.Background(), mqttload.Connect{ClientID: "bench-stall-pub", KeepAlive: keepAlive})
	if err != nil {
		b.Fatal(err)
	}
	var acked atomic.Int64
	readers.Add(1)
	go func() {
		defer readers.Done()
		pub.Serve(mqttload.Handler{Puback: func(uint16) { acked.Add(1) }})
	}()
	defer pub.Close()
	payload := make([]byte, sz.stallPayload)
	var seq uint64 // publishes sent, warm-up included
	publish := func(phase byte) {
		seq++
		stamp(payload, phase, seq)
		if _, err := pub.Publish(topic, mqttload.AtLeastOnce, payload); err != nil {
			b.Fatalf("publish: %v", err)
		}
	}

	// Warm up until every subscriber receives: the gateway's consumer
	// has joined its group by then.
	deadline := time.Now().Add(time.Minute)
	for warmed.Load() < int64(len(subs)) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d subscribers received a warm-up message within a minute", warmed.Load(), len(subs))
		}
		publish(phaseWarmUp)
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let the warm-up drain

	// runPhase publishes at the steady rate for dur, probing CONNACKs
	// meanwhile, and calls atEnd (if any) when dur is over, whatever the
	// publisher is doing: a server that stops reading the publisher
	// blocks its writes until then.
	runPhase := func(phase byte, dur time.Duration, atEnd func()) (sent int, start time.Time, connack time.Duration) {
		probes := make(chan time.Duration, 1)
		start = time.Now()
		end := start.Add(dur)
		if atEnd != nil {
			defer time.AfterFunc(dur, atEnd).Stop()
		}
		go func() { probes <- probeConnacks(b, d, phase, end, sz.stallProbeStep) }()
		tick := time.NewTicker(time.Second / time.Duration(sz.stallRate))
		defer tick.Stop()
		for now := start; now.Before(end); now = <-tick.C {
			publish(phase)
			sent++
		}
		return sent, start, <-probes
	}
	// report waits for the phase's deliveries (or gives up after
	// drain) and reports its figures.
	report := func(name string, phase byte, sent int, start time.Time, connack time.Duration, drain time.Duration) {
		want := sent * len(subs)
		st := stats[phase]
		for deadline := time.Now().Add(drain); st.count() < want && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		st.mu.Lock()
		lat := slices.Clone(st.latencies)
		last := st.last
		st.mu.Unlock()
		slices.Sort(lat)
		p50, p99 := percentile(lat, 0.50), percentile(lat, 0.99)
		rate := 0.0
		if len(lat) > 0 {
			rate = float64(len(lat)) / last.Sub(start).Seconds()
		}
		b.ReportMetric(ms(p50), name+"-p50-ms")
		b.ReportMetric(ms(p99), name+"-p99-ms")
		b.ReportMetric(rate, name+"-deliveries/s")
		b.ReportMetric(float64(want-len(lat)), name+"-lost")
		b.ReportMetric(ms(connack), name+"-connack-ms")
		r.set(s.name+"-"+name+"-p99", ms(p99))
		r.set(s.name+"-"+name+"-deliveries", rate)
		r.set(s.name+"-"+name+"-connack", ms(connack))
	}
	drain := sz.stallStalled + 20*time.Second

	sent, start, connack := runPhase(phaseClean, sz.stallClean, nil)
	report("clean", phaseClean, sent, start, connack, drain)
	cleanP99 := percentile(sortedCopy(stats[phaseClean]), 0.99)

	stalledDialer := s.dialer(b)
	stalledDialer.ReceiveBuffer = sz.stallRcvBuf
	stalled, err := stalledDialer.Dial(context.Background(), mqttload.Connect{ClientID: "bench-stall-stalled", KeepAlive: keepAlive})
	if err != nil {
		b.Fatal(err)
	}
	if err := stalled.Subscribe(context.Background(), topic, mqttload.AtLeastOnce); err != nil {
		b.Fatal(err)
	}
	// From here on nobody reads it, until the phase ends: then it closes,
	// and a server still writing to it gets an error at once.
	sent, start, connack = runPhase(phaseStalled, sz.stallStalled, func() { stalled.Close() })
	stalled.Close()
	report("stalled", phaseStalled, sent, start, connack, drain)
	if cleanP99 > 0 {
		ratio := float64(percentile(sortedCopy(stats[phaseStalled]), 0.99)) / float64(cleanP99)
		b.ReportMetric(ratio, "p99-stalled/clean")
	}

	for deadline := time.Now().Add(drain); acked.Load() < int64(seq) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	b.ReportMetric(float64(int64(seq)-acked.Load()), "unacked")
	b.ReportMetric(float64(dups.Load()), "dups")
}

func sortedCopy(p *phaseStats) []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := slices.Clone(p.latencies)
	slices.Sort(s)
	return s
}

// probeConnacks connects a new client every step until end, each after
// the last one's CONNACK, and returns the slowest CONNACK (from the start
// of the dial). A connection that fails counts as its time to fail, and is
// logged.
func probeConnacks(b *testing.B, d *mqttload.Dialer, phase byte, end time.Time, step time.Duration) time.Duration {
	var slowest time.Duration
	for i := 0; ; i++ {
		next := time.Now().Add(step)
		if next.After(end) {
			return slowest
		}
		time.Sleep(time.Until(next))
		start := time.Now()
		c, err := d.Dial(context.Background(), mqttload.Connect{ClientID: fmt.Sprintf("bench-stall-probe-%c%d", phase, i), KeepAlive: keepAlive})
		took := time.Since(start)
		slowest = max(slowest, took)
		if err != nil {
			b.Logf("probe connection %d: %v after %v", i, err, took)
			continue
		}
		c.Disconnect()
	}
}
