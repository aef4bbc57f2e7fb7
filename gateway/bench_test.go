package gateway_test

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// benchDevices publish at once, as a fleet does.
const benchDevices = 50

// BenchmarkUplink measures QoS 1 messages per second from 50 paho devices
// through the gateway into RocketMQ (rocketmqtest), beside the same load
// into a plain embedded broker with no hook at all: the cost of mapping
// every publish and waiting for RocketMQ before acknowledging it.
//
//	go test -run '^$' -bench Uplink -benchtime 20000x -count 5 ./gateway/ | benchstat -col /impl -
func BenchmarkUplink(b *testing.B) {
	b.Run("impl=mochi", func(b *testing.B) {
		broker := mqtt.New(&mqtt.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err := broker.AddHook(new(auth.AllowHook), nil); err != nil {
			b.Fatal(err)
		}
		ln := listeners.NewTCP(listeners.Config{ID: "bench", Address: "127.0.0.1:0"})
		if err := broker.AddListener(ln); err != nil {
			b.Fatal(err)
		}
		if err := broker.Serve(); err != nil {
			b.Fatal(err)
		}
		defer broker.Close()
		publishFleet(b, ln.Address())
	})
	b.Run("impl=gateway", func(b *testing.B) {
		s := newRocketMQ(b)
		g := startGateway(b, s, nil)
		publishFleet(b, g.Addr())
		if st := g.Stats(); st.UplinkSent < int64(b.N) {
			b.Fatalf("RocketMQ took %d of %d messages", st.UplinkSent, b.N)
		}
	})
}

// publishFleet connects the devices, then times b.N QoS 1 publishes shared
// among them, each device keeping its publishes in flight at once.
func publishFleet(b *testing.B, addr string) {
	devices := make([]paho.Client, benchDevices)
	for i := range devices {
		d, err := dial(addr, fmt.Sprintf("GID_bench@@@d%d", i))
		if err != nil {
			b.Fatal(err)
		}
		defer d.Disconnect(0)
		devices[i] = d
	}
	payload := make([]byte, 256)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i, d := range devices {
		n := b.N / benchDevices
		if i < b.N%benchDevices {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks := make([]paho.Token, n)
			for j := range toks {
				toks[j] = d.Publish("vehicles/telemetry", 1, false, payload)
			}
			for _, tok := range toks {
				if !tok.WaitTimeout(time.Minute) || tok.Error() != nil {
					b.Errorf("publish: %v", tok.Error())
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")

}
