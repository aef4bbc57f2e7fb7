package cluster

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// directoryHeap reports, per client, the heap a directory of 100
// instances (each snapshotted with what setup gives it) holds once fill's
// records for b.N clients are applied, and the encoded size of the first
// record fill gives.
func directoryHeap(b *testing.B, setup func(name string) []record, fill func(i int, name string, at int64) []record) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	v := newDirectory("gw-0", Names{Cluster: "mqttrmq"}, func(string) {})
	now := time.Now()
	for i := range 100 {
		name := fmt.Sprintf("gw-%d", i)
		v.apply(append(append([]record{{Kind: kindSnapBegin, Instance: name}}, setup(name)...), record{Kind: kindSnapEnd, Instance: name}), now)
	}
	for i := range b.N {
		rs := fill(i, fmt.Sprintf("gw-%d", i%100), now.UnixNano()+int64(i))
		if i == 0 {
			enc, _ := encodeRecords(rs[:1])
			b.ReportMetric(float64(len(enc)), "record-B")
		}
		v.apply(rs, now)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "heap-B/client")
	runtime.KeepAlive(v)
}

// BenchmarkDirectoryMemory measures what the directory holds per client
// of the cluster, as every instance holds it: b.N clients connected over
// 100 instances, one in ten with a persistent session of one
// subscription, and a clean session's filter per instance. Reported as
// heap bytes per client and the bytes of its connect record.
func BenchmarkDirectoryMemory(b *testing.B) {
	directoryHeap(b, func(name string) []record {
		return []record{{Kind: kindSubscribe, Instance: name, Filter: "vehicles/+/cmd", Count: 1}}
	}, func(i int, name string, at int64) []record {
		client := fmt.Sprintf("GID_vehicle@@@car%07d", i)
		rs := []record{{Kind: kindConnect, Instance: name, Client: client, At: at}}
		if i%10 == 0 {
			rs = append(rs, record{Kind: kindSession, Instance: name, Session: &Session{Client: client, Owner: name, Online: true, Version: at,
				Subs: []broker.SubscriptionState{{Filter: "vehicles/" + client + "/cmd", QoS: 1}}}})
		}
		return rs
	})
}

// BenchmarkDirectoryMemoryOwnFilters measures the directory per client of
// a fleet in which every device subscribes, on a clean session, to a
// filter of its own (vehicles/{client}/cmd): b.N clients over 100
// instances. Reported as heap bytes per client.
func BenchmarkDirectoryMemoryOwnFilters(b *testing.B) {
	directoryHeap(b, func(string) []record { return nil }, func(i int, name string, at int64) []record {
		client := fmt.Sprintf("GID_vehicle@@@car%07d", i)
		return []record{
			{Kind: kindConnect, Instance: name, Client: client, At: at},
			{Kind: kindSubscribe, Instance: name, Filter: "vehicles/" + client + "/cmd"},
		}
	})
}
