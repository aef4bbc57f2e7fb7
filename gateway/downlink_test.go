package gateway_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
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
	onBoth(t, downlinkToSubtopic)
}

func downlinkToSubtopic(t *testing.T, s rocketMQ) {
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
		t.Logf("stats %+v", g.Stats())
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
	onBoth(t, qosDowngrade)
}

func qosDowngrade(t *testing.T, s rocketMQ) {
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
	onBoth(t, downlinkP2P)
}

func downlinkP2P(t *testing.T, s rocketMQ) {
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
	onBoth(t, deviceToDeviceP2P)
}

func deviceToDeviceP2P(t *testing.T, s rocketMQ) {
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
	onBoth(t, snoopingSubscriptionsRefused)
}

func snoopingSubscriptionsRefused(t *testing.T, s rocketMQ) {
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

// TestStalledClient: a device that stops reading (keep-alive 0, so the
// broker never times it out) while messages pile up for it, through its
// subscription and as P2P, is disconnected once what waits for it passes
// its bounds (MaxQueuedMessages beyond its in-flight window, or
// MaxQueuedBytes unwritten), and holds up neither the downlink to anyone
// else nor new connections.
func TestStalledClient(t *testing.T) {
	onBoth(t, stalledClient)
}

func stalledClient(t *testing.T, s rocketMQ) {
	g := startGateway(t, s, func(c *gateway.Config) { c.MaxQueuedMessages, c.MaxQueuedBytes = 16, 256<<10 })
	be := newBackend(t, s)
	other := connect(t, g, "GID_car@@@v2")
	other.mustSubscribe(t, "vehicles/status", 1)
	stalled := connectRaw(t, g.Addr(), "GID_car@@@stalled", true)
	defer stalled.Close()
	subscribeRaw(t, stalled, "vehicles/bulk", 1)

	// Far more than the socket buffers between the gateway and the
	// stalled device hold.
	body := string(make([]byte, 64*1024))
	for i := range 256 {
		be.send(t, command(t, body, func(m *primitive.Message) error {
			if i%2 == 0 {
				return mqttrmq.SetP2P(m, "GID_car@@@stalled")
			}
			return mqttrmq.SetSecondTopic(m, "/bulk")
		}))
	}
	be.send(t, command(t, "status", func(m *primitive.Message) error { return mqttrmq.SetSecondTopic(m, "/status") }))
	if got := other.next(t); got.Payload != "status" {
		t.Errorf("other got %+v; want the status sent after the stalled device's messages", got)
	}
	late := connect(t, g, "GID_car@@@v3")
	late.mustSubscribe(t, "vehicles/status", 1)

	// What the stalled device finds once it reads: part of what was sent,
	// then the end of the connection.
	stalled.SetReadDeadline(time.Now().Add(deadline))
	if n, err := io.Copy(io.Discard, stalled); err != nil && !isReset(err) {
		t.Errorf("the stalled device read %d bytes, then %v; want the connection closed", n, err)
	}
	if st := g.Stats(); st.SlowConsumers != 1 {
		t.Errorf("stats = %+v; want 1 slow consumer", st)
	}
}

// connectRaw connects to addr as an MQTT 3.1.1 client with keep-alive 0, and
// returns the connection once the CONNACK is read.
func connectRaw(t testing.TB, addr, clientID string, cleanSession bool) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	handshakeRaw(t, c, clientID, cleanSession)
	return c
}

// handshakeRaw sends CONNECT on c, as connectRaw does, and reads the CONNACK.
func handshakeRaw(t testing.TB, c net.Conn, clientID string, cleanSession bool) {
	t.Helper()
	var flags byte
	if cleanSession {
		flags = 0x02
	}
	// Protocol name and level 4, connect flags, keep-alive 0, client ID.
	body := append([]byte{0, 4, 'M', 'Q', 'T', 'T', 4, flags, 0, 0, 0, byte(len(clientID))}, clientID...)
	if _, err := c.Write(append([]byte{0x10, byte(len(body))}, body...)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(deadline))
	connack := make([]byte, 4)
	if _, err := io.ReadFull(c, connack); err != nil || connack[0] != 0x20 || connack[3] != 0 {
		t.Fatalf("CONNACK % x, %v; want an accepted connection", connack, err)
	}
}

// subscribeRaw subscribes c to filter and reads the SUBACK.
func subscribeRaw(t testing.TB, c net.Conn, filter string, qos byte) {
	t.Helper()
	// Packet ID 1, the filter, its QoS.
	body := append(append([]byte{0, 1, 0, byte(len(filter))}, filter...), qos)
	if _, err := c.Write(append([]byte{0x82, byte(len(body))}, body...)); err != nil {
		t.Fatal(err)
	}
	suback := make([]byte, 5)
	if _, err := io.ReadFull(c, suback); err != nil || suback[0] != 0x90 || suback[4] != qos {
		t.Fatalf("SUBACK % x, %v; want QoS %d granted", suback, err, qos)
	}
}
