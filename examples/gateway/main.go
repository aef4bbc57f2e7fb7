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
// SIGINT or SIGTERM stops the gateway cleanly: it stops consuming,
// disconnects the devices, and closes its RocketMQ clients.
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
