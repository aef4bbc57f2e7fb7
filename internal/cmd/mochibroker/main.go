// Command mochibroker runs a plain mochi-mqtt v2 broker, the baseline the
// benchmarks set beside the gateway: mochi's default options (capabilities,
// buffers, limits), everyone allowed in, one TCP listener, no hook of the
// gateway's. Its log goes to stderr at warning level, so that logging every
// connection costs it nothing the gateway's quieter log does not.
//
//	mochibroker -listen 127.0.0.1:1883
//
// It prints "listening ADDRESS" once it accepts connections; SIGINT or
// SIGTERM stops it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:1883", "MQTT listen `address`")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen); err != nil {
		fmt.Fprintln(os.Stderr, "mochibroker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, listen string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b := mqtt.New(&mqtt.Options{Logger: log})
	if err := b.AddHook(new(auth.AllowHook), nil); err != nil {
		return err
	}
	ln := listeners.NewTCP(listeners.Config{ID: "tcp", Address: listen})
	if err := b.AddListener(ln); err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	if err := b.Serve(); err != nil {
		return errors.Join(err, b.Close())
	}
	fmt.Println("listening", ln.Address())
	<-ctx.Done()
	return b.Close()
}
