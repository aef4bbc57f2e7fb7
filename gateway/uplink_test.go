package gateway_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
)

// TestUplinkMapping publishes from real paho devices and reads what a real
// backend consumer gets: every SPEC §3 property of an uplink.
func TestUplinkMapping(t *testing.T) {
	onBoth(t, uplinkMapping)
}

func uplinkMapping(t *testing.T, s rocketMQ) {
	g := startGateway(t, s, nil)
	reader := collect(t, s, "vehicles", gateway.UplinkTag)

	clean := connect(t, g, "GID_car@@@v1")
	kept := connect(t, g, "GID_car@@@v2", persistent)
	payload := "\x00\x01binary\xff{\"speed\":42}"
	clean.publish(t, "vehicles/telemetry/speed", 1, payload)
	kept.publish(t, "vehicles", 2, "one level")

	type props map[string]string
	want := map[string]props{
		"GID_car@@@v1": {"qoslevel": "1", "cleansessionflag": "true", "clientId": "GID_car@@@v1", "mqttSecondTopic": "/telemetry/speed"},
		"GID_car@@@v2": {"qoslevel": "2", "cleansessionflag": "false", "clientId": "GID_car@@@v2"},
	}
	for _, m := range reader.wait(t, 2) {
		id := mqttrmq.ClientIDOf(m)
		got := props{}
		for k, v := range m.GetProperties() {
			if strings.HasPrefix(k, "q") || strings.HasPrefix(k, "c") || strings.HasPrefix(k, "mqtt") {
				got[k] = v
			}
		}
		if diff := cmp.Diff(want[id], got); diff != "" {
			t.Errorf("properties of %s's message (-want +got):\n%s", id, diff)
		}
		if m.GetTags() != gateway.UplinkTag {
			t.Errorf("tag of %s's message = %q; want %q", id, m.GetTags(), gateway.UplinkTag)
		}
		p, err := mqttrmq.FromRocketMQ(m.Topic, m, m.Body)
		if err != nil {
			t.Fatalf("FromRocketMQ(%s's message): %v", id, err)
		}
		switch id {
		case "GID_car@@@v1":
			if p.Topic != "vehicles/telemetry/speed" || string(p.Payload) != payload || p.QoS != 1 {
				t.Errorf("v1's message read back as %+v", p)
			}
		case "GID_car@@@v2":
			if p.Topic != "vehicles" || string(p.Payload) != "one level" || p.QoS != 2 || !p.PersistentSession {
				t.Errorf("v2's message read back as %+v", p)
			}
		}
	}
	if st := g.Stats(); st.UplinkSent != 2 || st.UplinkRefused != 0 {
		t.Errorf("stats = %+v; want 2 sent", st)
	}
}

// TestUplinkRefusals publishes what the gateway must refuse and checks that
// nothing reaches RocketMQ, while the device stays connected: MQTT 3.1.1
// can only acknowledge a refused publish or disconnect, and a disconnected
// device would resend it forever.
func TestUplinkRefusals(t *testing.T) {
	onBoth(t, uplinkRefusals)
}

func uplinkRefusals(t *testing.T, s rocketMQ) {
	g := startGateway(t, s, func(c *gateway.Config) { c.MaxPayload = 1024 })
	d := connect(t, g, "GID_car@@@v1")

	for _, tc := range []struct{ topic, payload, why string }{
		{"unknown/a", "x", "parent topic not served"},
		{"vehicles/a\x02TAGS\x01MQ2MQTT", "x", "control characters would inject a property"},
		{"vehicles/a\x7f", "x", "control character"},
		{"vehicles/p2p", "x", "P2P topic without a target"},
		{"vehicles/p2p/a/b", "x", "P2P target is not one level"},
		{"vehicles/big", strings.Repeat("x", 1025), "payload over MaxPayload"},
		{"/vehicles", "x", "no parent"},
	} {
		for _, qos := range []byte{0, 1, 2} {
			d.publish(t, tc.topic, qos, tc.payload) // acknowledged, for QoS 1 and 2
		}
	}
	d.publish(t, "vehicles/ok", 1, "after the refusals") // the connection still works
	eventually(t, "the good publish stored", func() bool { return len(s.Messages("vehicles")) == 1 })
	for _, topic := range storedTopics(t, s) {
		for _, m := range s.Messages(topic) {
			if string(m.Body) != "after the refusals" {
				t.Errorf("RocketMQ topic %s holds a refused publish: %q", topic, m.Body)
			}
		}
	}
	if st := g.Stats(); st.UplinkRefused != 21 || st.UplinkSent != 1 {
		t.Errorf("stats = %+v; want 21 refused, 1 sent", st)
	}
	if !d.IsConnectionOpen() {
		t.Errorf("the device was disconnected")
	}
}

// TestClientIDCannotBeForged shows that clientId comes from the connection:
// a device cannot claim another's ID through anything it publishes.
func TestClientIDCannotBeForged(t *testing.T) {
	onBoth(t, clientIDCannotBeForged)
}

func clientIDCannotBeForged(t *testing.T, s rocketMQ) {
	g := startGateway(t, s, nil)
	d := connect(t, g, "GID_car@@@honest")
	d.publish(t, "vehicles/clientId/GID_car@@@admin", 1, `{"clientId":"GID_car@@@admin"}`)
	eventually(t, "message stored", func() bool { return len(s.Messages("vehicles")) == 1 })
	if got := mqttrmq.ClientIDOf(s.Messages("vehicles")[0]); got != "GID_car@@@honest" {
		t.Errorf("clientId = %q; want the connection's, GID_car@@@honest", got)
	}
}

// TestUplinkLinger: with a SendLinger, devices' messages still reach
// RocketMQ each once, mapped as without, and every QoS 1 publish is
// acknowledged once RocketMQ took it; devices publishing at once share
// the lingering lanes' sends. (Their order in a queue is the sender's
// tests': a consumer here may deliver out of it.)
func TestUplinkLinger(t *testing.T) {
	onBoth(t, uplinkLinger)
}

func uplinkLinger(t *testing.T, s rocketMQ) {
	g := startGateway(t, s, func(c *gateway.Config) { c.SendLinger = 5 * time.Millisecond })
	reader := collect(t, s, "vehicles", gateway.UplinkTag)
	const devices, each = 12, 5
	var wg sync.WaitGroup
	for i := range devices {
		d := connect(t, g, fmt.Sprintf("GID_car@@@linger%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				// The PUBACK comes once RocketMQ took the message.
				tok := d.Publish("vehicles/telemetry", 1, false, fmt.Sprint(j))
				if !tok.WaitTimeout(deadline) || tok.Error() != nil {
					t.Errorf("%s: publish %d not acknowledged: %v", d.id, j, tok.Error())
					return
				}
			}
		}()
	}
	wg.Wait()
	got := map[string][]string{}
	for _, m := range reader.wait(t, devices*each) {
		id := mqttrmq.ClientIDOf(m)
		got[id] = append(got[id], string(m.Body))
		if q := m.GetProperty("qoslevel"); q != "1" || m.GetProperty("mqttSecondTopic") != "/telemetry" {
			t.Errorf("%s's message %q: qoslevel %q, mqttSecondTopic %q; want 1 and /telemetry", id, m.Body, q, m.GetProperty("mqttSecondTopic"))
		}
	}
	for i := range devices {
		id := fmt.Sprintf("GID_car@@@linger%d", i)
		slices.Sort(got[id])
		if want := []string{"0", "1", "2", "3", "4"}; !slices.Equal(got[id], want) {
			t.Errorf("RocketMQ holds for %s %q; want %q, once each", id, got[id], want)
		}
	}
}
