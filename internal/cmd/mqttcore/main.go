// Command mqttcore runs the gateway's MQTT core — package internal/broker
// on the event loops of internal/transport — with nothing behind it:
// everyone allowed in, every subscription granted, every publish
// acknowledged at once and dropped. It is the floor the benchmarks set
// beside the gateway: what the gateway spends beyond it is the mapping
// and RocketMQ's round trip.
//
//	mqttcore -listen 127.0.0.1:1883
//
// It prints "listening ADDRESS" once it accepts connections; SIGINT or
// SIGTERM stops it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/mqttrmq/mqttrmq/internal/broker"
	"github.com/mqttrmq/mqttrmq/internal/transport"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:1883", "MQTT listen `address`")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen, func(addr string) { fmt.Println("listening", addr) }); err != nil {
		fmt.Fprintln(os.Stderr, "mqttcore:", err)
		os.Exit(1)
	}
}

// run serves MQTT on listen until ctx ends; listening hears the address
// once connections are accepted.
func run(ctx context.Context, listen string, listening func(addr string)) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := broker.New(broker.Options{Logger: log}, broker.NopHooks{})
	ts, err := transport.Listen(transport.Config{TCP: listen, Logger: log}, srv)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	listening(ts.Addr(transport.TCP))
	<-ctx.Done()
	ts.Close()
	srv.Close()
	return nil
}
