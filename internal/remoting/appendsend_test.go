package remoting

import (
	"bytes"
	"encoding/binary"
	"maps"
	"slices"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// uplinkLike is a message with the properties a device's message carries
// through the gateway, and some a JSON header must escape.
func uplinkLike(body string) *primitive.Message {
	m := primitive.NewMessage("vehicles", []byte(body))
	m.WithTag("MQTT_COMMON")
	m.WithProperty("qoslevel", "1")
	m.WithProperty("cleansessionflag", "true")
	m.WithProperty("mqttSecondTopic", "/telemetry/17/")
	m.WithProperty("mqttRealTopic", "vehicles/telemetry/17")
	m.WithProperty("clientId", "GID_car@@@17")
	m.WithProperty(primitive.PropertyUniqueClientMessageIdKeyIndex, "7F0000010001B4AAC6DC5A1B3C4D0000")
	m.WithProperty("note", "a \"quoted\" \\ line\nand ünïcode \x03")
	return m
}

// TestAppendSend: a send request carries the message's properties as
// RocketMQ's clients write them (MarshallProperties), and a batch's body
// is its messages as Marshal writes each, whatever order the properties
// come in.
func TestAppendSend(t *testing.T) {
	l := &Lane{p: NewProducer(ProducerConfig{Group: "GID_gw"})}
	q := brokerQueue{broker: "broker-a", addr: "127.0.0.1:10911", id: 3}
	one := uplinkLike("one")
	cmd, err := readCommand(bytes.NewReader(l.appendSend(nil, 9, q, []*primitive.Message{one})))
	if err != nil {
		t.Fatal(err)
	}
	got := primitive.NewMessage("", nil)
	got.UnmarshalProperties([]byte(cmd.ExtFields["i"]))
	if !maps.Equal(got.GetProperties(), one.GetProperties()) {
		t.Errorf("a send carries the properties %v; want %v", got.GetProperties(), one.GetProperties())
	}
	if cmd.Code != codeSendMessageV2 || cmd.ExtFields["b"] != "vehicles" || cmd.ExtFields["e"] != "3" || cmd.ExtFields["m"] != "false" || string(cmd.Body) != "one" {
		t.Errorf("a send decodes as %+v", cmd)
	}

	// Signed, the properties are signed with the other fields.
	creds := primitive.Credentials{AccessKey: "ak", SecretKey: "sk"}
	signed := &Lane{p: NewProducer(ProducerConfig{Group: "GID_gw", Credentials: creds})}
	cmd, err = readCommand(bytes.NewReader(signed.appendSend(nil, 9, q, []*primitive.Message{one})))
	if err != nil {
		t.Fatal(err)
	}
	got = primitive.NewMessage("", nil)
	got.UnmarshalProperties([]byte(cmd.ExtFields["i"]))
	if !maps.Equal(got.GetProperties(), one.GetProperties()) {
		t.Errorf("a signed send carries the properties %v; want %v", got.GetProperties(), one.GetProperties())
	}
	var unsigned []field
	for k, v := range cmd.ExtFields {
		if k != fieldSignature && k != fieldAccessKey {
			unsigned = append(unsigned, field{k, v})
		}
	}
	want := sign(unsigned, cmd.Body, creds)
	if i := slices.IndexFunc(want, func(f field) bool { return f.key == fieldSignature }); i < 0 || cmd.ExtFields[fieldSignature] != want[i].value {
		t.Errorf("a signed send's signature %q is not over its fields, properties among them", cmd.ExtFields[fieldSignature])
	}

	two := []*primitive.Message{uplinkLike("first"), uplinkLike("second")}
	cmd, err = readCommand(bytes.NewReader(l.appendSend(nil, 10, q, two)))
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Code != codeSendBatchMessage || cmd.ExtFields["m"] != "true" || cmd.ExtFields["i"] != "" {
		t.Errorf("a batch decodes as %+v", cmd)
	}
	body := cmd.Body
	for _, want := range two {
		wire := want.Marshal()
		if len(body) < 4 || int(binary.BigEndian.Uint32(body)) > len(body) {
			t.Fatalf("the batch's body ends early: %q", body)
		}
		n := int(binary.BigEndian.Uint32(body))
		m, rest := body[:n], body[n:]
		body = rest
		// Everything but the properties, whose order is the map's, is as Marshal writes it.
		if len(m) != len(wire) || !bytes.Equal(m[:len(m)-len(want.MarshallProperties())], wire[:len(wire)-len(want.MarshallProperties())]) {
			t.Errorf("a batched message is %q; want %q", m, wire)
			continue
		}
		got := primitive.NewMessage("", nil)
		got.UnmarshalProperties(m[len(m)-len(want.MarshallProperties()):])
		if !maps.Equal(got.GetProperties(), want.GetProperties()) {
			t.Errorf("a batched message carries %v; want %v", got.GetProperties(), want.GetProperties())
		}
	}
	if len(body) != 0 {
		t.Errorf("the batch's body has %d bytes past its messages", len(body))
	}
}

// BenchmarkAppendSend: framing one device's message, and a batch of
// eight, as the sender's lanes do for every send.
func BenchmarkAppendSend(b *testing.B) {
	l := &Lane{p: NewProducer(ProducerConfig{Group: "GID_gw"})}
	q := brokerQueue{broker: "broker-a", addr: "127.0.0.1:10911", id: 3}
	one := []*primitive.Message{uplinkLike("one")}
	var eight []*primitive.Message
	for range 8 {
		eight = append(eight, uplinkLike("one of eight"))
	}
	var buf []byte
	b.Run("msgs=1", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			buf = l.appendSend(buf[:0], 1, q, one)
		}
	})
	b.Run("msgs=8", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			buf = l.appendSend(buf[:0], 1, q, eight)
		}
	})
}

// TestBornAt: the born timestamp is formatted once a millisecond, and
// each new millisecond anew.
func TestBornAt(t *testing.T) {
	var l Lane
	for _, c := range []struct {
		ms   int64
		want string
	}{{0, "0"}, {1764000000123, "1764000000123"}, {1764000000123, "1764000000123"}, {1764000000124, "1764000000124"}, {1764000000123, "1764000000123"}} {
		if got := l.bornAt(c.ms); got != c.want {
			t.Errorf("bornAt(%d) = %q; want %q", c.ms, got, c.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { l.bornAt(1764000000123) }); n != 0 {
		t.Errorf("bornAt of the millisecond before allocates %.0f times; want 0", n)
	}
}
