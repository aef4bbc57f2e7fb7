// Gateway runs the MQTT gateway of package gateway as a service: devices
// connect to it with MQTT, as they would to the hosted service, and every
// message passes through RocketMQ, where backends read and write it with
// the mapping's properties.
//
//	go run ./examples/gateway -namesrv 10.0.0.5:9876 -topics vehicles \
//		-listen :1883 -access-keys-file keys.txt -metrics :9100
//
// The parent topics must exist in RocketMQ. Devices authenticate with the
// hosted service's Signature (or DeviceCredential) mode against the
// AccessKeys given; -auth allow-all lets everyone in, for trials only.
// SIGINT or SIGTERM drains the gateway and exits 0: it turns unready,
// stops accepting connections, tells MQTT 5 devices to go (to
// -server-reference, when given), closes MQTT 3.1.1 devices one by one
// over -drain-grace, finishes what it is sending to RocketMQ, and closes,
// all within -drain-timeout. With -metrics, /metrics, /healthz and
// /readyz are served on that address. Every flag can be set in a TOML
// file given with -config (see config.go); -print-config shows the
// effective configuration.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}
