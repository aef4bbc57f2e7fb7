// Backend is a backend service on rocketmq-client-go v2: it reads what
// devices published, as RocketMQ messages the gateway (or the hosted MQTT
// service) mapped, and sends commands to devices, point to point or to
// every subscriber of a topic. It speaks only RocketMQ.
//
// Read device messages of the parent topic vehicles, until interrupted:
//
//	go run ./examples/backend -namesrv 127.0.0.1:9876 -topic vehicles
//
// Send one device a command, and every subscriber of vehicles/cmd/all another:
//
//	go run ./examples/backend -namesrv 127.0.0.1:9876 -topic vehicles -p2p GID_vehicle@@@car1 -msg unlock
//	go run ./examples/backend -namesrv 127.0.0.1:9876 -topic vehicles -broadcast /cmd/all -msg stop
//
// Ask one device something and wait for its answer (MQTT 5 request/response:
// a Response Topic and Correlation Data on the request, which the device's
// answer carries back; see the device's -respond):
//
//	go run ./examples/backend -namesrv 127.0.0.1:9876 -topic vehicles -request GID_vehicle@@@car1 -msg status -expiry 30s
//
// Print who comes and goes, from the gateway's -status-topic, besides the
// device messages:
//
//	go run ./examples/backend -namesrv 127.0.0.1:9876 -topic vehicles -presence status
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
		fmt.Fprintln(os.Stderr, "backend:", err)
		os.Exit(1)
	}
}
