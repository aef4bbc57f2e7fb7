package benchmarks

import (
	"encoding/binary"
	"testing"
	"time"
)

// The phases of a benchmark, the first byte of every payload it sends: the
// receivers count each phase's messages apart, and ignore the warm-up's,
// which only show that the route from sender to receivers works.
const (
	phaseWarmUp    = 'w'
	phaseClean     = 'c' // BenchmarkStalledSubscriber, nobody stalled
	phaseStalled   = 's' // BenchmarkStalledSubscriber, one subscriber stalled
	phaseBroadcast = 'b' // BenchmarkBroadcast
)

// stamp writes a header into payload, which must have room for stampLen
// bytes: the phase, a sequence number, and the time it is sent.
func stamp(payload []byte, phase byte, seq uint64) {
	payload[0] = phase
	binary.BigEndian.PutUint64(payload[1:], seq)
	binary.BigEndian.PutUint64(payload[9:], uint64(time.Now().UnixNano()))
}

// stampLen is the length of stamp's header.
const stampLen = 17

// readStamp reads stamp's header; ok is false for a payload too short.
func readStamp(p []byte) (phase byte, seq uint64, sent time.Time, ok bool) {
	if len(p) < stampLen {
		return 0, 0, time.Time{}, false
	}
	return p[0], binary.BigEndian.Uint64(p[1:]), time.Unix(0, int64(binary.BigEndian.Uint64(p[9:]))), true
}

// percentile returns the q-quantile (0–1) of sorted, by nearest rank.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(q*float64(len(sorted)-1)+0.5)]
}

// ms returns d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func TestStamp(t *testing.T) {
	p := make([]byte, 64)
	before := time.Now()
	stamp(p, phaseBroadcast, 1<<40+7)
	phase, seq, sent, ok := readStamp(p)
	if !ok || phase != phaseBroadcast || seq != 1<<40+7 || sent.Before(before.Add(-time.Microsecond)) || sent.After(time.Now()) {
		t.Errorf("readStamp = %c %d %v %v", phase, seq, sent, ok)
	}
	if _, _, _, ok := readStamp(p[:stampLen-1]); ok {
		t.Error("readStamp of a short payload succeeded")
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0, time.Millisecond}, {0.5, 51 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		if got := percentile(d, c.q); got != c.want {
			t.Errorf("percentile(1..100 ms, %v) = %v; want %v", c.q, got, c.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile of nothing = %v", got)
	}
}
