package gateway_test

import (
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
)

// command builds a backend message for MQTT clients: parent topic, tag
// MQ2MQTT, and the properties set by set.
func command(t testing.TB, body string, set func(m *primitive.Message) error) *primitive.Message {
	t.Helper()
	m := primitive.NewMessage("vehicles", []byte(body))
	m.WithTag(mqttrmq.TagToMQTT)
	if set != nil {
		if err := set(m); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func TestDownlinkToSubtopic(t *testing.T) {
	s := newRocketMQ(t)
	g := startGateway(t, s, nil)
	be := newBackend(t, s)
	fleet := connect(t, g, "GID_car@@@v1")
	fleet.mustSubscribe(t, "vehicles/cmd/#", 1)
	other := connect(t, g, "GID_car@@@v2")
	other.mustSubscribe(t, "vehicles/status", 1)

	be.send(t, command(t, "all stop", func(m *primitive.Message) error { return mqttrmq.SetSecondTopic(m, "/cmd/all") }))
	be.send(t, command(t, "parent itself", nil)) // no subscriber of "vehicles": nobody gets it
	be.send(t, command(t, "status", func(m *primitive.Message) error { return mqttrmq.SetSecondTopic(m, "/status") }))

	want := received{Topic: "vehicles/cmd/all", QoS: 1, Payload: "all stop"} // absent qoslevel is 1
	if got := fleet.next(t); got != want {
		t.Errorf("fleet got %+v; want %+v", got, want)
	}
	if got := other.next(t); got.Payload != "status" {
		t.Errorf("other got %+v; want the status message", got)
	}
	fleet.none(t)

	// A message without the MQ2MQTT tag is not for MQTT clients.
	untagged := primitive.NewMessage("vehicles", []byte("backend to backend"))
	if err := mqttrmq.SetSecondTopic(untagged, "/status"); err != nil {
		t.Fatal(err)
	}
	be.send(t, untagged)
	be.send(t, command(t, "status 2", func(m *primitive.Message) error { return mqttrmq.SetSecondTopic(m, "/status") }))
	if got := other.next(t); got.Payload != "status 2" {
		t.Errorf("other got %+v; want only the tagged message", got)
	}
}

// TestQoSDowngrade: a subscriber receives min(message QoS, subscription
// QoS) [SPEC §6].
func TestQoSDowngrade(t *testing.T) {
	s := newRocketMQ(t)
	g := startGateway(t, s, nil)
	be := newBackend(t, s)
	subs := map[byte]*device{}
	for q := byte(0); q <= 2; q++ {
		d := connect(t, g, "GID_car@@@q"+string('0'+q))
		d.mustSubscribe(t, "vehicles/qos", q)
		subs[q] = d
	}
	for mq := mqttrmq.QoS(0); mq <= 2; mq++ {
		be.send(t, command(t, "m"+mq.String(), func(m *primitive.Message) error {
			if err := mqttrmq.SetSecondTopic(m, "/qos"); err != nil {
				return err
			}
			return mqttrmq.SetQoS(m, mq)
		}))
		for sq, d := range subs {
			got := d.next(t)
			if want := min(byte(mq), sq); got.QoS != want || got.Payload != "m"+mq.String() {
				t.Errorf("message QoS %v to subscription QoS %d arrived as %+v; want QoS %d", mq, sq, got, want)
			}
		}
	}
}

// TestDownlinkP2P sends a command to one vehicle: it arrives without a
// subscription, on {parent}/p2p/{id} or on mqttRealTopic, and reaches no
// one else, not even a subscriber of vehicles/#.
func TestDownlinkP2P(t *testing.T) {
	s := newRocketMQ(t)
	g := startGateway(t, s, nil)
	be := newBackend(t, s)
	target := connect(t, g, "GID_car@@@v1") // subscribes to nothing
	snoop := connect(t, g, "GID_car@@@v2")
	snoop.mustSubscribe(t, "vehicles/#", 2)

	be.send(t, command(t, "unlock", func(m *primitive.Message) error { return mqttrmq.SetP2P(m, "GID_car@@@v1") }))
	be.send(t, command(t, "honk", func(m *primitive.Message) error {
		if err := mqttrmq.SetP2P(m, "GID_car@@@v1"); err != nil {
			return err
		}
		mqttrmq.SetCleanSession(m, false)
		if err := mqttrmq.SetQoS(m, mqttrmq.AtMostOnce); err != nil {
			return err
		}
		return mqttrmq.SetRealTopic(m, "vehicles/commands")
	}))
	// Sent last, in the same queue: once the snooper has it, anything
	// earlier that could reach it has.
	be.send(t, command(t, "barrier", func(m *primitive.Message) error { return mqttrmq.SetSecondTopic(m, "/news") }))

	got := []received{target.next(t), target.next(t)}
	want := []received{
		{Topic: "vehicles/p2p/GID_car@@@v1", QoS: 1, Payload: "unlock"},
		{Topic: "vehicles/commands", QoS: 0, Payload: "honk"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("target got (-want +got):\n%s", diff)
	}
	if got := snoop.next(t); got.Payload != "barrier" {
		t.Errorf("a vehicles/# subscriber got %+v; want only the barrier", got)
	}
	snoop.none(t)
	if st := g.Stats(); st.DownlinkP2P != 2 {
		t.Errorf("stats = %+v; want 2 P2P deliveries", st)
	}
}

// TestDeviceToDeviceP2P: a device publishes to another's P2P topic; only
// that device receives it, and a backend sees who sent it.
func TestDeviceToDeviceP2P(t *testing.T) {
	s := newRocketMQ(t)
	g := startGateway(t, s, nil)
	sender := connect(t, g, "GID_car@@@v1")
	target := connect(t, g, "GID_car@@@v2")
	snoop := connect(t, g, "GID_car@@@v3")
	snoop.mustSubscribe(t, "vehicles/+/+", 1)
	snoop.mustSubscribe(t, "vehicles/#", 1)

	topic, err := mqttrmq.P2PTopic("vehicles", "GID_car@@@v2")
	if err != nil {
		t.Fatal(err)
	}
	sender.publish(t, topic, 1, "brake")
	if got, want := target.next(t), (received{Topic: topic, QoS: 1, Payload: "brake"}); got != want {
		t.Errorf("target got %+v; want %+v", got, want)
	}
	sender.publish(t, "vehicles/news", 1, "barrier") // same sender, same queue, after the P2P message
	if got := snoop.next(t); got.Payload != "barrier" {
		t.Errorf("snooper got %+v; want only the barrier", got)
	}
	snoop.none(t)
	sender.none(t)
}

// TestSnoopingSubscriptionsRefused: no client may subscribe to another
// client's P2P topic, by name or by wildcard.
func TestSnoopingSubscriptionsRefused(t *testing.T) {
	s := newRocketMQ(t)
	g := startGateway(t, s, nil)
	d := connect(t, g, "GID_car@@@v1")
	for filter, allowed := range map[string]bool{
		"vehicles/p2p/GID_car@@@v2":          false,
		"vehicles/p2p/+":                     false,
		"vehicles/p2p/#":                     false,
		"+/p2p/GID_car@@@v2":                 false, // and the first level is no parent topic
		"$share/g/vehicles/p2p/GID_car@@@v2": false,
		"vehicles/p2p":                       false,
		"vehicles/p2p/GID_car@@@v1/#":        false,
		"vehicles/p2p/GID_car@@@v1":          true, // its own: harmless
		"vehicles/#":                         true, // P2P messages never travel through subscriptions
		"vehicles/+/GID_car@@@v2":            true,
		"unknown/#":                          false, // not a parent topic the gateway serves
		"vehicles/a\x01":                     false, // control character
	} {
		code := d.subscribe(t, filter, 1)
		if (code <= 2) != allowed {
			t.Errorf("subscribe %q = %#x; want allowed=%v", filter, code, allowed)
		}
	}
	if st := g.Stats(); st.SubscribesRefused != 9 {
		t.Errorf("stats = %+v; want 9 refused subscriptions", st)
	}
}
