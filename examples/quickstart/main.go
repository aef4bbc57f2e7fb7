// Quickstart runs the whole system in one process: RocketMQ, the gateway,
// three vehicles and a backend service, all of them the real clients.
//
//	go run ./examples/quickstart
//
// The vehicles (paho MQTT clients, client IDs GID_vehicle@@@car1..3)
// publish telemetry to vehicles/telemetry/{car}; the gateway maps each
// message onto the RocketMQ topic "vehicles"; the backend (a
// rocketmq-client-go push consumer) reads them back with
// mqttrmq.FromRocketMQ. The backend then sends one command to each vehicle
// point to point (mqttrmq.SetP2P) and one to every vehicle at once, on the
// subtopic vehicles/cmd/all that they all subscribed to. The run ends with
//
//	quickstart: uplink 9/9, p2p 3/3, broadcast 3/3
//
// and exits 0 only when every count is complete.
//
// By default RocketMQ is rocketmqtest, in process. With -namesrv ip:port it
// is a real RocketMQ, which must already hold the topic (-topic, default
// vehicles).
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
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}
