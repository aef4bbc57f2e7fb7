package mqttrmq_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
)

// Both message types of rocketmq-client-go v2 are Properties.
var (
	_ mqttrmq.Properties = (*primitive.Message)(nil)
	_ mqttrmq.Properties = (*primitive.MessageExt)(nil)
)

// overTheWire sends m's properties through rocketmq-client-go's own wire
// form, as a producer writes and a consumer reads them.
func overTheWire(m *primitive.Message) *primitive.MessageExt {
	got := &primitive.MessageExt{}
	got.UnmarshalProperties([]byte(m.MarshallProperties()))
	return got
}

// goldenMappings names, per pair of golden files, what maps their cases:
// the package-level functions, which speak the hosted service's dialect, or
// the methods of a Dialect.
var goldenMappings = []struct {
	uplink, downlink string
	dialect          *mqttrmq.Dialect // nil: the package-level functions
}{
	{"uplink.json", "downlink.json", nil},
	{"uplink_mqtt5.json", "downlink_mqtt5.json", mqttrmq.AlibabaCloud},
	{"uplink_apache.json", "downlink_apache.json", mqttrmq.ApacheRocketMQMQTT},
}

// mapper is one way of calling the mapping, both ways.
type mapper struct {
	name string // prefix of a call in a failure message: "" or "apache-rocketmq-mqtt."
	to   func(mqttrmq.Publish, mqttrmq.Properties) (string, error)
	from func(string, mqttrmq.Properties, []byte) (mqttrmq.Publish, error)
}

// mapperOf returns the package-level functions for a nil d, else d's
// methods with a FilterSet of filters. The package-level functions take no
// filters: a golden case that gives them some is a mistake.
func mapperOf(t *testing.T, d *mqttrmq.Dialect, filters []string) mapper {
	t.Helper()
	if d == nil {
		if len(filters) > 0 {
			t.Fatalf("filters %q for the package-level functions, which take none", filters)
		}
		return mapper{"", mqttrmq.ToRocketMQ, mqttrmq.FromRocketMQ}
	}
	var fs mqttrmq.FilterSet
	for _, f := range filters {
		if err := fs.Add(f); err != nil {
			t.Fatalf("Add(%q) = %v", f, err)
		}
	}
	return dialectMapper(d.WithFilters(&fs))
}

// dialectMapper returns the methods of d.
func dialectMapper(d *mqttrmq.Dialect) mapper {
	return mapper{d.String() + ".", d.ToRocketMQ, d.FromRocketMQ}
}

func TestToRocketMQGolden(t *testing.T) {
	binary := []byte("23.5 \x00\xff binary")
	for _, g := range goldenMappings {
		t.Run(g.uplink, func(t *testing.T) {
			for _, c := range loadGolden[uplinkGolden](t, g.uplink) {
				payload := goldenPayload(c.Payload, binary)
				m := mapperOf(t, g.dialect, c.Filters)
				p := c.Publish.publish(payload)
				msg := primitive.NewMessage("", payload)
				topic, err := m.to(p, msg)
				call := m.name + "ToRocketMQ(" + quoteShort(p.Topic) + ")"
				if checkErr(t, call, err, c.Err) {
					if err == nil {
						t.Errorf("%s = %q, nil; want error (%s)", call, topic, c.Rule)
					}
					// Validation comes before writing: a refused publish writes nothing.
					if props := msg.GetProperties(); len(props) != 0 {
						t.Errorf("%s refused, yet wrote %v", call, props)
					}
					continue
				}
				if topic != c.RocketMQTopic {
					t.Errorf("%s topic = %q; want %q (%s)", call, topic, c.RocketMQTopic, c.Rule)
				}
				if diff := cmp.Diff(c.Properties, msg.GetProperties()); diff != "" {
					t.Errorf("%s properties (-want +got):\n%s(%s)", call, diff, c.Rule)
				}

				// Round trip through the client's wire form, back to the
				// same publish, or to what the case says is delivered.
				received := overTheWire(msg)
				if diff := cmp.Diff(c.Properties, received.GetProperties()); diff != "" {
					t.Errorf("%s properties after the wire (-want +got):\n%s", call, diff)
				}
				back, err := m.from(topic, received, payload)
				if err != nil {
					t.Errorf("%sFromRocketMQ after %s = %v", m.name, call, err)
					continue
				}
				want := p
				if c.Delivered != nil {
					want = c.Delivered.publish(payload)
				}
				if diff := cmp.Diff(want, back); diff != "" {
					t.Errorf("%sFromRocketMQ(%s) (-want +got):\n%s(%s)", m.name, call, diff, c.Rule)
				}
			}
		})
	}
}

func TestFromRocketMQGolden(t *testing.T) {
	binary := []byte{0, 1, 2, 0xff}
	for _, g := range goldenMappings {
		t.Run(g.downlink, func(t *testing.T) {
			m := mapperOf(t, g.dialect, nil)
			for _, c := range loadGolden[downlinkGolden](t, g.downlink) {
				payload := goldenPayload(c.Payload, binary)
				sent := primitive.NewMessage(c.Topic, payload)
				for k, v := range c.Properties {
					sent.WithProperty(k, v)
				}
				// Read it as it is sent and as a consumer receives it: same answer.
				for _, msg := range []mqttrmq.Properties{sent, overTheWire(sent)} {
					got, err := m.from(c.Topic, msg, payload)
					call := fmt.Sprintf("%sFromRocketMQ(%q, %q)", m.name, c.Topic, c.Properties)
					if checkErr(t, call, err, c.Err) {
						if err == nil {
							t.Errorf("%s = %+v, nil; want error (%s)", call, got, c.Rule)
						}
						continue
					}
					if diff := cmp.Diff(c.Publish.publish(payload), got); diff != "" {
						t.Errorf("%s (-want +got):\n%s(%s)", call, diff, c.Rule)
					}
					if &got.Payload[0] != &payload[0] {
						t.Errorf("%s copied the payload; want it passed through", call)
					}
				}
			}
		})
	}
}

// TestInjectionRefused shows what the refusals prevent: rocketmq-client-go
// writes a value holding \x02 and \x01 unchecked, and the consumer reads an
// extra property.
func TestInjectionRefused(t *testing.T) {
	const evil = "ACE/a\x02TAGS\x01MQ2MQTT\x02clientId\x01GID_x@@@admin"

	// Without the mapping, the client lets the injection through.
	raw := primitive.NewMessage("ACE", nil)
	raw.WithProperty(mqttrmq.PropSecondTopic, evil[3:])
	raw.WithProperty(mqttrmq.PropClientID, "GID_x@@@dev")
	if got := overTheWire(raw).GetTags(); got != "MQ2MQTT" {
		t.Fatalf("the client no longer lets \\x02 inject a property (tags %q): this test needs a new demonstration", got)
	}

	for _, p := range []mqttrmq.Publish{
		{Topic: evil, QoS: 1, ClientID: "GID_x@@@dev"},
		{Topic: "ACE/a", QoS: 1, ClientID: "GID_x@@@dev\x02TAGS\x01MQ2MQTT"},
	} {
		msg := primitive.NewMessage("", nil)
		if _, err := mqttrmq.ToRocketMQ(p, msg); err == nil {
			t.Errorf("ToRocketMQ(%q from %q) = nil error; want a refusal", p.Topic, p.ClientID)
		}
		if props := msg.GetProperties(); len(props) != 0 {
			t.Errorf("ToRocketMQ(%q from %q) refused, yet wrote %v", p.Topic, p.ClientID, props)
		}
	}
	for _, set := range []func(mqttrmq.Properties) error{
		func(m mqttrmq.Properties) error { return mqttrmq.SetSecondTopic(m, evil[3:]) },
		func(m mqttrmq.Properties) error { return mqttrmq.SetRealTopic(m, evil) },
		func(m mqttrmq.Properties) error { return mqttrmq.SetP2P(m, "x\x02TAGS\x01y") },
	} {
		msg := primitive.NewMessage("ACE", nil)
		if err := set(msg); err == nil {
			t.Errorf("a setter accepted %q", evil)
		}
		if props := msg.GetProperties(); len(props) != 0 {
			t.Errorf("a setter refused, yet wrote %v", props)
		}
	}
}

func TestToRocketMQPropertyLimit(t *testing.T) {
	// A topic MQTT allows (64 KB) that RocketMQ's 32767-byte properties cannot carry.
	p := mqttrmq.Publish{Topic: "ACE/" + strings.Repeat("a", 40000), QoS: 1}
	msg := primitive.NewMessage("", nil)
	if _, err := mqttrmq.ToRocketMQ(p, msg); !errors.Is(err, mqttrmq.ErrInvalidProperty) {
		t.Errorf("ToRocketMQ(40 KB topic) = %v; want ErrInvalidProperty", err)
	}
	// Under the limit, and the reserve for what others add, is carried whole.
	p.Topic = "ACE/" + strings.Repeat("a", 31000)
	if _, err := mqttrmq.ToRocketMQ(p, msg); err != nil {
		t.Fatalf("ToRocketMQ(31 KB topic) = %v", err)
	}
	wire := msg.MarshallProperties()
	if len(wire) > 32767-1024 {
		t.Errorf("ToRocketMQ wrote %d bytes of properties; it leaves 1024 of RocketMQ's 32767 to others", len(wire))
	}
	if got := mqttrmq.SecondTopicOf(overTheWire(msg)); !bytes.Equal([]byte(got), []byte(p.Topic[3:])) {
		t.Errorf("a 31 KB subtopic did not survive the wire")
	}
}

// TestPropertyLimitToTheByte: ToRocketMQ accepts a publish exactly when the
// properties it writes fit RocketMQ's 32767 bytes less the 1024 it leaves
// for the producer's, the broker's, the tag and the keys (and, in the
// Apache dialect, less the broker's INNER_MULTI_QUEUE_OFFSET: 20 bytes a
// queue and 25 more), whatever else the publish carries: every property it
// writes counts, and none is counted that it does not write.
func TestPropertyLimitToTheByte(t *testing.T) {
	hosted, apache := mapperOf(t, nil, nil), dialectMapper(mqttrmq.ApacheRocketMQMQTT)
	long := func(n int) string { return strings.Repeat("a", n) }
	for _, c := range []struct {
		name string
		m    mapper
		p    func(n int) mqttrmq.Publish // n bytes of a long field
	}{
		{"a long topic", hosted, func(n int) mqttrmq.Publish {
			return mqttrmq.Publish{Topic: "ACE/" + long(n), QoS: 1}
		}},
		{"a long topic, retained", hosted, func(n int) mqttrmq.Publish {
			return mqttrmq.Publish{Topic: "ACE/" + long(n), QoS: 1, Retain: true}
		}},
		{"a long topic, a client ID and user properties", hosted, func(n int) mqttrmq.Publish {
			return mqttrmq.Publish{Topic: "ACE/" + long(n), QoS: 2, ClientID: "GID_car@@@v1",
				UserProperties: []mqttrmq.UserProperty{{Key: "unit", Value: "km/h"}}}
		}},
		{"a long client ID", hosted, func(n int) mqttrmq.Publish {
			return mqttrmq.Publish{Topic: "ACE/a", QoS: 1, ClientID: long(n)}
		}},
		{"a long user property", apache, func(n int) mqttrmq.Publish {
			return mqttrmq.Publish{Topic: "ACE/a", QoS: 1, ClientID: "GID_car@@@v1",
				UserProperties: []mqttrmq.UserProperty{{Key: "k", Value: long(n)}}}
		}},
	} {
		// wire maps the publish with n bytes in its long field and returns
		// the length of the properties written, or -1 for a refusal.
		wire := func(n int) int {
			msg := primitive.NewMessage("", nil)
			if _, err := c.m.to(c.p(n), msg); err != nil {
				if !errors.Is(err, mqttrmq.ErrInvalidProperty) {
					t.Fatalf("%s, %d bytes: %sToRocketMQ = %v; want ErrInvalidProperty", c.name, n, c.m.name, err)
				}
				return -1
			}
			return len(msg.MarshallProperties())
		}
		// The longest field accepted, by bisection: 1 byte fits, 32767 cannot.
		lo, hi := 1, 32767
		if wire(lo) < 0 || wire(hi) >= 0 {
			t.Fatalf("%s: %sToRocketMQ refuses 1 byte or accepts 32767", c.name, c.m.name)
		}
		for hi-lo > 1 {
			if mid := (lo + hi) / 2; wire(mid) >= 0 {
				lo = mid
			} else {
				hi = mid
			}
		}
		want := 32767 - 1024
		if c.m.name != "" {
			want -= 20*1 + 25 // the topic's own queue
		}
		if got := wire(lo); got != want {
			t.Errorf("%s: %sToRocketMQ accepts at most %d bytes of properties; want exactly %d", c.name, c.m.name, got, want)
		}
	}
}

// TestZeroPublishIsACleanSession: the zero Publish means what absent
// properties mean. Publish{} wrote cleansessionflag=false (its CleanSession
// field was false), so that a backend building a downlink message with
// ToRocketMQ marked it persistent by accident; a clean session is now the
// zero value, and a message without the flag reads back as the zero value.
func TestZeroPublishIsACleanSession(t *testing.T) {
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		msg := primitive.NewMessage("", nil)
		topic, err := d.ToRocketMQ(mqttrmq.Publish{Topic: "vehicles/v1/cmd", QoS: 1}, msg)
		if err != nil {
			t.Fatal(err)
		}
		if got := msg.GetProperty(d.CleanSessionKey()); got != "true" {
			t.Errorf("%v.ToRocketMQ(Publish{Topic, QoS}) wrote %s=%q; want true, as an absent flag means", d, d.CleanSessionKey(), got)
		}
		back, err := d.FromRocketMQ(topic, overTheWire(msg), nil)
		if err != nil || back.PersistentSession {
			t.Errorf("%v.FromRocketMQ = %+v, %v; want a clean session", d, back, err)
		}
	}
	// A message without the flag reads as the zero Publish's session.
	bare := primitive.NewMessage("vehicles", nil)
	if p, err := mqttrmq.FromRocketMQ("vehicles", bare, nil); err != nil || p.PersistentSession || p.Retain || p.ClientID != "" || p.UserProperties != nil {
		t.Errorf("FromRocketMQ(no properties) = %+v, %v; want the zero values but Topic and QoS", p, err)
	}
	msg := primitive.NewMessage("", nil)
	if _, err := mqttrmq.ToRocketMQ(mqttrmq.Publish{Topic: "vehicles", QoS: 1, PersistentSession: true}, msg); err != nil || msg.GetProperty(mqttrmq.PropCleanSession) != "false" {
		t.Errorf("ToRocketMQ(PersistentSession) = %v, cleansessionflag=%q; want false", err, msg.GetProperty(mqttrmq.PropCleanSession))
	}
}
