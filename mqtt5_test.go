package mqttrmq_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/google/go-cmp/cmp"

	"github.com/mqttrmq/mqttrmq"
)

// checkMQTT5Readers holds that each reader of the MQTT 5 message
// properties reads what FromRocketMQ read from m, in both dialects.
func checkMQTT5Readers(t *testing.T, m mqttrmq.Properties, p mqttrmq.Publish) {
	t.Helper()
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		e, err := d.MessageExpiryOf(m)
		utf, err2 := d.PayloadUTF8Of(m)
		ct, err3 := d.ContentTypeOf(m)
		rt, err4 := d.ResponseTopicOf(m)
		cd, err5 := d.CorrelationDataOf(m)
		if err := errors.Join(err, err2, err3, err4, err5); err != nil {
			t.Fatalf("%v readers of %q, which FromRocketMQ read: %v", d, propsOf(m), err)
		}
		if e != p.MessageExpiry || utf != p.PayloadUTF8 || ct != p.ContentType || rt != p.ResponseTopic || !bytes.Equal(cd, p.CorrelationData) || (cd == nil) != (p.CorrelationData == nil) {
			t.Fatalf("%v readers of %q: %v %v %q %q %x; FromRocketMQ read %v %v %q %q %x", d, propsOf(m),
				e, utf, ct, rt, cd, p.MessageExpiry, p.PayloadUTF8, p.ContentType, p.ResponseTopic, p.CorrelationData)
		}
	}
}

func propsOf(m mqttrmq.Properties) map[string]string {
	if l, ok := m.(interface{ GetProperties() map[string]string }); ok {
		return l.GetProperties()
	}
	return nil
}

// TestExpiryRemaining: what is left of an interval, and when it has
// expired [MQTT-3.3.2-5] [MQTT-3.3.2-6].
func TestExpiryRemaining(t *testing.T) {
	born := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		name    string
		e       mqttrmq.Expiry
		born    time.Time
		now     time.Time
		left    mqttrmq.Expiry
		expired bool
	}{
		{"no interval never expires", mqttrmq.Expiry{}, born, born.Add(1000 * time.Hour), mqttrmq.Expiry{}, false},
		{"nothing waited", mqttrmq.ExpiresAfter(30), born, born, mqttrmq.ExpiresAfter(30), false},
		{"part of a second is no whole second", mqttrmq.ExpiresAfter(30), born, born.Add(999 * time.Millisecond), mqttrmq.ExpiresAfter(30), false},
		{"whole seconds are taken off", mqttrmq.ExpiresAfter(30), born, born.Add(10500 * time.Millisecond), mqttrmq.ExpiresAfter(20), false},
		{"the last second", mqttrmq.ExpiresAfter(30), born, born.Add(29999 * time.Millisecond), mqttrmq.ExpiresAfter(1), false},
		{"the whole interval waited", mqttrmq.ExpiresAfter(30), born, born.Add(30 * time.Second), mqttrmq.ExpiresAfter(0), true},
		{"long past", mqttrmq.ExpiresAfter(30), born, born.Add(time.Hour), mqttrmq.ExpiresAfter(0), true},
		{"an interval of 0 has passed at once", mqttrmq.ExpiresAfter(0), born, born, mqttrmq.ExpiresAfter(0), true},
		{"a born time ahead of the reader's clock is no wait", mqttrmq.ExpiresAfter(5), born.Add(time.Minute), born, mqttrmq.ExpiresAfter(5), false},
		{"an unknown born time is no wait", mqttrmq.ExpiresAfter(5), time.Time{}, born, mqttrmq.ExpiresAfter(5), false},
		{"the largest interval", mqttrmq.ExpiresAfter(4294967295), born, born.Add(time.Second), mqttrmq.ExpiresAfter(4294967294), false},
	} {
		left, expired := c.e.Remaining(c.born, c.now)
		if left != c.left || expired != c.expired {
			t.Errorf("%s: %v.Remaining = %v, %v; want %v, %v", c.name, c.e, left, expired, c.left, c.expired)
		}
		p := mqttrmq.Publish{MessageExpiry: c.e, Born: c.born}
		if left, expired := p.ExpiryLeft(c.now); left != c.left || expired != c.expired {
			t.Errorf("%s: ExpiryLeft = %v, %v; want %v, %v", c.name, left, expired, c.left, c.expired)
		}
	}
	if s, ok := mqttrmq.ExpiresAfter(0).Seconds(); s != 0 || !ok || !mqttrmq.ExpiresAfter(0).IsSet() {
		t.Errorf("ExpiresAfter(0) = %d, %v: an interval of 0 is an interval", s, ok)
	}
	if _, ok := (mqttrmq.Expiry{}).Seconds(); ok || (mqttrmq.Expiry{}).IsSet() {
		t.Errorf("the zero Expiry has an interval; want none")
	}
	if got := mqttrmq.ExpiresAfter(30).String() + " " + (mqttrmq.Expiry{}).String(); got != "30s none" {
		t.Errorf("String = %q", got)
	}
}

// TestBornTime: the born time of a received message, read from the field
// of *primitive.MessageExt, and nothing from anything else.
func TestBornTime(t *testing.T) {
	ext := &primitive.MessageExt{BornTimestamp: 1767323045123}
	if got, ok := mqttrmq.BornTime(ext); !ok || !got.Equal(time.UnixMilli(1767323045123)) {
		t.Errorf("BornTime(MessageExt) = %v, %v", got, ok)
	}
	// embedded is a message type whose BornTimestamp is behind a pointer
	// that may be nil: it is not read.
	type embedded struct{ *primitive.MessageExt }
	for name, m := range map[string]mqttrmq.Properties{
		"no timestamp":          &primitive.MessageExt{},
		"negative":              &primitive.MessageExt{BornTimestamp: -1},
		"*primitive.Message":    primitive.NewMessage("t", nil),
		"nil":                   nil,
		"(*MessageExt)(nil)":    (*primitive.MessageExt)(nil),
		"a map":                 mapProps{},
		"behind a nil pointer":  &embedded{},
		"behind a live pointer": &embedded{&primitive.MessageExt{BornTimestamp: 5}},
	} {
		if got, ok := mqttrmq.BornTime(m); ok || !got.IsZero() {
			t.Errorf("BornTime(%s) = %v, %v; want nothing", name, got, ok)
		}
	}
	// FromRocketMQ puts it in Born.
	ext.WithProperty(mqttrmq.PropMessageExpiry, "10")
	p, err := mqttrmq.FromRocketMQ("vehicles", ext, nil)
	if err != nil || !p.Born.Equal(time.UnixMilli(1767323045123)) {
		t.Fatalf("FromRocketMQ = %+v, %v; want Born from BornTimestamp", p, err)
	}
	if left, expired := p.ExpiryLeft(p.Born.Add(4 * time.Second)); left != mqttrmq.ExpiresAfter(6) || expired {
		t.Errorf("4 s after it was born, %v is left, expired %v; want 6s", left, expired)
	}
}

// TestMQTT5Setters: a backend sets each MQTT 5 message property in either
// dialect, in the dialect's place; every reader reads it back, in both;
// a setter rewrites the other dialect's place where the message has it;
// an empty value removes it from both; a refusal writes nothing.
func TestMQTT5Setters(t *testing.T) {
	type set func(d *mqttrmq.Dialect, m mqttrmq.Properties) error
	request := []set{
		func(d *mqttrmq.Dialect, m mqttrmq.Properties) error { return d.SetP2P(m, "GID_car@@@v1") },
		func(d *mqttrmq.Dialect, m mqttrmq.Properties) error {
			return d.SetMessageExpiry(m, mqttrmq.ExpiresAfter(60))
		},
		func(d *mqttrmq.Dialect, m mqttrmq.Properties) error { return d.SetPayloadUTF8(m, true) },
		func(d *mqttrmq.Dialect, m mqttrmq.Properties) error { return d.SetContentType(m, "text/plain") },
		func(d *mqttrmq.Dialect, m mqttrmq.Properties) error {
			return d.SetResponseTopic(m, "vehicles/replies/backend-1")
		},
		func(d *mqttrmq.Dialect, m mqttrmq.Properties) error {
			return d.SetCorrelationData(m, []byte{0xfb, 0xef, 0})
		},
	}
	for _, c := range []struct {
		d    *mqttrmq.Dialect
		want map[string]string
	}{
		{mqttrmq.AlibabaCloud, map[string]string{
			"mqttSecondTopic": "/p2p/GID_car@@@v1", "mqtt5MsgExpireInterval": "60", "mqtt5PayloadFormatIndicator": "1",
			"mqtt5ContentType": "text/plain", "mqtt5ResponseTopic": "vehicles/replies/backend-1", "mqtt5CorrelationData": "++8A",
		}},
		{mqttrmq.ApacheRocketMQMQTT, map[string]string{
			"INNER_MULTI_DISPATCH": "%LMQ%%p2p%GID_car@@@v1%",
			"extData": `{"mqtt5MsgExpireInterval":"60","mqtt5PayloadFormatIndicator":"1","mqtt5ContentType":"text/plain",` +
				`"mqtt5ResponseTopic":"vehicles/replies/backend-1","mqtt5CorrelationData":"++8A"}`,
		}},
	} {
		d := c.d
		m := primitive.NewMessage("vehicles", []byte("unlock ✓"))
		for i, s := range request {
			if err := s(d, m); err != nil {
				t.Fatalf("%v setter %d: %v", d, i, err)
			}
		}
		if diff := cmp.Diff(c.want, m.GetProperties()); diff != "" {
			t.Errorf("%v setters wrote (-want +got):\n%s", d, diff)
		}
		want := mqttrmq.Publish{Topic: "vehicles/p2p/GID_car@@@v1", QoS: 1, Payload: m.Body, MessageExpiry: mqttrmq.ExpiresAfter(60),
			PayloadUTF8: true, ContentType: "text/plain", ResponseTopic: "vehicles/replies/backend-1", CorrelationData: []byte{0xfb, 0xef, 0}}
		received := overTheWire(m)
		for _, reader := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
			got, err := reader.FromRocketMQ(m.Topic, received, m.Body)
			if diff := cmp.Diff(want, got); err != nil || diff != "" {
				t.Errorf("%v.FromRocketMQ of %v's request = %v (-want +got):\n%s", reader, d, err, diff)
			}
		}
		checkMQTT5Readers(t, received, want)

		// The other dialect rewrites what this one wrote, in its place,
		// and keeps one reading; an empty value removes from both.
		other := mqttrmq.ApacheRocketMQMQTT
		if d == other {
			other = mqttrmq.AlibabaCloud
		}
		if err := other.SetContentType(m, "application/json"); err != nil {
			t.Fatal(err)
		}
		if got, err := mqttrmq.FromRocketMQ(m.Topic, overTheWire(m), m.Body); err != nil || got.ContentType != "application/json" {
			t.Errorf("%v.SetContentType on %v's message: %q, %v", other, d, got.ContentType, err)
		}
		for _, s := range []func() error{
			func() error { return other.SetMessageExpiry(m, mqttrmq.Expiry{}) },
			func() error { return other.SetPayloadUTF8(m, false) },
			func() error { return other.SetContentType(m, "") },
			func() error { return other.SetResponseTopic(m, "") },
			func() error { return other.SetCorrelationData(m, nil) },
		} {
			if err := s(); err != nil {
				t.Fatal(err)
			}
		}
		for k := range m.GetProperties() {
			if strings.HasPrefix(k, "mqtt5") || k == mqttrmq.PropExtData {
				t.Errorf("%v removed everything %v set, yet %s=%q is left", other, d, k, m.GetProperty(k))
			}
		}
		if got, err := mqttrmq.FromRocketMQ(m.Topic, overTheWire(m), m.Body); err != nil || got.MessageExpiry.IsSet() || got.CorrelationData != nil {
			t.Errorf("after the removals: %+v, %v", got, err)
		}
	}
}

// TestMQTT5SettersRefuse: what a setter refuses, it refuses whole.
func TestMQTT5SettersRefuse(t *testing.T) {
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		for name, c := range map[string]struct {
			set  func(m mqttrmq.Properties) error
			want error
		}{
			"a wildcard in the response topic": {func(m mqttrmq.Properties) error { return d.SetResponseTopic(m, "vehicles/+/r") }, mqttrmq.ErrInvalidTopic},
			"an injection in the response topic": {func(m mqttrmq.Properties) error {
				return d.SetResponseTopic(m, "v/a\x02TAGS\x01x")
			}, mqttrmq.ErrInvalidTopic},
			"a control character in the content type": {func(m mqttrmq.Properties) error { return d.SetContentType(m, "text\x01") }, mqttrmq.ErrInvalidProperty},
			"invalid UTF-8 in the content type":       {func(m mqttrmq.Properties) error { return d.SetContentType(m, "\xff") }, mqttrmq.ErrInvalidProperty},
			"correlation data over 64 KB": {func(m mqttrmq.Properties) error {
				return d.SetCorrelationData(m, make([]byte, 65536))
			}, mqttrmq.ErrInvalidProperty},
			"past the property budget": {func(m mqttrmq.Properties) error {
				return d.SetCorrelationData(m, make([]byte, 30000)) // 40,000 bytes of Base64
			}, mqttrmq.ErrInvalidProperty},
		} {
			m := primitive.NewMessage("vehicles", nil)
			m.WithProperty(mqttrmq.PropExtData, `{"k":"v"}`)
			if err := c.set(m); !errors.Is(err, c.want) {
				t.Errorf("%v: %s = %v; want %v", d, name, err, c.want)
			}
			if got := m.GetProperties(); len(got) != 1 || got[mqttrmq.PropExtData] != `{"k":"v"}` {
				t.Errorf("%v: %s refused, yet wrote %q", d, name, got)
			}
		}
	}
	// The largest correlation data MQTT allows fits a message; a setter
	// takes what fits.
	m := primitive.NewMessage("vehicles", nil)
	if err := mqttrmq.SetCorrelationData(m, make([]byte, 20000)); err != nil {
		t.Errorf("SetCorrelationData of 20,000 bytes = %v", err)
	}
}

// TestMQTT5UplinkBudget: ToRocketMQ counts the MQTT 5 message properties
// in what RocketMQ carries.
func TestMQTT5UplinkBudget(t *testing.T) {
	for _, d := range []*mqttrmq.Dialect{mqttrmq.AlibabaCloud, mqttrmq.ApacheRocketMQMQTT} {
		p := mqttrmq.Publish{Topic: "vehicles/a", QoS: 1, ResponseTopic: "vehicles/" + strings.Repeat("r", 20000), CorrelationData: make([]byte, 10000)}
		m := primitive.NewMessage("", nil)
		if _, err := d.ToRocketMQ(p, m); !errors.Is(err, mqttrmq.ErrInvalidProperty) || len(m.GetProperties()) != 0 {
			t.Errorf("%v.ToRocketMQ of 33 KB of properties = %v, wrote %d; want a refusal, nothing written", d, err, len(m.GetProperties()))
		}
		p.CorrelationData = p.CorrelationData[:5000]
		if _, err := d.ToRocketMQ(p, m); err != nil {
			t.Errorf("%v.ToRocketMQ of 27 KB of properties = %v", d, err)
		}
		if n := len(m.MarshallProperties()); n > 32767-1024 {
			t.Errorf("%v.ToRocketMQ wrote %d bytes of properties", d, n)
		}
	}
}
