// Device is an MQTT device program on paho.mqtt.golang, for the hosted MQTT
// service or for the gateway of this module: it connects with the hosted
// service's client ID and credentials, subscribes, publishes, sends point
// to point (P2P), and prints every message it receives, P2P ones included,
// which arrive without a subscription.
//
//	go run ./examples/device -broker tcp://127.0.0.1:1883 -client GID_vehicle@@@car1 \
//		-mode signature -ak LTAI-demo -sk s3cret -instance mqtt-demo \
//		-sub vehicles/cmd/# -pub vehicles/telemetry/car1 -n 5
//
// With -respond it speaks MQTT 5 and answers requests, such as the
// backend's -request: a message with a Response Topic gets -reply
// published to that topic, with the request's Correlation Data. MQTT 3.1.1
// has neither property, and paho.mqtt.golang speaks only 3.1.1, so this
// mode is built on github.com/eclipse/paho.golang, the Eclipse Paho
// project's MQTT 5 client.
//
//	go run ./examples/device -client GID_vehicle@@@car1 -respond -reply 'parked: {request}'
//
// Every topic and filter is checked with the mapping's rules before it is
// used: the first level must be a RocketMQ topic (the parent topic), and
// control characters, which would corrupt RocketMQ's properties, are
// refused.
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
		fmt.Fprintln(os.Stderr, "device:", err)
		os.Exit(1)
	}
}
