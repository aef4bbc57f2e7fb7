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
	want := map[string]string{"qoslevel": "1", "cleansessionflag": "true", "mqttSecondTopic": "/a"}
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
		if d.String() != "alibaba-cloud" || d.DownlinkTag() != mqttrmq.TagToMQTT {
			t.Errorf("(%#v) is %v, tag %q; want the default", d, d, d.DownlinkTag())
		}
	}
}

// TestParseDialect: ParseDialect returned a fresh pointer, so that
// d == mqttrmq.ApacheRocketMQMQTT was false for a parsed d and the examples
// compared String() instead. It returns the package's own dialects now, and
// Is tells a configured copy's dialect.
func TestParseDialect(t *testing.T) {
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		got, err := mqttrmq.ParseDialect(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDialect(%q) = %p, %v; want %p, the package's own", d.String(), got, err, d)
		}
		var fs mqttrmq.FilterSet
		if c := d.WithFilters(&fs); c == d || !c.Is(d) || c.Is(other(d)) || !d.Is(c) {
			t.Errorf("%v.WithFilters: Is does not tell its dialect", d)
		}
	}
	if _, err := mqttrmq.ParseDialect("apache"); !errors.Is(err, mqttrmq.ErrInvalidDialect) {
		t.Errorf("ParseDialect(apache) = %v; want ErrInvalidDialect", err)
	}
}

// other returns the dialect d is not.
func other(d *mqttrmq.Dialect) *mqttrmq.Dialect {
	if d.Is(mqttrmq.ApacheRocketMQMQTT) {
		return mqttrmq.AlibabaCloud
	}
	return mqttrmq.ApacheRocketMQMQTT
}

func TestDialectKeys(t *testing.T) {
	for _, c := range []struct {
		d                                    *mqttrmq.Dialect
		qos, clean, client, topic, user, tag string
	}{
		{mqttrmq.AlibabaCloud, "qoslevel", "cleansessionflag", "clientId", "mqttSecondTopic", "mqtt5UserProperty", "MQ2MQTT"},
		{mqttrmq.ApacheRocketMQMQTT, "qosLevel", "cleanSessionFlag", "clientId", "originMqttTopic", "extData", "MQTT_COMMON"},
	} {
		got := []string{c.d.QoSKey(), c.d.CleanSessionKey(), c.d.ClientIDKey(), c.d.TopicKey(), c.d.UserPropertiesKey(), c.d.DownlinkTag()}
		want := []string{c.qos, c.clean, c.client, c.topic, c.user, c.tag}
		if !cmp.Equal(got, want) {
			t.Errorf("%v keys = %q; want %q", c.d, got, want)
		}
	}
}

// TestDialectAccessors reads messages with each dialect: both accept every
// spelling, and refuse spellings that disagree.
func TestDialectAccessors(t *testing.T) {
	msg := primitive.NewMessage("t", nil)
	msg.WithProperty("qoslevel", "2")
	msg.WithProperty("qosLevel", "2")
	msg.WithProperty("cleanSessionFlag", "false")
	msg.WithProperty("clientId", "c1")
	ext := primitive.NewMessage("t", nil)
	ext.WithProperty("extData", `{"qosLevel":"0","k":"v"}`)
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		if q, err := d.QoSOf(msg); q != 2 || err != nil {
			t.Errorf("%v.QoSOf(qoslevel 2, qosLevel 2) = %v, %v; want 2", d, q, err)
		}
		if c, err := d.CleanSessionOf(msg); c || err != nil {
			t.Errorf("%v.CleanSessionOf = %v, %v; want false", d, c, err)
		}
		if id := d.ClientIDOf(msg); id != "c1" {
			t.Errorf("%v.ClientIDOf = %q", d, id)
		}
		// Both read extData's qosLevel and user properties.
		if q, err := d.QoSOf(ext); q != 0 || err != nil {
			t.Errorf("%v.QoSOf(extData qosLevel 0) = %v, %v", d, q, err)
		}
		up, err := d.UserPropertiesOf(ext)
		if want := []mqttrmq.UserProperty{{Key: "k", Value: "v"}}; err != nil || !cmp.Equal(up, want) {
			t.Errorf("%v.UserPropertiesOf = %v, %v; want %v", d, up, err, want)
		}
	}
	bad := primitive.NewMessage("t", nil)
	bad.WithProperty("extData", `{"qosLevel":"x"}`)
	if _, err := mqttrmq.QoSOf(bad); !errors.Is(err, mqttrmq.ErrInvalidProperty) {
		t.Errorf("QoSOf(extData qosLevel x) = %v; want ErrInvalidProperty", err)
	}
}

// TestHostedReaderReadsApacheMessages: the hosted reader accepted the Apache
// spellings of QoS and clean session but ignored originMqttTopic and
// extData, so that a message ToRocketMQ wrote in the Apache dialect for t/a/b
// with a user property read back as topic t, without it, and no error. Every
// reader now reads what either dialect writes, and both read every message
// alike.
func TestHostedReaderReadsApacheMessages(t *testing.T) {
	p := mqttrmq.Publish{Topic: "t/a/b", QoS: 2, ClientID: "GID_car@@@v1",
		Payload: []byte("x"), UserProperties: []mqttrmq.UserProperty{{Key: "unit", Value: "km/h"}}}
	for _, writer := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		msg := primitive.NewMessage("", p.Payload)
		topic, err := writer.ToRocketMQ(p, msg)
		if err != nil {
			t.Fatal(err)
		}
		received := overTheWire(msg)
		for name, read := range map[string]func(string, mqttrmq.Properties, []byte) (mqttrmq.Publish, error){
			"FromRocketMQ":                      mqttrmq.FromRocketMQ,
			"alibaba-cloud.FromRocketMQ":        mqttrmq.AlibabaCloud.FromRocketMQ,
			"apache-rocketmq-mqtt.FromRocketMQ": mqttrmq.ApacheRocketMQMQTT.FromRocketMQ,
		} {
			got, err := read(topic, received, p.Payload)
			if err != nil {
				t.Errorf("%s of what %v wrote = %v", name, writer, err)
				continue
			}
			if diff := cmp.Diff(p, got); diff != "" {
				t.Errorf("%s of what %v wrote (-want +got):\n%s", name, writer, diff)
			}
		}
	}

	// What a message says twice must agree, or no reader reads it.
	for _, props := range []map[string]string{
		{"originMqttTopic": "t/a/b", "mqttSecondTopic": "/a"},
		{"originMqttTopic": "t/a/b", "INNER_MULTI_DISPATCH": "%LMQ%t%a%"},
		{"mqttSecondTopic": "/a", "INNER_MULTI_DISPATCH": "%LMQ%t%a%b%"},
		{"originMqttTopic": "other/a"}, // the first level is the RocketMQ topic
		{"INNER_MULTI_DISPATCH": "%LMQ%other%a%"},
		{"mqttRealTopic": "t/x", "extData": `{"mqttRealTopic":"t/y"}`},
		{"qoslevel": "0", "qosLevel": "2"},
		{"qoslevel": "1", "extData": `{"qosLevel":"0"}`},
		{"cleansessionflag": "true", "cleanSessionFlag": "false"},
		{"mqtt5UserProperty": `[{"key":"k","value":"v"}]`, "extData": `{"k":"w"}`},
	} {
		m := primitive.NewMessage("t", nil)
		for k, v := range props {
			m.WithProperty(k, v)
		}
		for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
			if got, err := d.FromRocketMQ("t", overTheWire(m), nil); !errors.Is(err, mqttrmq.ErrInvalidProperty) {
				t.Errorf("%v.FromRocketMQ(%q) = %+v, %v; want ErrInvalidProperty", d, props, got, err)
			}
		}
	}
	// Agreeing, they are read.
	m := primitive.NewMessage("t", nil)
	for k, v := range map[string]string{
		"originMqttTopic": "t/a", "mqttSecondTopic": "/a", "INNER_MULTI_DISPATCH": "%LMQ%t%a%,%LMQ%t%+%",
		"qoslevel": "0", "qosLevel": "0", "extData": `{"qosLevel":"0","k":"v"}`,
		"mqtt5UserProperty": `[{"key":"k","value":"v"}]`, "cleansessionflag": "FALSE", "cleanSessionFlag": "false",
	} {
		m.WithProperty(k, v)
	}
	want := mqttrmq.Publish{Topic: "t/a", QoS: 0, PersistentSession: true, UserProperties: []mqttrmq.UserProperty{{Key: "k", Value: "v"}}}
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		got, err := d.FromRocketMQ("t", overTheWire(m), nil)
		if diff := cmp.Diff(want, got); err != nil || diff != "" {
			t.Errorf("%v.FromRocketMQ(agreeing spellings) = %v (-want +got):\n%s", d, err, diff)
		}
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
		props map[string]string
		want  string
	}{
		{map[string]string{"mqttSecondTopic": "/p2p/GID_car@@@v1", "mqttRealTopic": "vehicles/cmd"}, "GID_car@@@v1"},
		{map[string]string{"originMqttTopic": "vehicles/p2p/GID_car@@@v1"}, "GID_car@@@v1"},
		{map[string]string{"INNER_MULTI_DISPATCH": "%LMQ%%p2p%GID_car@@@v1%"}, "GID_car@@@v1"},
		{map[string]string{"INNER_MULTI_DISPATCH": "%LMQ%vehicles%p2p%GID_car@@@v1%"}, "GID_car@@@v1"},
		{map[string]string{"INNER_MULTI_DISPATCH": "%LMQ%%p2p%a%b%"}, ""},
		{map[string]string{"originMqttTopic": "vehicles/v1/cmd", "INNER_MULTI_DISPATCH": "%LMQ%%p2p%x%"}, ""},
		{map[string]string{"originMqttTopic": "vehicles/p2p/x", "mqttSecondTopic": "/p2p/y"}, ""},
		{map[string]string{"mqttSecondTopic": "/p2p/a/b"}, ""},
		{map[string]string{"mqttSecondTopic": "/cmd"}, ""},
	} {
		m := primitive.NewMessage("vehicles", nil)
		for k, v := range c.props {
			m.WithProperty(k, v)
		}
		for _, d := range []*mqttrmq.Dialect{nil, mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
			got, ok := d.P2PTargetOf(overTheWire(m))
			if got != c.want || ok != (c.want != "") {
				t.Errorf("%v.P2PTargetOf(%q) = %q, %v; want %q", d, c.props, got, ok, c.want)
			}
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

// TestOneApacheMessageHasOneReading: with INNER_MULTI_DISPATCH =
// %LMQ%a%b%,%LMQ%%p2p%x%, FromRocketMQ said topic a/b while P2PTargetOf
// said P2P to x, so that a gateway using both would decide delivery and
// privacy differently. The rule is now one: a list naming a topic and a
// client, two topics or two clients is addressed to no one topic;
// FromRocketMQ refuses it and P2PTargetOf reports no target. For every
// message FromRocketMQ accepts, P2PTargetOf agrees with the topic it is
// addressed to.
func TestOneApacheMessageHasOneReading(t *testing.T) {
	for _, list := range []string{
		"%LMQ%a%b%,%LMQ%%p2p%x%",
		"%LMQ%%p2p%x%,%LMQ%a%b%",
		"%LMQ%%p2p%x%,%LMQ%a%+%",
		"%LMQ%%p2p%x%,%LMQ%%p2p%y%",
		"%LMQ%a%b%,%LMQ%a%c%",
	} {
		m := primitive.NewMessage("a", nil)
		m.WithProperty(mqttrmq.PropDispatch, list)
		for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
			p, err := d.FromRocketMQ("a", m, nil)
			if !errors.Is(err, mqttrmq.ErrInvalidProperty) {
				t.Errorf("%v.FromRocketMQ(INNER_MULTI_DISPATCH %s) = %q, %v; want ErrInvalidProperty", d, list, p.Topic, err)
			}
			if id, ok := d.P2PTargetOf(m); ok {
				t.Errorf("%v.P2PTargetOf(INNER_MULTI_DISPATCH %s) = %q; want no target", d, list, id)
			}
		}
	}
	// The same queue twice is one address.
	m := primitive.NewMessage("a", nil)
	m.WithProperty(mqttrmq.PropDispatch, "%LMQ%%p2p%x%,%LMQ%%p2p%x%")
	if p, err := mqttrmq.ApacheRocketMQMQTT.FromRocketMQ("a", m, nil); err != nil || p.Topic != "a/p2p/x" {
		t.Errorf("FromRocketMQ(one P2P queue twice) = %q, %v; want a/p2p/x", p.Topic, err)
	}
	if id, ok := mqttrmq.ApacheRocketMQMQTT.P2PTargetOf(m); !ok || id != "x" {
		t.Errorf("P2PTargetOf(one P2P queue twice) = %q, %v; want x", id, ok)
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
