package main

import (
	"context"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq"
)

// vehicle is a simulated device: a real paho MQTT client, as a device
// program for the hosted service would run it.
type vehicle struct {
	name  string // car1, car2, ...
	id    string // its client ID, GID_vehicle@@@car1
	index int
	sys   *system

	client paho.Client
}

// connect connects the vehicle to the gateway and subscribes it to the
// commands for every vehicle. P2P commands need no subscription.
func (v *vehicle) connect(ctx context.Context) error {
	o := paho.NewClientOptions().
		AddBroker("tcp://" + v.sys.gw.Addr()).
		SetClientID(v.id).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectTimeout(5 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetDefaultPublishHandler(v.received) // subscribed or not (P2P), every message lands here
	v.client = paho.NewClient(o)
	v.sys.vehicles = append(v.sys.vehicles, v)
	if err := await(ctx, v.client.Connect()); err != nil {
		return fmt.Errorf("%s: connect to %s: %w", v.name, v.sys.gw.Addr(), err)
	}
	filter := v.sys.opts.topic + commandFilter
	tok := v.client.Subscribe(filter, 1, nil)
	if err := await(ctx, tok); err != nil {
		return fmt.Errorf("%s: subscribe %s: %w", v.name, filter, err)
	}
	if code := tok.(*paho.SubscribeToken).Result()[filter]; code > 2 {
		return fmt.Errorf("%s: subscribe %s: refused (%#x)", v.name, filter, code)
	}
	v.sys.con.printf("%-8s connected as %s, subscribed to %s\n", v.name, v.id, filter)
	return nil
}

// telemetryTopic is where the vehicle publishes its telemetry.
func (v *vehicle) telemetryTopic() string { return v.sys.opts.topic + "/telemetry/" + v.name }

// telemetry is the payload of the vehicle's seq-th message.
func (v *vehicle) telemetry(seq int) string {
	return fmt.Sprintf(`{"vehicle":%q,"seq":%d,"speed_kmh":%d,"battery_pct":%d,"run":%q}`,
		v.name, seq, 30+10*v.index+3*seq, 90-7*v.index-seq, v.sys.run)
}

// publishTelemetry publishes n messages at QoS 1. Each returns once the
// gateway acknowledged it, which it does only after RocketMQ stored it.
func (v *vehicle) publishTelemetry(ctx context.Context, n int) error {
	topic := v.telemetryTopic()
	for seq := 1; seq <= n; seq++ {
		payload := v.telemetry(seq)
		v.sys.con.printf("%-8s → %s qos 1: %s\n", v.name, topic, payload)
		if err := await(ctx, v.client.Publish(topic, 1, false, payload)); err != nil {
			return fmt.Errorf("%s: publish %s: %w", v.name, topic, err)
		}
	}
	return nil
}

// received prints and counts a message the gateway delivered.
func (v *vehicle) received(_ paho.Client, m paho.Message) {
	k := broadcast
	if _, target, ok := mqttrmq.ParseP2PTopic(m.Topic()); ok && target == v.id {
		k = p2p
	}
	note := v.sys.tally.arrive(k, v.id+" "+m.Topic()+" "+string(m.Payload()))
	v.sys.con.printf("%-8s ← %s qos %d: %s%s\n", v.name, m.Topic(), m.Qos(), m.Payload(), note)
}

func (v *vehicle) disconnect() {
	if v.client.IsConnectionOpen() {
		v.client.Disconnect(100)
	}
}

// await waits for a paho operation, at most until ctx is done.
func await(ctx context.Context, t paho.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}
