//go:build linux

package mqttload

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

// TestTransports: MQTT over TLS, WebSocket and secure WebSocket reaches a
// mochi-mqtt broker listening on each, messages going both ways.
func TestTransports(t *testing.T) {
	ca := testenv.NewCA(t)
	for _, tc := range []struct {
		name string
		tls  bool
		ws   bool
	}{{"tls", true, false}, {"ws", false, true}, {"wss", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			b := mqtt.New(&mqtt.Options{Logger: slog.New(slog.DiscardHandler)})
			if err := b.AddHook(new(auth.AllowHook), nil); err != nil {
				t.Fatal(err)
			}
			// mochi's WebSocket listener reports the address it was
			// given, not the port it took: give it a free one.
			free, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := free.Addr().String()
			free.Close()
			cfg := listeners.Config{ID: tc.name, Address: addr}
			if tc.tls {
				cfg.TLSConfig = ca.Server
			}
			var ln listeners.Listener = listeners.NewTCP(cfg)
			if tc.ws {
				ln = listeners.NewWebsocket(cfg)
			}
			if err := b.AddListener(ln); err != nil {
				t.Fatal(err)
			}
			if err := b.Serve(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })

			d := &Dialer{Server: addr, Timeout: 5 * time.Second}
			if tc.tls {
				d.TLS = &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"}
			}
			if tc.ws {
				d.WebSocket = "/mqtt"
			}
			ctx := context.Background()
			// mochi starts its listeners on goroutines of their own.
			var sub *Conn
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if sub, err = d.Dial(ctx, Connect{ClientID: "sub", KeepAlive: 60}); err == nil || time.Now().After(deadline) {
					break
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			if err := sub.Subscribe(ctx, "t/+", AtLeastOnce); err != nil {
				t.Fatal(err)
			}
			pub, err := d.Dial(ctx, Connect{ClientID: "pub"})
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Close()
			const n = 50
			got := make(chan string, n)
			acked := make(chan uint16, n)
			go sub.Serve(Handler{Publish: func(p Publish) { got <- string(p.Payload) }})
			go pub.Serve(Handler{Puback: func(id uint16) { acked <- id }})
			for i := range n {
				if _, err := pub.Publish("t/x", AtLeastOnce, fmt.Appendf(nil, "m%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			for i := range n {
				select {
				case p := <-got:
					if want := fmt.Sprintf("m%d", i); p != want {
						t.Fatalf("message %d = %q; want %q", i, p, want)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("received %d of %d", i, n)
				}
				select {
				case <-acked:
				case <-time.After(10 * time.Second):
					t.Fatalf("%d of %d PUBACKs", i, n)
				}
			}
		})
	}
}
