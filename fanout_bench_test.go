package mqttrmq_test

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqttrmq/mqttrmq"
)

// fanOutTopic is the topic every fan-out benchmark asks about.
const fanOutTopic = "vehicles/q/cmd"

// fanOutFilters makes n filters a vehicle fleet would register: four that
// match fanOutTopic (the vehicle's own command topic, its '#', a fleet-wide
// command monitor and a fleet-wide '#'), and per-vehicle subscriptions of
// other vehicles: 80% exact command topics, 10% vehicles/{id}/config/+, 5%
// vehicles/{id}/#, 5% fleet-wide vehicles/+/t{i} dashboards. Every size
// matches the same four.
func fanOutFilters(n int) []string {
	filters := []string{"vehicles/q/cmd", "vehicles/q/#", "vehicles/+/cmd", "vehicles/#"}
	for i := 0; len(filters) < n; i++ {
		id := "v" + strconv.Itoa(i)
		switch i % 20 {
		case 16, 17:
			filters = append(filters, "vehicles/"+id+"/config/+")
		case 18:
			filters = append(filters, "vehicles/"+id+"/#")
		case 19:
			filters = append(filters, "vehicles/+/t"+strconv.Itoa(i))
		default:
			filters = append(filters, "vehicles/"+id+"/cmd")
		}
	}
	return filters[:n]
}

const fanOutMatches = 4

// fanOutIndexes loads the same filters into a FilterSet and into mochi-mqtt's
// TopicsIndex (one subscriber per filter), and checks that both give the
// same number of matches for fanOutTopic.
func fanOutIndexes(tb testing.TB, n int) (*mqttrmq.FilterSet, *mochi.TopicsIndex) {
	tb.Helper()
	fs := new(mqttrmq.FilterSet)
	idx := mochi.NewTopicsIndex()
	for i, f := range fanOutFilters(n) {
		if err := fs.Add(f); err != nil {
			tb.Fatal(err)
		}
		idx.Subscribe("c"+strconv.Itoa(i), packets.Subscription{Filter: f})
	}
	got, err := fs.AppendMatches(nil, fanOutTopic)
	if want := min(n, fanOutMatches); err != nil || len(got) != want {
		tb.Fatalf("FilterSet with %d filters: %d matches, %v; want %d", n, len(got), err, want)
	}
	if m := len(idx.Subscribers(fanOutTopic).Subscriptions); m != len(got) {
		tb.Fatalf("mochi's TopicsIndex with %d filters: %d matches; FilterSet %d", n, m, len(got))
	}
	return fs, idx
}

var sinkInt int

// BenchmarkFanOut asks which registered filters match one topic, of
// FilterSet (with a caller's buffer) and of mochi-mqtt's TopicsIndex loaded
// with the same filters. The README's table comes from
//
//	go test -run '^$' -bench 'FanOut$' -benchmem -count 6 . | benchstat -col /impl -
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		fs, idx := fanOutIndexes(b, n)
		b.Run(fmt.Sprintf("filters=%d/impl=mqttrmq", n), func(b *testing.B) {
			buf := make([]string, 0, 16)
			b.ReportAllocs()
			for b.Loop() {
				got, _ := fs.AppendMatches(buf[:0], fanOutTopic)
				sinkInt = len(got)
			}
		})
		b.Run(fmt.Sprintf("filters=%d/impl=mochi", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkInt = len(idx.Subscribers(fanOutTopic).Subscriptions)
			}
		})
	}
}

// BenchmarkFanOutParallel matches from every core at once, alone and while
// another goroutine adds and removes filters, to show what the read lock
// costs when it is contended.
func BenchmarkFanOutParallel(b *testing.B) {
	fs, _ := fanOutIndexes(b, 100000)
	for _, writer := range []bool{false, true} {
		b.Run(fmt.Sprintf("writer=%v", writer), func(b *testing.B) {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			if writer {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						f := "vehicles/w" + strconv.Itoa(i%1000) + "/+"
						_ = fs.Add(f)
						fs.Remove(f)
					}
				}()
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]string, 0, 16)
				for pb.Next() {
					got, _ := fs.AppendMatches(buf[:0], fanOutTopic)
					if len(got) != fanOutMatches {
						panic("wrong matches")
					}
				}
			})
			close(stop)
			wg.Wait()
		})
	}
}

// BenchmarkDispatch writes the INNER_MULTI_DISPATCH value for one topic
// against 100,000 filters, into a caller's buffer and as a fresh slice of
// queue names.
func BenchmarkDispatch(b *testing.B) {
	fs, _ := fanOutIndexes(b, 100000)
	b.Run("AppendDispatch", func(b *testing.B) {
		buf := make([]byte, 0, 256)
		b.ReportAllocs()
		for b.Loop() {
			got, _ := fs.AppendDispatch(buf[:0], fanOutTopic)
			sinkInt = len(got)
		}
	})
	b.Run("Queues", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			got, _ := fs.Queues(fanOutTopic)
			sinkInt = len(got)
		}
	})
}

// BenchmarkUplinkApache maps the publish of BenchmarkUplink in the Apache
// dialect, with 100,000 filters registered, beside its floor: the same nine
// properties, values precomputed, written with WithProperty on a fresh
// *primitive.Message.
//
//	go test -run '^$' -bench UplinkApache -benchmem -count 10 . | benchstat -col /impl -
func BenchmarkUplinkApache(b *testing.B) {
	fs, _ := fanOutIndexes(b, 100000)
	d := mqttrmq.ApacheRocketMQMQTT.WithFilters(fs)
	p := uplink
	p.Topic = fanOutTopic
	want := &primitive.Message{}
	if _, err := d.ToRocketMQ(p, want); err != nil {
		b.Fatal(err)
	}
	props := want.GetProperties()
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	b.Run("impl=floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			msg := &primitive.Message{Body: p.Payload}
			for _, k := range keys {
				msg.WithProperty(k, props[k])
			}
			msg.Topic = "vehicles"
		}
	})
	b.Run("impl=ToRocketMQ", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			msg := &primitive.Message{Body: p.Payload}
			topic, err := d.ToRocketMQ(p, msg)
			if err != nil {
				b.Fatal(err)
			}
			msg.Topic = topic
		}
	})
}

// TestFanOutDoesNotAllocate holds the zero-allocation promise of
// AppendMatches and AppendDispatch, and the two allocations of Queues (the
// topic's queue name and the returned slice), whatever the set's size.
func TestFanOutDoesNotAllocate(t *testing.T) {
	fs, _ := fanOutIndexes(t, 1000)
	names := make([]string, 0, 16)
	list := make([]byte, 0, 256)
	for name, c := range map[string]struct {
		f    func()
		want float64
	}{
		"AppendMatches": {func() { names, _ = fs.AppendMatches(names[:0], fanOutTopic) }, 0},
		"AppendFilters": {func() { names, _ = fs.AppendFilters(names[:0], fanOutTopic) }, 0},
		"AppendFilters(no match)": {func() {
			names, _ = fs.AppendFilters(names[:0], "elsewhere/x")
		}, 0},
		"AppendDispatch": {func() { list, _ = fs.AppendDispatch(list[:0], fanOutTopic) }, 0},
		"AppendMatches(no match)": {func() {
			names, _ = fs.AppendMatches(names[:0], "elsewhere/x")
		}, 0},
		"Queues": {func() { names, _ = fs.Queues(fanOutTopic) }, 2},
	} {
		if n := testing.AllocsPerRun(100, c.f); n != c.want {
			t.Errorf("%s allocates %v times per call; want %v", name, n, c.want)
		}
	}
}

// BenchmarkFilterSetMemory reports what a FilterSet holds per filter for
// a fleet's own filters, one per device (vehicles/{id}/cmd), beside
// mochi-mqtt's TopicsIndex holding the same: the live heap after a
// collection, over that before the filters, per filter.
//
//	go test -run '^$' -bench FilterSetMemory .
func BenchmarkFilterSetMemory(b *testing.B) {
	const n = 100000
	live := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	filters := make([]string, n)
	for i := range filters {
		filters[i] = "vehicles/" + strconv.Itoa(i) + "/cmd"
	}
	b.Run("impl=mqttrmq", func(b *testing.B) {
		for b.Loop() {
			before := live()
			var fs mqttrmq.FilterSet
			for _, f := range filters {
				if err := fs.Add(f); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(live()-before)/n, "B/filter")
			runtime.KeepAlive(&fs)
		}
	})
	b.Run("impl=mochi", func(b *testing.B) {
		for b.Loop() {
			before := live()
			idx := mochi.NewTopicsIndex()
			for i, f := range filters {
				idx.Subscribe(strconv.Itoa(i), packets.Subscription{Filter: f})
			}
			b.ReportMetric(float64(live()-before)/n, "B/filter")
			runtime.KeepAlive(idx)
		}
	})
}
