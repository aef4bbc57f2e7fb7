package gateway_test

import (
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
)

// TestWill: when a device drops off the network, its will goes through
// RocketMQ like any publish of its own: a backend reads it with the
// device's client ID, and subscribers on every instance get it.
func TestWill(t *testing.T) {
	onBoth(t, willThroughRocketMQ)
}

func willThroughRocketMQ(t *testing.T, s rocketMQ) {
	a := startGateway(t, s, nil)
	b := startGateway(t, s, nil)
	reader := collect(t, s, "vehicles", gateway.UplinkTag)
	watcher := connect(t, b, "GID_car@@@watcher")
	watcher.mustSubscribe(t, "vehicles/status/+", 1)
	knows(t, a, "vehicles/status/v1", "", 1)

	var network cuttable
	connect(t, a, "GID_car@@@v1", network.use, func(o *paho.ClientOptions) {
		o.SetWill("vehicles/status/v1", "offline", 1, false)
	})
	network.cut()

	if got := watcher.next(t); got.Topic != "vehicles/status/v1" || got.Payload != "offline" {
		t.Errorf("watcher on the other instance got %+v; want the will", got)
	}
	m := reader.wait(t, 1)[0]
	if id := mqttrmq.ClientIDOf(m); id != "GID_car@@@v1" || string(m.Body) != "offline" {
		t.Errorf("backend read %q from %q; want the will from GID_car@@@v1", m.Body, id)
	}
}

// TestWillRefused: a will the SPEC refuses never reaches RocketMQ nor anyone.
func TestWillRefused(t *testing.T) {
	onBoth(t, willRefused)
}

func willRefused(t *testing.T, s rocketMQ) {
	g := startGateway(t, s, nil)
	var network cuttable
	connect(t, g, "GID_car@@@v1", network.use, func(o *paho.ClientOptions) {
		o.SetWill("elsewhere/status", "offline", 1, false) // not a parent topic this gateway serves
	})
	network.cut()
	eventually(t, "the will refused", func() bool { return g.Stats().UplinkRefused == 1 })
	for _, topic := range storedTopics(t, s) {
		if n := len(s.Messages(topic)); n != 0 && topic != "TBW102" {
			t.Errorf("RocketMQ topic %s holds %d messages; want none", topic, n)
		}
	}
}

// cuttable is a device's network connection, which a test cuts to make
// the device drop off without a DISCONNECT.
type cuttable struct {
	mu   sync.Mutex
	conn net.Conn
}

// use is a deviceOpt that makes the device connect through c.
func (c *cuttable) use(o *paho.ClientOptions) {
	o.SetCustomOpenConnectionFn(func(uri *url.URL, _ paho.ClientOptions) (net.Conn, error) {
		conn, err := net.Dial("tcp", uri.Host)
		c.mu.Lock()
		c.conn = conn
		c.mu.Unlock()
		return conn, err
	})
}

func (c *cuttable) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn.Close()
}

// TestRetained: a retained publish goes through RocketMQ (mqttRetain) and
// is kept by every instance for later subscribers.
func TestRetained(t *testing.T) {
	onBoth(t, retained)
}

func retained(t *testing.T, s rocketMQ) {
	a := startGateway(t, s, nil)
	b := startGateway(t, s, nil)
	joined(t, a, b)
	dev := connect(t, a, "GID_car@@@v1")
	if tok := dev.Publish("vehicles/status/v1", 1, true, "online"); !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	eventually(t, "both instances consumed the retained message", func() bool {
		return a.Stats().DownlinkDelivered == 1 && b.Stats().DownlinkDelivered == 1
	})
	if got := s.Messages("vehicles")[0].GetProperty(mqttrmq.PropRetain); got != "true" {
		t.Errorf("the RocketMQ message does not say retained")
	}
	for i, g := range []*gateway.Gateway{a, b} {
		late := connect(t, g, fmt.Sprintf("GID_car@@@late%d", i))
		late.mustSubscribe(t, "vehicles/status/+", 1)
		if got := late.next(t); got != (received{Topic: "vehicles/status/v1", QoS: 1, Retained: true, Payload: "online"}) {
			t.Errorf("a late subscriber got %+v; want the retained message", got)
		}
	}
}
