package gateway_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/gateway"
)

// TestApacheDialect runs the gateway in Apache RocketMQ-MQTT's dialect:
// uplink messages carry originMqttTopic, qosLevel and the tag MQTT_COMMON,
// and list in INNER_MULTI_DISPATCH the Light Message Queue of the topic and
// of every filter this instance's clients hold that matches it.
func TestApacheDialect(t *testing.T) {
	onBoth(t, apacheDialect)
}

func apacheDialect(t *testing.T, s rocketMQ) {
	g := startGateway(t, s, func(c *gateway.Config) { c.Dialect = mqttrmq.ApacheRocketMQMQTT })
	reader := collect(t, s, "vehicles", mqttrmq.TagMQTTCommon)
	be := newBackend(t, s)

	sub := connect(t, g, "GID_car@@@sub")
	sub.mustSubscribe(t, "vehicles/+/gps", 1)
	sub.mustSubscribe(t, "vehicles/#", 1)
	other := connect(t, g, "GID_car@@@other")
	other.mustSubscribe(t, "vehicles/v2/#", 1) // matches nothing published here
	pub := connect(t, g, "GID_car@@@v1")
	pub.publish(t, "vehicles/v1/gps", 1, "31.2,121.5")

	m := reader.wait(t, 1)[0]
	if got := m.GetProperty(mqttrmq.PropOriginTopic); got != "vehicles/v1/gps" {
		t.Errorf("originMqttTopic = %q", got)
	}
	if got := m.GetProperty("qosLevel"); got != "1" {
		t.Errorf("qosLevel = %q", got)
	}
	if got := m.GetTags(); got != mqttrmq.TagMQTTCommon {
		t.Errorf("tag = %q; want %s", got, mqttrmq.TagMQTTCommon)
	}
	var want []string
	for _, f := range []string{"vehicles/v1/gps", "vehicles/+/gps", "vehicles/#"} {
		q, err := mqttrmq.LMQQueue(f)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, q)
	}
	got := strings.Split(m.GetProperty(mqttrmq.PropDispatch), ",")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("INNER_MULTI_DISPATCH = %v; want %v", got, want)
	}
	p, err := mqttrmq.ApacheRocketMQMQTT.FromRocketMQ(m.Topic, m, m.Body)
	if err != nil || p.Topic != "vehicles/v1/gps" || p.ClientID != "GID_car@@@v1" {
		t.Errorf("ApacheRocketMQMQTT.FromRocketMQ = %+v, %v", p, err)
	}

	// The subscriber gets it once, however many of its filters match.
	if got := sub.next(t); got.Topic != "vehicles/v1/gps" || got.Payload != "31.2,121.5" {
		t.Errorf("subscriber got %+v", got)
	}

	// A backend writing the Apache dialect reaches MQTT clients too.
	cmd := primitive.NewMessage("", []byte("recall"))
	topic, err := mqttrmq.ApacheRocketMQMQTT.ToRocketMQ(mqttrmq.Publish{Topic: "vehicles/v2/cmd", QoS: 1}, cmd)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Topic = topic
	be.send(t, cmd)
	if got := other.next(t); got.Topic != "vehicles/v2/cmd" || got.Payload != "recall" {
		t.Errorf("other got %+v", got)
	}

	// Unsubscribing takes a filter out of the fan-out.
	if tok := sub.Unsubscribe("vehicles/+/gps"); !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	pub.publish(t, "vehicles/v1/gps", 1, "again")
	for _, m := range reader.wait(t, 3) { // the uplinks and the backend's command
		if string(m.Body) == "again" && strings.Contains(m.GetProperty(mqttrmq.PropDispatch), "%+%") {
			t.Errorf("after unsubscribing vehicles/+/gps, INNER_MULTI_DISPATCH = %q", m.GetProperty(mqttrmq.PropDispatch))
		}
	}
}

// TestApacheDialectAfterRestart: the filters of persistent sessions the
// cluster's directory holds, offline ones included, are fanned out to
// like those subscribed on this instance since it started.
func TestApacheDialectAfterRestart(t *testing.T) {
	onBoth(t, apacheDialectAfterRestart)
}

func apacheDialectAfterRestart(t *testing.T, s rocketMQ) {
	reader := collect(t, s, "vehicles", mqttrmq.TagMQTTCommon)
	id := uniq(t, "gw")
	sameInstance := func(c *gateway.Config) { c.Dialect, c.InstanceID = mqttrmq.ApacheRocketMQMQTT, id }

	old := startGateway(t, s, sameInstance)
	sub := connect(t, old, "GID_car@@@sub", persistent)
	sub.mustSubscribe(t, "vehicles/+/gps", 1)
	sub.Disconnect(0)
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	g := startGateway(t, s, sameInstance)
	connect(t, g, "GID_car@@@v1").publish(t, "vehicles/v1/gps", 1, "31.2,121.5")
	want, err := mqttrmq.LMQQueue("vehicles/+/gps")
	if err != nil {
		t.Fatal(err)
	}
	m := reader.wait(t, 1)[0]
	if got := strings.Split(m.GetProperty(mqttrmq.PropDispatch), ","); !slices.Contains(got, want) {
		t.Errorf("INNER_MULTI_DISPATCH = %v; want it to list the restored session's %s", got, want)
	}
}
