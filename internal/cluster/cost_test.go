package cluster

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// BenchmarkDirectoryMemory measures what the directory holds per client
// of the cluster, as every instance holds it: b.N clients connected over
// 100 instances, one in ten with a persistent session of one
// subscription, and a clean session's filter per instance. Reported as
// heap bytes per client and the bytes of its connect record.
func BenchmarkDirectoryMemory(b *testing.B) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	v := newDirectory("gw-0", Names{Cluster: "mqttrmq"}, func(string) {})
	now := time.Now()
	for i := range 100 {
		name := fmt.Sprintf("gw-%d", i)
		v.apply([]record{{Kind: kindSnapBegin, Instance: name}, {Kind: kindSubscribe, Instance: name, Filter: "vehicles/+/cmd", Count: 1}, {Kind: kindSnapEnd, Instance: name}}, now)
	}
	var size int
	for i := range b.N {
		name := fmt.Sprintf("gw-%d", i%100)
		client := fmt.Sprintf("GID_vehicle@@@car%07d", i)
		r := record{Kind: kindConnect, Instance: name, Client: client, At: now.UnixNano() + int64(i)}
		if i == 0 {
			enc, _ := encodeRecords([]record{r})
			size = len(enc)
		}
		rs := []record{r}
		if i%10 == 0 {
			rs = append(rs, record{Kind: kindSession, Instance: name, Session: &Session{Client: client, Owner: name, Online: true, Version: r.At,
				Subs: []broker.SubscriptionState{{Filter: "vehicles/" + client + "/cmd", QoS: 1}}}})
		}
		v.apply(rs, now)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "heap-B/client")
	b.ReportMetric(float64(size), "record-B")
	runtime.KeepAlive(v)
}

// BenchmarkDirectoryMemoryOwnFilters measures the directory per client of
// a fleet in which every device subscribes, on a clean session, to a
// filter of its own (vehicles/{client}/cmd): b.N clients over 100
// instances. Reported as heap bytes per client.
func BenchmarkDirectoryMemoryOwnFilters(b *testing.B) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	v := newDirectory("gw-0", Names{Cluster: "mqttrmq"}, func(string) {})
	now := time.Now()
	for i := range 100 {
		name := fmt.Sprintf("gw-%d", i)
		v.apply([]record{{Kind: kindSnapBegin, Instance: name}, {Kind: kindSnapEnd, Instance: name}}, now)
	}
	for i := range b.N {
		name := fmt.Sprintf("gw-%d", i%100)
		client := fmt.Sprintf("GID_vehicle@@@car%07d", i)
		v.apply([]record{
			{Kind: kindConnect, Instance: name, Client: client, At: now.UnixNano() + int64(i)},
			{Kind: kindSubscribe, Instance: name, Filter: "vehicles/" + client + "/cmd"},
		}, now)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "heap-B/client")
	runtime.KeepAlive(v)
}
