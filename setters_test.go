package mqttrmq_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
)

// TestSettersInBothDialects: a backend in the Apache dialect had no setters
// (SetQoS, SetSecondTopic and SetP2P wrote the hosted keys only, and
// ToRocketMQ is for a device's publish). Both dialects have the same
// backend-side API now; each writes its own keys, and what either writes
// reads back the same in both.
func TestSettersInBothDialects(t *testing.T) {
	unit := []mqttrmq.UserProperty{{Key: "unit", Value: "km/h"}}
	for _, c := range []struct {
		d    *mqttrmq.Dialect
		want map[string]string // the P2P command's properties
	}{
		{mqttrmq.AlibabaCloud, map[string]string{
			"TAGS": "MQ2MQTT", "mqttSecondTopic": "/p2p/GID_car@@@v1", "qoslevel": "0", "cleansessionflag": "false",
			"mqttRealTopic": "vehicles/cmd", "mqttRetain": "true", "mqtt5UserProperty": `[{"key":"unit","value":"km/h"}]`,
		}},
		{mqttrmq.ApacheRocketMQMQTT, map[string]string{
			"TAGS": "MQTT_COMMON", "INNER_MULTI_DISPATCH": "%LMQ%%p2p%GID_car@@@v1%", "qosLevel": "0", "cleanSessionFlag": "false",
			"extData": `{"qosLevel":"0","mqttRealTopic":"vehicles/cmd","unit":"km/h"}`,
		}},
	} {
		d := c.d
		m := primitive.NewMessage("vehicles", []byte("unlock"))
		m.WithTag(d.DownlinkTag())
		for name, err := range map[string]error{
			"SetP2P":            d.SetP2P(m, "GID_car@@@v1"),
			"SetQoS":            d.SetQoS(m, mqttrmq.AtMostOnce),
			"SetCleanSession":   d.SetCleanSession(m, false),
			"SetRealTopic":      d.SetRealTopic(m, "vehicles/cmd"),
			"SetUserProperties": d.SetUserProperties(m, unit),
		} {
			if err != nil {
				t.Fatalf("%v.%s = %v", d, name, err)
			}
		}
		retained := d.Is(mqttrmq.AlibabaCloud)
		if err := d.SetRetain(m, true); (err == nil) != retained {
			t.Errorf("%v.SetRetain(true) = %v; only the hosted dialect carries the flag", d, err)
		}
		if diff := cmp.Diff(c.want, m.GetProperties()); diff != "" {
			t.Errorf("%v setters wrote (-want +got):\n%s", d, diff)
		}
		want := mqttrmq.Publish{Topic: "vehicles/cmd", QoS: 0, PersistentSession: true, Retain: retained, Payload: m.Body, UserProperties: unit}
		received := overTheWire(m)
		for _, reader := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
			got, err := reader.FromRocketMQ(m.Topic, received, m.Body)
			if diff := cmp.Diff(want, got); err != nil || diff != "" {
				t.Errorf("%v.FromRocketMQ of %v's command = %v (-want +got):\n%s", reader, d, err, diff)
			}
			if id, ok := reader.P2PTargetOf(received); !ok || id != "GID_car@@@v1" {
				t.Errorf("%v.P2PTargetOf of %v's command = %q, %v", reader, d, id, ok)
			}
		}

		// A broadcast, to the subscribers of a topic and of its filters.
		var fs mqttrmq.FilterSet
		if err := fs.Add("vehicles/#"); err != nil {
			t.Fatal(err)
		}
		b := primitive.NewMessage("", []byte("return"))
		var err error
		if b.Topic, err = d.WithFilters(&fs).SetTopic(b, "vehicles/cmd/all"); err != nil || b.Topic != "vehicles" {
			t.Fatalf("%v.SetTopic = %q, %v", d, b.Topic, err)
		}
		wantProps := map[string]string{"mqttSecondTopic": "/cmd/all"}
		if d.Is(mqttrmq.ApacheRocketMQMQTT) {
			wantProps = map[string]string{"originMqttTopic": "vehicles/cmd/all", "INNER_MULTI_DISPATCH": "%LMQ%vehicles%cmd%all%,%LMQ%vehicles%#%"}
		}
		if diff := cmp.Diff(wantProps, b.GetProperties()); diff != "" {
			t.Errorf("%v.SetTopic wrote (-want +got):\n%s", d, diff)
		}
		if got, err := mqttrmq.FromRocketMQ(b.Topic, overTheWire(b), nil); err != nil || got.Topic != "vehicles/cmd/all" {
			t.Errorf("FromRocketMQ of %v's broadcast = %q, %v", d, got.Topic, err)
		}
	}
}

// TestSettersRewriteTheOtherDialect: a setter rewrites every place the
// message already holds the field in, so that a message one dialect wrote
// and the other readdresses still has one reading.
func TestSettersRewriteTheOtherDialect(t *testing.T) {
	for _, c := range []struct{ writer, setter *mqttrmq.Dialect }{
		{mqttrmq.ApacheRocketMQMQTT, mqttrmq.AlibabaCloud},
		{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT},
	} {
		m := primitive.NewMessage("", []byte("x"))
		var err error
		m.Topic, err = c.writer.ToRocketMQ(mqttrmq.Publish{Topic: "t/a", QoS: 1, ClientID: "GID_car@@@v1",
			UserProperties: []mqttrmq.UserProperty{{Key: "k", Value: "v"}}}, m)
		if err != nil {
			t.Fatal(err)
		}
		props := []mqttrmq.UserProperty{{Key: "k2", Value: "v2"}}
		s := c.setter
		for name, err := range map[string]error{
			"SetP2P":            s.SetP2P(m, "GID_car@@@v2"),
			"SetQoS":            s.SetQoS(m, 2),
			"SetCleanSession":   s.SetCleanSession(m, false),
			"SetRealTopic":      s.SetRealTopic(m, "t/shown"),
			"SetUserProperties": s.SetUserProperties(m, props),
		} {
			if err != nil {
				t.Fatalf("%v.%s on %v's message = %v", s, name, c.writer, err)
			}
		}
		want := mqttrmq.Publish{Topic: "t/shown", QoS: 2, ClientID: "GID_car@@@v1", PersistentSession: true, UserProperties: props}
		got, err := mqttrmq.FromRocketMQ(m.Topic, overTheWire(m), nil)
		if diff := cmp.Diff(want, got); err != nil || diff != "" {
			t.Errorf("%v's message after %v's setters: FromRocketMQ = %v (-want +got):\n%s\nproperties %q", c.writer, s, err, diff, m.GetProperties())
		}
		if id, ok := mqttrmq.P2PTargetOf(m); !ok || id != "GID_car@@@v2" {
			t.Errorf("%v's message after %v.SetP2P: P2PTargetOf = %q, %v", c.writer, s, id, ok)
		}
		// And back to a topic, from either.
		if _, err := s.SetTopic(m, "t/b"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRealTopic(m, ""); err != nil {
			t.Fatal(err)
		}
		if got, err := mqttrmq.FromRocketMQ(m.Topic, overTheWire(m), nil); err != nil || got.Topic != "t/b" {
			t.Errorf("after %v.SetTopic(t/b): FromRocketMQ = %q, %v; properties %q", s, got.Topic, err, m.GetProperties())
		}
		if _, ok := mqttrmq.P2PTargetOf(m); ok {
			t.Errorf("after %v.SetTopic(t/b) the message is still P2P", s)
		}
	}
}

func TestSettersRefuse(t *testing.T) {
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		refused := func(call string, err, want error, m *primitive.Message) {
			t.Helper()
			if !errors.Is(err, want) {
				t.Errorf("%v.%s = %v; want %v", d, call, err, want)
			}
			if len(m.GetProperties()) != 0 {
				t.Errorf("%v.%s refused, yet wrote %q", d, call, m.GetProperties())
			}
		}
		for _, topic := range []string{"/a", "a/+", "TBW102/a", "v/p2p", "v/p2p/a/b", "v/a\x02b"} {
			m := primitive.NewMessage("", nil)
			_, err := d.SetTopic(m, topic)
			refused("SetTopic("+topic+")", err, mqttrmq.ErrInvalidTopic, m)
		}
		for _, id := range []string{"", "a/b", "+", "a\x01"} {
			m := primitive.NewMessage("v", nil)
			refused("SetP2P("+id+")", d.SetP2P(m, id), mqttrmq.ErrInvalidClientID, m)
		}
		m := primitive.NewMessage("v", nil)
		refused("SetQoS(3)", d.SetQoS(m, 3), mqttrmq.ErrInvalidProperty, m)
		refused("SetRealTopic(a/#)", d.SetRealTopic(m, "a/#"), mqttrmq.ErrInvalidTopic, m)
		refused("SetUserProperties(TAGS)", d.SetUserProperties(m, []mqttrmq.UserProperty{{Key: "TAGS", Value: "x"}}), mqttrmq.ErrInvalidProperty, m)
	}
	// What only the Apache dialect cannot carry.
	d := mqttrmq.ApacheRocketMQMQTT
	m := primitive.NewMessage("v", nil)
	if err := d.SetRetain(m, true); !errors.Is(err, mqttrmq.ErrInvalidProperty) || len(m.GetProperties()) != 0 {
		t.Errorf("apache-rocketmq-mqtt.SetRetain(true) = %v, wrote %q", err, m.GetProperties())
	}
	twice := []mqttrmq.UserProperty{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}}
	if err := d.SetUserProperties(m, twice); !errors.Is(err, mqttrmq.ErrInvalidProperty) || len(m.GetProperties()) != 0 {
		t.Errorf("apache-rocketmq-mqtt.SetUserProperties(a key twice) = %v, wrote %q", err, m.GetProperties())
	}
	if err := mqttrmq.SetUserProperties(m, twice); err != nil {
		t.Errorf("SetUserProperties(a key twice) = %v; the hosted dialect keeps duplicates", err)
	}
	if _, err := d.SetTopic(m, "v/a/"); !errors.Is(err, mqttrmq.ErrInvalidTopic) {
		t.Errorf("apache-rocketmq-mqtt.SetTopic(v/a/) = %v; its queue would be v/a's", err)
	}
	// Nothing set is removed: no properties left.
	for _, err := range []error{mqttrmq.SetUserProperties(m, nil), mqttrmq.SetRetain(m, false)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(m.GetProperties()) != 0 {
		t.Errorf("after removing everything: %q", m.GetProperties())
	}
	// The package-level RetainOf reads what SetRetain writes.
	if err := mqttrmq.SetRetain(m, true); err != nil {
		t.Fatal(err)
	}
	if r, err := mqttrmq.RetainOf(overTheWire(m)); !r || err != nil {
		t.Errorf("RetainOf(SetRetain(true)) = %v, %v", r, err)
	}
	m.WithProperty(mqttrmq.PropRetain, "yes")
	if _, err := mqttrmq.RetainOf(m); !errors.Is(err, mqttrmq.ErrInvalidProperty) {
		t.Errorf("RetainOf(yes) = %v; want ErrInvalidProperty", err)
	}
	// UserPropertiesOf reads what SetUserProperties writes, package-level too.
	props := []mqttrmq.UserProperty{{Key: "a", Value: strings.Repeat("é", 3)}, {Key: "b", Value: ""}}
	if err := mqttrmq.SetUserProperties(m, props); err != nil {
		t.Fatal(err)
	}
	if got, err := mqttrmq.UserPropertiesOf(overTheWire(m)); err != nil || !cmp.Equal(got, props) {
		t.Errorf("UserPropertiesOf(SetUserProperties(%q)) = %q, %v", props, got, err)
	}
}
