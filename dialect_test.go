package mqttrmq_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
)

// TestDefaultDialectCannotBeChanged: the package-level functions keep the
// hosted dialect whatever a user does to the exported variables.
func TestDefaultDialectCannotBeChanged(t *testing.T) {
	saved, savedValue := mqttrmq.AlibabaCloud, *mqttrmq.AlibabaCloud
	defer func() { mqttrmq.AlibabaCloud, *saved = saved, savedValue }()
	mqttrmq.AlibabaCloud = mqttrmq.ApacheRocketMQMQTT
	*saved = *mqttrmq.ApacheRocketMQMQTT

	msg := primitive.NewMessage("", nil)
	if _, err := mqttrmq.ToRocketMQ(mqttrmq.Publish{Topic: "ACE/a", QoS: 1}, msg); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"qoslevel": "1", "cleansessionflag": "false", "mqttSecondTopic": "/a"}
	if diff := cmp.Diff(want, msg.GetProperties()); diff != "" {
		t.Errorf("ToRocketMQ after reassigning AlibabaCloud (-want +got):\n%s", diff)
	}
	// A nil or zero Dialect is the default too.
	for _, d := range []*mqttrmq.Dialect{nil, {}} {
		msg := primitive.NewMessage("", nil)
		if _, err := d.ToRocketMQ(mqttrmq.Publish{Topic: "ACE/a", QoS: 1}, msg); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, msg.GetProperties()); diff != "" {
			t.Errorf("(%#v).ToRocketMQ (-want +got):\n%s", d, diff)
		}
		if d.String() != "alibaba-cloud" || d.TagToMQTT() != mqttrmq.TagToMQTT {
			t.Errorf("(%#v) is %v, tag %q; want the default", d, d, d.TagToMQTT())
		}
	}
}

func TestParseDialect(t *testing.T) {
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		got, err := mqttrmq.ParseDialect(d.String())
		if err != nil || got.String() != d.String() || got.QoSKey() != d.QoSKey() {
			t.Errorf("ParseDialect(%q) = %v, %v", d.String(), got, err)
		}
	}
	if _, err := mqttrmq.ParseDialect("apache"); !errors.Is(err, mqttrmq.ErrInvalidDialect) {
		t.Errorf("ParseDialect(apache) = %v; want ErrInvalidDialect", err)
	}
}

func TestDialectKeys(t *testing.T) {
	for _, c := range []struct {
		d                                    *mqttrmq.Dialect
		qos, clean, client, topic, user, tag string
	}{
		{mqttrmq.AlibabaCloud, "qoslevel", "cleansessionflag", "clientId", "mqttSecondTopic", "mqtt5UserProperty", "MQ2MQTT"},
		{mqttrmq.ApacheRocketMQMQTT, "qosLevel", "cleanSessionFlag", "clientId", "originMqttTopic", "extData", "MQTT_COMMON"},
	} {
		got := []string{c.d.QoSKey(), c.d.CleanSessionKey(), c.d.ClientIDKey(), c.d.TopicKey(), c.d.UserPropertiesKey(), c.d.TagToMQTT()}
		want := []string{c.qos, c.clean, c.client, c.topic, c.user, c.tag}
		if !cmp.Equal(got, want) {
			t.Errorf("%v keys = %q; want %q", c.d, got, want)
		}
	}
}

// TestDialectAccessors reads one message with each dialect: each prefers its
// own spelling and accepts the other's.
func TestDialectAccessors(t *testing.T) {
	msg := primitive.NewMessage("t", nil)
	msg.WithProperty("qoslevel", "0")
	msg.WithProperty("qosLevel", "2")
	msg.WithProperty("cleanSessionFlag", "false")
	msg.WithProperty("clientId", "c1")
	for d, want := range map[*mqttrmq.Dialect]mqttrmq.QoS{mqttrmq.AlibabaCloud: 0, mqttrmq.ApacheRocketMQMQTT: 2} {
		if q, err := d.QoSOf(msg); q != want || err != nil {
			t.Errorf("%v.QoSOf = %v, %v; want %v", d, q, err, want)
		}
		if c, err := d.CleanSessionOf(msg); c || err != nil {
			t.Errorf("%v.CleanSessionOf = %v, %v; want false", d, c, err)
		}
		if id := d.ClientIDOf(msg); id != "c1" {
			t.Errorf("%v.ClientIDOf = %q", d, id)
		}
	}
	// The Apache dialect falls back on extData's qosLevel.
	ext := primitive.NewMessage("t", nil)
	ext.WithProperty("extData", `{"qosLevel":"0","k":"v"}`)
	if q, err := mqttrmq.ApacheRocketMQMQTT.QoSOf(ext); q != 0 || err != nil {
		t.Errorf("QoSOf(extData qosLevel 0) = %v, %v", q, err)
	}
	if q, err := mqttrmq.AlibabaCloud.QoSOf(ext); q != 1 || err != nil {
		t.Errorf("the hosted dialect read extData: QoSOf = %v, %v", q, err)
	}
	up, err := mqttrmq.ApacheRocketMQMQTT.UserPropertiesOf(ext)
	if want := []mqttrmq.UserProperty{{Key: "k", Value: "v"}}; err != nil || !cmp.Equal(up, want) {
		t.Errorf("UserPropertiesOf = %v, %v; want %v", up, err, want)
	}
	ext.WithProperty("extData", `{"qosLevel":"x"}`)
	if _, err := mqttrmq.ApacheRocketMQMQTT.QoSOf(ext); !errors.Is(err, mqttrmq.ErrInvalidProperty) {
		t.Errorf("QoSOf(extData qosLevel x) = %v; want ErrInvalidProperty", err)
	}
}

// TestApacheEmptyPayload: RocketMQ-MQTT marks an empty MQTT payload with
// IS_EMPTY_MSG and sends a placeholder body; the reader gives the empty
// payload back, and only when both say so.
func TestApacheEmptyPayload(t *testing.T) {
	d := mqttrmq.ApacheRocketMQMQTT
	msg := primitive.NewMessage("", nil)
	if _, err := d.ToRocketMQ(mqttrmq.Publish{Topic: "t/a", QoS: 1}, msg); err != nil {
		t.Fatal(err)
	}
	if got := msg.GetProperty("IS_EMPTY_MSG"); got != "true" {
		t.Errorf("IS_EMPTY_MSG = %q for an empty payload; want true", got)
	}
	placeholder := []byte("\u2605\r\n\t\u2600") // MessageUtil.EMPTYSTRING
	for empty, want := range map[string]int{"true": 0, "TRUE": 0, "false": len(placeholder), "": len(placeholder)} {
		m := primitive.NewMessage("t", placeholder)
		m.WithProperty("originMqttTopic", "t/a")
		m.WithProperty("IS_EMPTY_MSG", empty)
		p, err := d.FromRocketMQ("t", m, placeholder)
		if err != nil || len(p.Payload) != want || p.Payload == nil {
			t.Errorf("FromRocketMQ(placeholder, IS_EMPTY_MSG=%q) payload = %q, %v; want %d bytes", empty, p.Payload, err, want)
		}
	}
}

// TestApacheDispatchPropertyLimit: a topic matching thousands of filters
// needs more queue names than RocketMQ's 32767 bytes of properties carry.
func TestApacheDispatchPropertyLimit(t *testing.T) {
	var fs mqttrmq.FilterSet
	const levels = 12 // every mix of literal and '+' levels matches: 4096 filters
	for mask := range 1 << levels {
		f := "t"
		for i := range levels {
			if mask&(1<<i) != 0 {
				f += "/+"
			} else {
				f += fmt.Sprintf("/l%d", i)
			}
		}
		if err := fs.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	topic := "t/l0/l1/l2/l3/l4/l5/l6/l7/l8/l9/l10/l11"
	if got, _ := fs.Queues(topic); len(got) != 1<<levels {
		t.Fatalf("Queues = %d queues; want %d", len(got), 1<<levels)
	}
	msg := primitive.NewMessage("", nil)
	_, err := mqttrmq.ApacheRocketMQMQTT.WithFilters(&fs).ToRocketMQ(mqttrmq.Publish{Topic: topic, QoS: 1}, msg)
	if !errors.Is(err, mqttrmq.ErrInvalidProperty) || len(msg.GetProperties()) != 0 {
		t.Errorf("ToRocketMQ with 4096 queues = %v, wrote %d properties; want ErrInvalidProperty, nothing", err, len(msg.GetProperties()))
	}
}

func TestDialectP2PTargetOf(t *testing.T) {
	for _, c := range []struct {
		d     *mqttrmq.Dialect
		props map[string]string
		want  string
	}{
		{mqttrmq.AlibabaCloud, map[string]string{"mqttSecondTopic": "/p2p/GID_car@@@v1", "mqttRealTopic": "vehicles/cmd"}, "GID_car@@@v1"},
		{mqttrmq.AlibabaCloud, map[string]string{"originMqttTopic": "vehicles/p2p/GID_car@@@v1"}, ""},
		{mqttrmq.ApacheRocketMQMQTT, map[string]string{"originMqttTopic": "vehicles/p2p/GID_car@@@v1"}, "GID_car@@@v1"},
		{mqttrmq.ApacheRocketMQMQTT, map[string]string{"INNER_MULTI_DISPATCH": "%LMQ%%p2p%GID_car@@@v1%"}, "GID_car@@@v1"},
		{mqttrmq.ApacheRocketMQMQTT, map[string]string{"INNER_MULTI_DISPATCH": "%LMQ%%p2p%a%b%"}, ""},
		{mqttrmq.ApacheRocketMQMQTT, map[string]string{"originMqttTopic": "vehicles/v1/cmd", "INNER_MULTI_DISPATCH": "%LMQ%%p2p%x%"}, ""},
		{mqttrmq.ApacheRocketMQMQTT, map[string]string{"mqttSecondTopic": "/p2p/GID_car@@@v1"}, ""},
	} {
		m := primitive.NewMessage("vehicles", nil)
		for k, v := range c.props {
			m.WithProperty(k, v)
		}
		got, ok := c.d.P2PTargetOf(overTheWire(m))
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%v.P2PTargetOf(%q) = %q, %v; want %q", c.d, c.props, got, ok, c.want)
		}
	}
	// What ToRocketMQ writes for a P2P publish, P2PTargetOf reads.
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		m := primitive.NewMessage("", nil)
		if _, err := d.ToRocketMQ(mqttrmq.Publish{Topic: "vehicles/p2p/GID_car@@@v2", QoS: 1}, m); err != nil {
			t.Fatal(err)
		}
		if got, ok := d.P2PTargetOf(overTheWire(m)); got != "GID_car@@@v2" || !ok {
			t.Errorf("%v.P2PTargetOf(ToRocketMQ(P2P)) = %q, %v", d, got, ok)
		}
	}
}

// TestApacheReaderRefusesInvalidJoinedTopic: without originMqttTopic and
// INNER_MULTI_DISPATCH the Apache reader falls back on mqttSecondTopic, and
// must check the topic it joins, as the hosted reader does: "/" + 65533 ×
// "a" is a valid subtopic on its own but makes, after "ACE", a 65537-byte
// topic that no MQTT client can be sent.
func TestApacheReaderRefusesInvalidJoinedTopic(t *testing.T) {
	second := "/" + strings.Repeat("a", 65533)
	msg := primitive.NewMessage("ACE", nil)
	msg.WithProperty(mqttrmq.PropSecondTopic, second)
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		p, err := d.FromRocketMQ("ACE", msg, nil)
		if !errors.Is(err, mqttrmq.ErrInvalidProperty) {
			t.Errorf("%v.FromRocketMQ(ACE + %d-byte subtopic) = %d-byte topic, %v; want ErrInvalidProperty", d, len(second), len(p.Topic), err)
		}
	}
	// Two bytes shorter, the topic is 65535 bytes, the most MQTT allows:
	// delivered by both.
	msg.WithProperty(mqttrmq.PropSecondTopic, second[:len(second)-2])
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		if p, err := d.FromRocketMQ("ACE", msg, nil); err != nil || len(p.Topic) != 65535 {
			t.Errorf("%v.FromRocketMQ(a 65535-byte topic) = %d bytes, %v", d, len(p.Topic), err)
		}
	}
}
